import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { CommandIo } from "../../../src/cli/commands/access";
import type { PulumiRunner } from "../../../src/cli/commands/pulumi-run";
import { runTraffic } from "../../../src/cli/commands/traffic";
import { parseSplit, rewriteSplit } from "../../../src/cli/commands/traffic-edit";

const fixtures = path.resolve(__dirname, "../../fixtures/cli/traffic");
const original = readFileSync(path.join(fixtures, "endpoint.yml"), "utf8");
const golden = readFileSync(path.join(fixtures, "endpoint.golden.yml"), "utf8");

function capture(): CommandIo & { lines: string[]; errors: string[]; written: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const written: string[] = [];
  return { lines, errors, written, out: (l) => lines.push(l), err: (l) => errors.push(l), write: (t) => written.push(t), env: {} };
}

function deployment(name: string): string {
  return `name: ${name}\nendpoint_name: my-endpoint\nmodel: {path: ../model}\ncode_configuration: {code: ../code, scoring_script: score.py}\ninstance_count: 1\n`;
}

describe("traffic: the YAML rewrite", () => {
  it("keeps a commented YAML byte-identical apart from the changed values (golden file)", () => {
    const r = rewriteSplit(original, { blue: 90, green: 0, red: 10 }, { green: 20 });
    assert.equal(r.text, golden);
    assert.deepEqual(r.before, { traffic: { blue: 100, green: 0, red: 0 }, mirror: { green: 10 } });
    assert.deepEqual(r.after, { traffic: { blue: 90, green: 0, red: 10 }, mirror: { green: 20 } });
  });
  it("deployments left out get 0; a new one gets its own line in the map's indentation; an ended mirror loses its line", () => {
    const r = rewriteSplit(original, { blue: 80, yellow: 20 }, {});
    const expected = original
      .replace("    blue: 100   # all of it, for now", "    blue: 80   # all of it, for now")
      .replace("    red: 0 # a third one\n", "    red: 0 # a third one\n    yellow: 20\n")
      .replace("mirror_traffic: {green: 10}   # shadow a tenth\n\n", "");
    assert.equal(r.text, expected);
  });
  it("adds a traffic map to an endpoint without one, and keeps a missing final newline missing", () => {
    assert.equal(rewriteSplit("name: e\nauth_mode: key\n", { blue: 100 }).text, "name: e\nauth_mode: key\ntraffic:\n  blue: 100\n");
    assert.equal(rewriteSplit("name: e\ntraffic:\n  blue: 100", { blue: 60, green: 40 }).text, "name: e\ntraffic:\n  blue: 60\n  green: 40");
  });
  it("writes a flow map out again only when its entries change", () => {
    assert.equal(rewriteSplit("traffic: {blue: 100,   green: 0} # x\n", { blue: 0, green: 100 }).text, "traffic: {blue: 0,   green: 100} # x\n");
    assert.equal(rewriteSplit("traffic: {blue: 100} # x\n", { blue: 50, green: 50 }).text, "traffic: {blue: 50, green: 50} # x\n");
  });
  it("parses blue=90 green=10 and Azure's one-argument form; refuses anything else", () => {
    assert.deepEqual(parseSplit(["blue=90", "green=10"], "traffic"), { blue: 90, green: 10 });
    assert.deepEqual(parseSplit(["blue=90 green=10"], "traffic"), { blue: 90, green: 10 });
    assert.throws(() => parseSplit(["blue:90"], "traffic"), /traffic "blue:90" is not <deployment>=<percent>: write e\.g\. blue=90 green=10/);
    assert.throws(() => parseSplit(["blue=9.5"], "traffic"), /is not <deployment>=<percent>/);
    assert.throws(() => parseSplit(["blue=50", "blue=50"], "traffic"), /names deployment "blue" twice/);
  });
});

