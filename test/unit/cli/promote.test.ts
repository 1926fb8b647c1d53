// `modelplane promote` on temp spec folders: what is carried and what stays, a new deployment at
// 0 %, --traffic, the two gates (live state, verification) refusing with the reason, comments
// kept, idempotence, and a target that would not validate put back as it was.
import { beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CommandIo } from "../../../src/cli/commands/access";
import { runPromote, type PromoteDeps } from "../../../src/cli/commands/promote";
import type { CheckResult } from "../../../src/verify";

let root: string;
const stage = (f: string) => path.join(root, "stacks/stage", f);
const dev = (f: string) => path.join(root, "stacks/dev", f);

function deployment(o: { name: string; model: string; code: string; count: number; type?: string; env?: string; timeout?: number; comment?: string }): string {
  return [
    ...(o.comment ? [o.comment] : []),
    `name: ${o.name}`,
    "endpoint_name: my-endpoint",
    `model:\n  path: ${o.model}`,
    `code_configuration:\n  code: ${o.code}\n  scoring_script: score.py`,
    "environment:\n  conda_file: ../../env/conda.yaml",
    ...(o.env ? [`environment_variables:\n${o.env}`] : []),
    `instance_type: ${o.type ?? "Standard_DS3_v2"}`,
    `instance_count: ${o.count}`,
    ...(o.timeout ? [`request_settings:\n  request_timeout_ms: ${o.timeout}`] : []),
    "",
  ].join("\n");
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "mp-promote-"));
  for (const d of ["model-1", "model-2", "code-1", "code-2", "env", "stacks/dev", "stacks/stage"]) mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(path.join(root, "env/conda.yaml"), "name: x\ndependencies:\n  - python=3.11\n  - pip:\n    - azureml-inference-server-http\n");
  for (const c of ["code-1", "code-2"]) writeFileSync(path.join(root, c, "score.py"), "def init():\n    pass\n\ndef run(raw):\n    return []\n");
  for (const m of ["model-1", "model-2"]) writeFileSync(path.join(root, m, "model.pkl"), m);
  writeFileSync(dev("endpoint.yml"), "name: my-endpoint\nauth_mode: key\ntraffic:\n  blue: 90\n  green: 10\n");
  writeFileSync(dev("blue.yml"), deployment({ name: "blue", model: "../../model-2/", code: "../../code-2/", count: 1, env: "  MODE: fast\n  DB_PASSWORD: devpass", timeout: 9000 }));
  writeFileSync(dev("green.yml"), deployment({ name: "green", model: "../../model-2/", code: "../../code-2/", count: 1 }));
  writeFileSync(stage("endpoint.yml"), "name: my-endpoint\nauth_mode: key\n# stage keeps its own split\ntraffic:\n  blue: 100\n");
  writeFileSync(stage("blue.yml"), deployment({ name: "blue", model: "../../model-1/", code: "../../code-1/", count: 3, type: "Standard_F4s_v2", env: "  MODE: slow\n  DB_PASSWORD: \"{{STAGE_DB_PASSWORD}}\"", timeout: 2000, comment: "# stage's blue: three instances" }));
  writeFileSync(path.join(root, "Pulumi.yaml"), "name: t\nruntime: nodejs\nstackConfigDir: stacks\n");
  writeFileSync(path.join(root, "stacks/Pulumi.stage.yaml"), "config:\n  modelplane:placeholders:\n    STAGE_DB_PASSWORD: x\n");
});

function io(): CommandIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { out: (l) => lines.push(l), write: (t) => lines.push(t), err: (l) => errors.push(l), env: {}, lines, errors };
}

const passed = (): CheckResult[] => [{ check: { name: "s", endpoint: "my-endpoint", body: "{}", expect: 1, tolerance: 0, status: 200, where: "v.yml:1:1" }, ok: true, ms: 1 }];

function deps(over: Partial<PromoteDeps> = {}): Partial<PromoteDeps> {
  return {
    root,
    liveState: async () => "Succeeded",
    verify: async () => passed(),
    pulumi: async () => ({ exitCode: 0, stdout: JSON.stringify({ steps: [], changeSummary: { update: 1 } }), stderr: "" }),
    ...over,
  };
}

