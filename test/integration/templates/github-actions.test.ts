/**
 * The workflow templates pass actionlint (rhysd/actionlint, with shellcheck on the run: scripts
 * when it is installed). actionlint is taken from PATH or GOPATH/bin, else built from the Go
 * module proxy; if neither works the test fails saying so (it never skips).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import execa from "execa";

const ROOT = path.resolve(__dirname, "../../..");
const DIR = path.join(ROOT, "templates/github-actions");
const VERSION = "v1.7.7";

async function actionlint(): Promise<string> {
  const onPath = await execa("sh", ["-c", "command -v actionlint"], { reject: false });
  if (onPath.exitCode === 0) return onPath.stdout.trim();
  const gopath = (await execa("go", ["env", "GOPATH"])).stdout.trim();
  const bin = path.join(gopath, "bin", "actionlint");
  if (existsSync(bin)) return bin;
  const r = await execa("go", ["install", `github.com/rhysd/actionlint/cmd/actionlint@${VERSION}`], { reject: false, all: true, timeout: 900_000 });
  assert.equal(r.exitCode, 0, `actionlint is not installed and could not be built (go install github.com/rhysd/actionlint/cmd/actionlint@${VERSION}):\n${r.all}`);
  return bin;
}

test("every workflow template passes actionlint", { timeout: 1_000_000 }, async (t) => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".yml")).map((f) => path.join(DIR, f));
  assert.ok(files.length >= 3, `workflows in ${DIR}: ${files.join(", ")}`);
  const bin = await actionlint();
  const shellcheck = (await execa("sh", ["-c", "command -v shellcheck"], { reject: false })).exitCode === 0;
  t.diagnostic(`${bin} on ${files.length} files, shellcheck ${shellcheck ? "on" : "not installed"}`);
  const r = await execa(bin, ["-no-color", ...files], { reject: false, all: true });
  assert.equal(r.exitCode, 0, r.all);
});

test("actionlint does find a broken workflow (the check can fail)", { timeout: 1_000_000 }, async () => {
  const bin = await actionlint();
  const r = await execa(bin, ["-no-color", "-"], { input: "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.x }}\n      - uses: actions/checkout\n", reject: false, all: true });
  assert.notEqual(r.exitCode, 0);
  assert.match(r.all ?? "", /checkout/);
});
