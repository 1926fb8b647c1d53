// State is forever: a stack deployed by the commit before stack identities (3a196e5), then
// `up` with this code, keeps every object: the identity it records is "" (its old names), and no
// container, volume or network is replaced. Real Pulumi engine, real Docker.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { freePort, removeByLabel } from "../harness/docker";

const BEFORE_IDENTITIES = "3a196e5";
const STACK = "it-legacy";
const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";
let work: string;
let oldDir: string;
let oldStack: TestStack | undefined;
let newStack: TestStack | undefined;

async function objectIds(): Promise<string[]> {
  const f = `label=modelplane.stack=${STACK}`;
  const c = (await execa("docker", ["ps", "-a", "--filter", f, "--format", "{{.ID}} {{.Names}}"])).stdout.split("\n").filter(Boolean);
  const v = (await execa("docker", ["volume", "ls", "-q", "--filter", f])).stdout.split("\n").filter(Boolean);
  const n = (await execa("docker", ["network", "ls", "--filter", f, "--format", "{{.ID}} {{.Name}}"])).stdout.split("\n").filter(Boolean);
  return [...c, ...v, ...n].sort();
}

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), "mp-legacy-"));
  oldDir = path.join(work, "old");
  await execa("git", ["worktree", "add", "--detach", oldDir, BEFORE_IDENTITIES], { cwd: REPO_ROOT });
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(oldDir, "node_modules"));
  const specs = path.join(work, "specs");
  await mkdir(specs);
  for (const f of ["endpoint.yml", "blue-deployment.yml", "green-deployment.yml"]) await cp(path.join(oldDir, "stacks/dev", f), path.join(specs, f));
  // The old specs name their code and model relative to stacks/dev: keep those paths valid.
  await execa("bash", ["-c", `sed -i "s#\\.\\./\\.\\./examples#${path.join(oldDir, "examples")}#g" ${specs}/*.yml`]);
  oldStack = await TestStack.create(oldDir, STACK, {
    "modelplane:gatewayPort": String(await freePort()),
    "modelplane:managementPort": String(await freePort()),
    "modelplane:baseImage": BASE_IMAGE,
    "modelplane:specDir": specs,
  }, oldDir);
});

after(async () => {
  await (newStack ?? oldStack)?.cleanup();
  if (newStack) await oldStack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
  await execa("git", ["worktree", "remove", "--force", oldDir], { cwd: REPO_ROOT, reject: false });
  await rm(work, { recursive: true, force: true });
});

test("an up with stack identities over a stack deployed before them replaces nothing and keeps its names", async (t) => {
  await oldStack!.pulumi(["up", "--yes", "--skip-preview"]);
  const before = await objectIds();
  assert.ok(before.length >= 5, before.join("\n"));
  newStack = await oldStack!.at(REPO_ROOT);
  const r = await newStack.pulumi(["up", "--yes", "--skip-preview"]);
  t.diagnostic(String(r.stdout).split("\n").filter((l) => /created|unchanged|replaced|updated|deleted/.test(l)).join(" | "));
  assert.match(String(r.stdout), /\+ 1 created/, "only the identity is new");
  assert.doesNotMatch(String(r.stdout), /replaced|deleted|updated/);
  assert.deepEqual(await objectIds(), before, "the same containers (ids), volume and network");
  assert.equal((await newStack.outputs()).stackId, "", "the identity of a pre-identity stack is \"\" (its old names)");
  const preview = await newStack.pulumi(["preview", "--json"]);
  const steps = (JSON.parse(String(preview.stdout)) as { steps: { op: string; urn: string }[] }).steps.filter((s) => s.op !== "same");
  assert.deepEqual(steps.map((s) => `${s.op} ${s.urn}`), []);
});