describe("modelplane traffic", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "mp-traffic-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const specs = path.join(root, "specs", "t1");
  const endpointFile = path.join(specs, "endpoint.yml");
  writeFileSync(path.join(root, "Pulumi.yaml"), "name: modelplane\nruntime: nodejs\nstackConfigDir: stacks\n");
  mkdirSync(path.join(root, "stacks"));
  writeFileSync(path.join(root, "stacks", "Pulumi.t1.yaml"), "config:\n  modelplane:specDir: specs/t1\n");
  mkdirSync(specs, { recursive: true });
  mkdirSync(path.join(root, "specs", "model"));
  mkdirSync(path.join(root, "specs", "code"));
  writeFileSync(path.join(root, "specs", "code", "score.py"), "");
  cpSync(path.join(fixtures, "endpoint.yml"), endpointFile);
  writeFileSync(path.join(specs, "blue.yml"), deployment("blue"));
  writeFileSync(path.join(specs, "green.yml"), deployment("green"));
  writeFileSync(path.join(specs, "red.yml"), deployment("red"));

  const calls: string[][] = [];
  const pulumi: PulumiRunner = async (args, opts) => {
    calls.push(args);
    opts?.onOutput?.("Previewing update (t1):\n  ~ modelplane:Traffic my-endpoint-traffic update [diff: ~traffic]\n");
    return { exitCode: 0, stdout: "", stderr: "" };
  };

  it("rewrites the endpoint in the stack's spec folder, then shows the stack's preview", async () => {
    const io = capture();
    const code = await runTraffic("my-endpoint", ["blue=90", "red=10"], { stack: "t1", mirror: ["green=20"] }, io, { root, pulumi });
    assert.equal(code, 0, io.errors.join("\n"));
    assert.equal(readFileSync(endpointFile, "utf8"), golden);
    assert.match(io.lines[0] ?? "", /endpoint\.yml: traffic blue=90 green=0 red=10, mirror_traffic green=20 \(was traffic blue=100 green=0 red=0, mirror_traffic green=10\)$/);
    assert.deepEqual(calls, [["preview", "--diff", "--stack", "t1"]]);
    assert.match(io.written.join(""), /~ modelplane:Traffic my-endpoint-traffic update/);
    assert.equal(io.lines.at(-1), "apply it with `pulumi up --stack t1`");
  });
  it("refuses an invalid split with the spec validator's message and leaves the file untouched", async () => {
    const before = readFileSync(endpointFile, "utf8");
    const io = capture();
    calls.length = 0;
    const code = await runTraffic("my-endpoint", ["blue=90", "green=20", "red=0"], { stack: "t1" }, io, { root, pulumi });
    assert.equal(code, 1);
    assert.equal(readFileSync(endpointFile, "utf8"), before);
    assert.deepEqual(calls, []);
    // green is mirrored (20 %) and now has live traffic too; the sum is 110.
    assert.deepEqual(
      io.errors.slice(0, -1).map((l) => l.replace(`${specs}/`, "")),
      [
        'endpoint.yml:11:5: error: traffic of endpoint "my-endpoint" sums to 110, not 100 (traffic) - make the percentages add up to 100, or set them all to 0',
        'endpoint.yml:16:25: error: deployment "green" is mirrored but also has 20% live traffic (mirror_traffic.green) - set traffic.green to 0, or mirror a deployment without live traffic',
      ],
    );
    assert.match(io.errors.at(-1) ?? "", /^modelplane: traffic blue=90 green=20 red=0 is not valid for stack "t1" \(above\); .*endpoint\.yml was left as it was$/);
  });
  it("refuses a deployment the endpoint does not have", async () => {
    const io = capture();
    assert.equal(await runTraffic("my-endpoint", ["blue=90", "yellow=10"], { stack: "t1", preview: false }, io, { root, pulumi }), 1);
    assert.ok(io.errors.some((l) => l.includes('traffic names deployment "yellow", which endpoint "my-endpoint" does not have')), io.errors.join("\n"));
  });
  it("names the endpoints there when the endpoint is not in the stack", async () => {
    const io = capture();
    assert.equal(await runTraffic("other", ["blue=100"], { stack: "t1" }, io, { root, pulumi }), 1);
    assert.match(io.errors[0] ?? "", /no online endpoint "other" in .*specs\/t1 \(endpoints there: my-endpoint\): check the endpoint name and --stack t1/);
  });
  it("--mirror none ends the mirror; --no-preview runs no pulumi", async () => {
    const io = capture();
    calls.length = 0;
    assert.equal(await runTraffic("my-endpoint", ["blue=70", "green=30"], { stack: "t1", mirror: ["none"], preview: false }, io, { root, pulumi }), 0, io.errors.join("\n"));
    assert.deepEqual(calls, []);
    const text = readFileSync(endpointFile, "utf8");
    assert.ok(!text.includes("mirror_traffic"));
    assert.match(text, /^ {4}blue: 70 {3}# all of it, for now$/m);
    assert.equal(io.lines.at(-1), "apply it with `pulumi up --stack t1` (see it first with `pulumi preview --diff --stack t1`)");
  });
});
