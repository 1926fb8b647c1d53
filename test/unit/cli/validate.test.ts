import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { runValidate } from "../../../src/cli/commands/validate";
import { buildProgram, runCli } from "../../../src/cli/main";

const repoRoot = path.resolve(__dirname, "../../..");
const fixtures = path.join(repoRoot, "test/fixtures/spec");

async function capture(paths: string[], opts: { set?: Record<string, string>; pathCheck?: boolean; json?: boolean } = {}): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runValidate(paths, { set: opts.set ?? {}, pathCheck: opts.pathCheck ?? true, json: opts.json ?? false }, (l) => lines.push(l));
  return { code, lines };
}

describe("modelplane validate", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mp-cli-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("registers validate on the program", () => {
    assert.ok(buildProgram().commands.some((c) => c.name() === "validate"));
  });
  it("exits 0 for stacks/dev (with scoring scripts present)", async () => {
    // Copy the stack and examples so placeholder score.py files stay out of the repo.
    cpSync(path.join(repoRoot, "examples"), path.join(tmp, "examples"), { recursive: true });
    cpSync(path.join(repoRoot, "stacks/dev"), path.join(tmp, "stacks/dev"), { recursive: true });
    for (const m of ["model-1", "model-2"]) {
      const dir = path.join(tmp, "examples", m, "onlinescoring");
      mkdirSync(dir, { recursive: true });
      if (!existsSync(path.join(dir, "score.py"))) writeFileSync(path.join(dir, "score.py"), "");
    }
    const { code, lines } = await capture([path.join(tmp, "stacks/dev")]);
    assert.equal(code, 0, lines.join("\n"));
  });
  it("exits 1 with compiler-style lines for an invalid set", async () => {
    const { code, lines } = await capture([path.join(fixtures, "traffic-sum")], { pathCheck: false });
    assert.equal(code, 1);
    assert.deepEqual(lines.filter((l) => l.includes(": error: ")).length, 1);
    assert.match(lines.find((l) => l.includes(": error: ")) ?? "", /traffic-sum\/endpoint\.yml:5:3: error: traffic of endpoint "my-endpoint" sums to 110, not 100 \(traffic\) - /);
  });
  it("--json prints one object per file", async () => {
    const { code, lines } = await capture([path.join(fixtures, "traffic-sum")], { pathCheck: false, json: true });
    assert.equal(code, 1);
    const rows = lines.map((l) => JSON.parse(l) as { file: string; kind: string; name: string; errors: unknown[]; warnings: unknown[] });
    assert.deepEqual(rows.map((r) => [path.basename(r.file), r.kind, r.name, r.errors.length]), [
      ["blue.yml", "online-deployment", "blue", 0],
      ["endpoint.yml", "online-endpoint", "my-endpoint", 1],
      ["green.yml", "online-deployment", "green", 0],
    ]);
  });
  it("--set fills placeholders and --no-path-check skips path checks", async () => {
    const file = path.join(fixtures, "files/placeholders.yml");
    assert.equal(await runCli(["validate", file, "--no-path-check", "--set", "ENDPOINT_NAME=ep-one", "--set", "ACR_NAME=acr"]), 0);
    assert.equal(await runCli(["validate", file, "--no-path-check"]), 1);
  });
  it("exits 2 on usage errors", async () => {
    const orig = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      assert.equal(await runCli(["validate"]), 2);
      assert.equal(await runCli(["validate", "x.yml", "--bogus"]), 2);
      assert.equal(await runCli(["validate", "x.yml", "--set", "NOEQUALS"]), 2);
    } finally {
      process.stderr.write = orig;
    }
  });
});
