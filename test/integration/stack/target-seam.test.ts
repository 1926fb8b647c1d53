// State is forever, across the target seam: a stack deployed by the commit before the engine code
// moved behind src/targets (44dea94), then the checkout upgraded in place to this code, previews and
// `up`s with no change at all: every resource keeps its type, name, parent and provider module, so
// nothing is created, updated, replaced or deleted. The stack is the dev stack's specs, online and
// batch (network, state and datastore volumes, server, instances, batch images and registrations).
// The server's own sources (what its image is fingerprinted over) are this tree's on both sides, so
// the comparison is of the move alone. Real Pulumi engine, real Docker.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { removeByLabel } from "../harness/docker";
import { SERVER_SOURCES } from "../../../src/targets/server-image";

const BEFORE_SEAM = "44dea94";
const STACK = "it-seam";
const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";
// What the server image is built from (SERVER_SOURCES) is taken from this tree for both ups.
// What the upgrade brings into the old checkout (the working tree, uncommitted changes included).
const UPGRADE_PARTS = ["index.ts", "Pulumi.yaml", "package.json", "package-lock.json", "components", "src", "templates", "tools", "examples"];
let work: string;
let oldDir: string;
let stack: TestStack | undefined;

async function overlay(parts: string[]): Promise<void> {
  for (const p of parts) {
    await rm(path.join(oldDir, p), { recursive: true, force: true });
    await cp(path.join(REPO_ROOT, p), path.join(oldDir, p), { recursive: true });
  }
}

function changedSteps(previewJson: string): string[] {
  const steps = (JSON.parse(previewJson) as { steps: { op: string; urn: string; diffReasons?: string[] }[] }).steps;
  return steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn} ${JSON.stringify(s.diffReasons ?? [])}`);
}

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), "mp-seam-"));
  oldDir = path.join(work, "old");
  await execa("git", ["worktree", "add", "--detach", oldDir, BEFORE_SEAM], { cwd: REPO_ROOT });
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(oldDir, "node_modules"));
  await overlay(SERVER_SOURCES);
  // And the list itself: the old program fingerprints the server image over this tree's list too.
  const oldControlPlane = path.join(oldDir, "components/control-plane.ts");
  const text = await readFile(oldControlPlane, "utf8");
  const patched = text.replace(/const SERVER_SOURCES = \[[^\]]*\];/, `const SERVER_SOURCES = ${JSON.stringify(SERVER_SOURCES)};`);
  assert.notEqual(patched, text, `${oldControlPlane} has no SERVER_SOURCES list to align`);
  await writeFile(oldControlPlane, patched);
  stack = await TestStack.create(oldDir, STACK, { "modelplane:baseImage": BASE_IMAGE, "modelplane:specDir": path.join(oldDir, "stacks/dev") }, oldDir);
});

after(async () => {
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
  await execa("git", ["worktree", "remove", "--force", oldDir], { cwd: REPO_ROOT, reject: false });
  await rm(work, { recursive: true, force: true });
});

test("a stack deployed before the target seam previews and ups with no change after the move", async (t) => {
  await stack!.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
  const before = await stack!.pulumi(["stack", "export"]);
  const urnsBefore = (JSON.parse(String(before.stdout)) as { deployment: { resources: { urn: string }[] } }).deployment.resources.map((r) => r.urn).sort();
  assert.ok(urnsBefore.some((u) => u.includes("DockerContainer::control-plane-server")) && urnsBefore.some((u) => u.includes("BatchDeployment")), urnsBefore.join("\n"));

  await overlay(UPGRADE_PARTS);
  const preview = await stack!.pulumi(["preview", "--json"]);
  assert.deepEqual(changedSteps(String(preview.stdout)), [], "the preview after the move shows no change");
  const up = await stack!.pulumi(["up", "--yes", "--skip-preview"]);
  const summary = String(up.stdout).split("\n").filter((l) => /unchanged|created|updated|replaced|deleted/.test(l));
  t.diagnostic(summary.join(" | "));
  assert.ok(summary.some((l) => /\d+ unchanged/.test(l)), String(up.stdout));
  assert.ok(!summary.some((l) => /created|updated|replaced|deleted/.test(l)), summary.join("\n"));
  const after = await stack!.pulumi(["stack", "export"]);
  const urnsAfter = (JSON.parse(String(after.stdout)) as { deployment: { resources: { urn: string }[] } }).deployment.resources.map((r) => r.urn).sort();
  assert.deepEqual(urnsAfter, urnsBefore, "the same resources, by URN");
});
