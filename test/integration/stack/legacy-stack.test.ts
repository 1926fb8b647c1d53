// State is forever: a stack deployed by the commit before stack identities (3a196e5), then the
// checkout upgraded in place to this code and `up` again, keeps its names: the identity it records
// is "" (its old names), its volume and network stay, and a container is replaced only where its
// image's content changed (the server's code did), never for a name or label. Real Pulumi engine, real Docker.
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
// What the upgrade brings into the old checkout (the working tree, uncommitted changes included).
const UPGRADE_PARTS = ["index.ts", "Pulumi.yaml", "package.json", "package-lock.json", "components", "src", "templates", "tools", "examples"];

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
  await oldStack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
  await execa("git", ["worktree", "remove", "--force", oldDir], { cwd: REPO_ROOT, reject: false });
  await rm(work, { recursive: true, force: true });
});

test("an upgraded checkout's up over a stack deployed before identities keeps its names; only changed images replace", async (t) => {
  await oldStack!.pulumi(["up", "--yes", "--skip-preview"]);
  const before = await objectIds();
  const volumeAndNetwork = (ids: string[]) => ids.filter((x) => !/^[0-9a-f]{12} modelplane-it-legacy-(server|my-endpoint)-/.test(x));
  assert.ok(before.length >= 5, before.join("\n"));
  // `git pull`: the same folder, the new code.
  for (const p of UPGRADE_PARTS) {
    await rm(path.join(oldDir, p), { recursive: true, force: true });
    await cp(path.join(REPO_ROOT, p), path.join(oldDir, p), { recursive: true });
  }
  const r = await oldStack!.pulumi(["up", "--yes", "--skip-preview"]);
  const out = String(r.stdout);
  t.diagnostic(out.split("\n").filter((l) => /\[diff: /.test(l) || /created|replaced|updated|unchanged/.test(l)).slice(-12).join(" | "));
  assert.match(out, /StackIdentity control-plane-identity created/);
  assert.doesNotMatch(out, /(DockerNetwork|DockerVolume)[^\n]*(replaced|updated|deleted)/, "the network and the state volume are kept");
  for (const d of out.matchAll(/\[diff: ([^\]]*)\]/g)) {
    // Allowed: a new image content, the registration's new instance URLs, the new port hint; never name, labels, volumes, network.
    assert.doesNotMatch(d[1]!, /name|labels|volumes|network|env|stackRepository/, d[0]);
  }
  const after = await objectIds();
  assert.deepEqual(volumeAndNetwork(after), volumeAndNetwork(before), "the same volume and network");
  for (const x of after.filter((y) => /modelplane-it-legacy-(server|my-endpoint)/.test(y))) assert.match(x, /^[0-9a-f]{12} modelplane-it-legacy-(server|my-endpoint-(blue|green)-0)-[0-9a-f]{8}$/, "old names, no identity in them");
  assert.equal((await oldStack!.outputs()).stackId, "", 'the identity of a pre-identity stack is "" (its old names)');
  const preview = await oldStack!.pulumi(["preview", "--json"]);
  const steps = (JSON.parse(String(preview.stdout)) as { steps: { op: string; urn: string }[] }).steps.filter((s) => s.op !== "same");
  assert.deepEqual(steps.map((s) => `${s.op} ${s.urn}`), []);
});