test("carries model, code and environment variables; keeps the target's instances, request settings, secret placeholders, comments and traffic", async () => {
  const c = io();
  assert.equal(await runPromote({ from: "dev", to: "stage", deployment: ["blue"] }, c, deps()), 0, c.errors.join("\n"));
  const blue = readFileSync(stage("blue.yml"), "utf8");
  assert.match(blue, /^# stage's blue: three instances\n/);
  assert.match(blue, /model:\n {2}path: \.\.\/\.\.\/model-2\//);
  assert.match(blue, /code: \.\.\/\.\.\/code-2\//);
  assert.match(blue, /MODE: fast/);
  assert.match(blue, /DB_PASSWORD: "\{\{STAGE_DB_PASSWORD\}\}"/, "the target's secret placeholder stays");
  assert.doesNotMatch(blue, /devpass/);
  assert.match(blue, /instance_count: 3/);
  assert.match(blue, /instance_type: Standard_F4s_v2/);
  assert.match(blue, /request_timeout_ms: 2000/);
  assert.equal(readFileSync(stage("endpoint.yml"), "utf8"), "name: my-endpoint\nauth_mode: key\n# stage keeps its own split\ntraffic:\n  blue: 100\n");
  assert.match(c.lines.join("\n"), /my-endpoint\/blue: model .* -> .*model-2.*, code_configuration, environment_variables from the source; kept instance_count, instance_type, request_settings/);
});

test("a deployment new to the target arrives at 0 % with its sibling's instances; promoting again changes nothing", async () => {
  const c = io();
  assert.equal(await runPromote({ from: "dev", to: "stage" }, c, deps()), 0, c.errors.join("\n"));
  const green = readFileSync(stage("green.yml"), "utf8");
  assert.match(green, /name: green/);
  assert.match(green, /instance_count: 3/);
  assert.match(green, /instance_type: Standard_F4s_v2/);
  assert.match(readFileSync(stage("endpoint.yml"), "utf8"), /traffic:\n {2}blue: 100\n {2}green: 0\n/);
  const snapshot = ["blue.yml", "green.yml", "endpoint.yml"].map((f) => readFileSync(stage(f), "utf8"));
  const again = io();
  let gated = 0;
  assert.equal(await runPromote({ from: "dev", to: "stage" }, again, deps({ liveState: async () => (gated++, "Succeeded") })), 0);
  assert.match(again.lines[0]!, /^nothing to promote: stack stage already runs what dev runs/);
  assert.deepEqual(["blue.yml", "green.yml", "endpoint.yml"].map((f) => readFileSync(stage(f), "utf8")), snapshot);
  assert.equal(gated, 0, "nothing to promote: no gate runs");
});

test("--traffic sets the target's split", async () => {
  assert.equal(await runPromote({ from: "dev", to: "stage", traffic: ["blue=80", "green=20"] }, io(), deps()), 0);
  assert.match(readFileSync(stage("endpoint.yml"), "utf8"), /traffic:\n {2}blue: 80\n {2}green: 20\n/);
});

test("refuses a source deployment that is not Succeeded, or not deployed, and writes nothing", async () => {
  const before = readFileSync(stage("blue.yml"), "utf8");
  const c = io();
  assert.equal(await runPromote({ from: "dev", to: "stage", deployment: ["blue"] }, c, deps({ liveState: async () => "Failed" })), 1);
  assert.match(c.errors[0]!, /deployment my-endpoint\/blue is Failed in stack "dev", not Succeeded: fix it \(`modelplane logs my-endpoint --deployment blue --stack dev`\)/);
  const d = io();
  assert.equal(await runPromote({ from: "dev", to: "stage", deployment: ["blue"] }, d, deps({ liveState: async () => undefined })), 1);
  assert.match(d.errors[0]!, /is not deployed in stack "dev": run `pulumi up --stack dev`/);
  assert.equal(readFileSync(stage("blue.yml"), "utf8"), before);
});

test("refuses when the source's verification fails, naming the request", async () => {
  const c = io();
  const failed: CheckResult[] = [{ ...passed()[0]!, ok: false, reason: "the answer differs at $[0]: got 2, expected 1" }];
  assert.equal(await runPromote({ from: "dev", to: "stage" }, c, deps({ verify: async () => failed })), 1);
  assert.match(c.errors[0]!, /verification of stack "dev" failed: my-endpoint "s" \(v\.yml:1:1\): the answer differs .*; fix the deployment \(or its verify request\) in stack "dev" first; nothing was written/);
  assert.equal(existsSync(stage("green.yml")), false);
});

test("a promotion the target cannot validate is put back; unknown deployments and endpoints are explained", async () => {
  // dev's registry has version 2 of the model, stage's only version 1.
  writeFileSync(dev("registry.yml"), "models:\n  - name: regression\n    version: 1\n    path: ../../model-1\n  - name: regression\n    version: 2\n    path: ../../model-2\n");
  writeFileSync(stage("registry.yml"), "models:\n  - name: regression\n    version: 1\n    path: ../../model-1\n");
  writeFileSync(dev("blue.yml"), deployment({ name: "blue", model: "../../model-2/", code: "../../code-2/", count: 1 }).replace("model:\n  path: ../../model-2/", "model: azureml:regression:2"));
  const c = io();
  const before = readFileSync(stage("blue.yml"), "utf8");
  assert.equal(await runPromote({ from: "dev", to: "stage", deployment: ["blue"] }, c, deps()), 1);
  assert.match(c.errors.join("\n"), /stage\/blue\.yml:\d+:\d+: error: .*regression/);
  assert.match(c.errors.at(-1)!, /the promoted specs do not validate in stack "stage" \(above\); its files were put back/);
  assert.equal(readFileSync(stage("blue.yml"), "utf8"), before);
  const d = io();
  assert.equal(await runPromote({ from: "dev", to: "stage", deployment: ["red"] }, d, deps()), 1);
  assert.match(d.errors[0]!, /the source stack has no online deployment "red" \(it has: blue, green\): check --deployment/);
  cpSync(stage("endpoint.yml"), path.join(root, "ep.bak"));
  writeFileSync(stage("endpoint.yml"), "name: other-endpoint\nauth_mode: key\ntraffic: {}\n");
  const e = io();
  assert.equal(await runPromote({ from: "dev", to: "stage", deployment: ["green"] }, e, deps()), 1);
  assert.match(e.errors.join("\n"), /the target stack has no online endpoint "my-endpoint" \(needed by deployment "green"\)/);
});
