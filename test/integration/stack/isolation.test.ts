// Issue 26: two checkouts' `dev` stacks (two local backends) on one Docker engine never touch
// each other. Real Pulumi engine, real Docker, the real custom scoring server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";

const STACK = "dev";
const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";
// What a checkout needs to run the program; node_modules is linked, not copied.
const CHECKOUT_PARTS = ["index.ts", "Pulumi.yaml", "package.json", "package-lock.json", "tsconfig.json", "components", "src", "templates", "tools", "examples"];

interface Checkout {
  dir: string;
  stack: TestStack;
  stackId?: string;
}
let work: string;
const checkouts: Checkout[] = [];

/** A copy of this checkout (the working tree, uncommitted changes included) with the dev stack's online specs. */
async function makeCheckout(name: string, config: Record<string, string> = {}): Promise<Checkout> {
  const dir = path.join(work, name);
  await mkdir(path.join(dir, "stacks", "dev"), { recursive: true });
  for (const p of CHECKOUT_PARTS) await cp(path.join(REPO_ROOT, p), path.join(dir, p), { recursive: true });
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  for (const f of ["endpoint.yml", "blue-deployment.yml", "green-deployment.yml"]) await cp(path.join(REPO_ROOT, "stacks/dev", f), path.join(dir, "stacks/dev", f));
  // No port settings: both stacks leave them to modelplane (auto, the default).
  const stack = await TestStack.create(dir, STACK, { "modelplane:baseImage": BASE_IMAGE, ...config }, dir);
  const c = { dir, stack };
  checkouts.push(c);
  return c;
}

type Outputs = { gatewayUrl: string; stackId: string; endpoints: Record<string, { scoringUri: string }>; keys: Record<string, { primaryKey: string }> };

async function score(o: Outputs): Promise<{ status: number; body: string; deployment: string | null }> {
  const res = await fetch(o.endpoints["my-endpoint"]!.scoringUri, {
    method: "POST",
    headers: { authorization: `Bearer ${o.keys["my-endpoint"]!.primaryKey}`, "content-type": "application/json" },
    body: JSON.stringify({ data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]] }),
  });
  return { status: res.status, body: await res.text(), deployment: res.headers.get("azureml-model-deployment") };
}

/** Every container, volume and network of identity `id` (names and labels). */
async function objectsOf(id: string): Promise<string[]> {
  const f = `label=modelplane.stack-id=${id}`;
  const list = async (args: string[]) => (await execa("docker", [...args, "--filter", f, "--format", "{{.Names}}"].filter(Boolean))).stdout.split("\n").filter(Boolean);
  const containers = (await list(["ps", "-a"])).map((n) => `container ${n}`);
  const volumes = (await execa("docker", ["volume", "ls", "-q", "--filter", f])).stdout.split("\n").filter(Boolean).map((n) => `volume ${n}`);
  const networks = (await execa("docker", ["network", "ls", "--filter", f, "--format", "{{.Name}}"])).stdout.split("\n").filter(Boolean).map((n) => `network ${n}`);
  return [...containers, ...volumes, ...networks].sort();
}

async function allDevObjects(): Promise<string[]> {
  const f = "label=modelplane.stack=dev";
  const c = (await execa("docker", ["ps", "-a", "--filter", f, "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean);
  const v = (await execa("docker", ["volume", "ls", "-q", "--filter", f])).stdout.split("\n").filter(Boolean);
  const n = (await execa("docker", ["network", "ls", "--filter", f, "--format", "{{.Name}}"])).stdout.split("\n").filter(Boolean);
  return [...c, ...v, ...n].sort();
}

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), "mp-isolation-"));
});

after(async () => {
  for (const c of checkouts.reverse()) await c.stack.cleanup();
  // Only objects of the identities these stacks got: another dev stack on this engine is never touched.
  for (const c of checkouts) {
    if (!c.stackId) continue;
    const f = `label=modelplane.stack-id=${c.stackId}`;
    const ids = (await execa("docker", ["ps", "-aq", "--filter", f])).stdout.split("\n").filter(Boolean);
    if (ids.length) await execa("docker", ["rm", "-f", ...ids], { reject: false });
    for (const kind of ["network", "volume"]) {
      const names = (await execa("docker", [kind, "ls", "-q", "--filter", f])).stdout.split("\n").filter(Boolean);
      if (names.length) await execa("docker", [kind, "rm", ...names], { reject: false });
    }
  }
  await rm(work, { recursive: true, force: true });
});

let a: Checkout;
let b: Checkout;
let aOut: Outputs;
let bOut: Outputs;

test("1. two checkouts' dev stacks both come up with auto ports on one engine and serve", async (t) => {
  a = await makeCheckout("checkout-a");
  b = await makeCheckout("checkout-b");
  await a.stack.pulumi(["up", "--yes", "--skip-preview"]);
  aOut = (await a.stack.outputs()) as Outputs;
  a.stackId = aOut.stackId;
  const second = await b.stack.pulumi(["up", "--yes", "--skip-preview"]);
  bOut = (await b.stack.outputs()) as Outputs;
  b.stackId = bOut.stackId;
  t.diagnostic(`a: identity ${aOut.stackId} at ${aOut.gatewayUrl}; b: identity ${bOut.stackId} at ${bOut.gatewayUrl}`);
  assert.match(aOut.stackId, /^[0-9a-f]{8}$/);
  assert.match(bOut.stackId, /^[0-9a-f]{8}$/);
  assert.notEqual(aOut.stackId, bOut.stackId);
  assert.notEqual(aOut.gatewayUrl, bOut.gatewayUrl, "auto ports: each stack has its own");
  assert.doesNotMatch(String(second.all), /already exists|port is already allocated/);
  for (const o of [aOut, bOut]) {
    const r = await score(o);
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as number[]).length, 2);
  }
  // Every object's name carries its own stack's identity.
  for (const [c, o] of [[a, aOut], [b, bOut]] as const) {
    const objs = await objectsOf(o.stackId);
    assert.ok(objs.length >= 5, objs.join(", "));
    for (const x of objs) assert.ok(x.split(" ")[1]!.startsWith(`modelplane-dev-${o.stackId}`), `${x} (${c.dir})`);
  }
});

test("2. a second up keeps the auto ports and the identity: no change", async () => {
  const r = await a.stack.pulumi(["preview", "--json", "--diff"]);
  const steps = (JSON.parse(String(r.stdout)) as { steps: { op: string; urn: string }[] }).steps.filter((s) => s.op !== "same");
  assert.deepEqual(steps, []);
  assert.equal(((await a.stack.outputs()) as Outputs).gatewayUrl, aOut.gatewayUrl);
});

test("3. an up that would take the other stack's names fails before creating anything, naming them", async () => {
  const c = await makeCheckout("checkout-c", { "modelplane:stackId": aOut.stackId });
  const before = await allDevObjects();
  const r = await c.stack.pulumi(["up", "--yes", "--skip-preview"], { reject: false });
  assert.notEqual(r.exitCode, 0);
  assert.match(String(r.all), new RegExp(`stack "dev" would take the engine objects of identity ${aOut.stackId}, which belong to another stack`));
  assert.match(String(r.all), new RegExp(`volume modelplane-dev-${aOut.stackId}-state`));
  assert.match(String(r.all), /nothing was created\. Fix: remove modelplane:stackId/);
  assert.deepEqual(await allDevObjects(), before, "no container, volume or network was created or removed");
  assert.equal((await score(aOut)).status, 200, "the other stack still serves");
  const state = JSON.parse(String((await c.stack.pulumi(["stack", "export"])).stdout)) as { deployment: { resources?: { type: string }[] } };
  assert.deepEqual((state.deployment.resources ?? []).map((x) => x.type).filter((x) => /Docker|Image/.test(x)), [], "no engine object in the refused stack's state");
});

test("4. a configured port another stack holds fails the preview, naming the holder and the config line", async () => {
  const taken = new URL(aOut.gatewayUrl).port;
  await b.stack.pulumi(["config", "set", "modelplane:gatewayPort", taken]);
  const r = await b.stack.pulumi(["preview"], { reject: false });
  await b.stack.pulumi(["config", "rm", "modelplane:gatewayPort"]);
  assert.notEqual(r.exitCode, 0);
  assert.match(String(r.all), new RegExp(`host port 127\\.0\\.0\\.1:${taken} \\(modelplane:gatewayPort\\) is taken by modelplane stack "dev" \\(identity ${aOut.stackId}\\), container modelplane-dev-${aOut.stackId}-server-`));
  assert.match(String(r.all), /pulumi config set modelplane:gatewayPort auto --stack dev/);
  assert.equal((await score(bOut)).status, 200);
});

test("5. bash scripts/main.sh in a third checkout succeeds while two other dev stacks run", async (t) => {
  const dir = path.join(work, "checkout-main");
  await mkdir(path.join(dir, "stacks", "dev"), { recursive: true });
  for (const p of [...CHECKOUT_PARTS, "bin", "scripts"]) await cp(path.join(REPO_ROOT, p), path.join(dir, p), { recursive: true });
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  await cp(path.join(REPO_ROOT, "stacks/Pulumi.dev.yaml"), path.join(dir, "stacks/Pulumi.dev.yaml"));
  for (const f of ["endpoint.yml", "blue-deployment.yml", "green-deployment.yml"]) await cp(path.join(REPO_ROOT, "stacks/dev", f), path.join(dir, "stacks/dev", f));
  // The checkout's own env.sh (its .state backend); nothing of this test process's Pulumi settings.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["MODELPLANE_STATE", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE", "MODELPLANE_ROOT", "MODELPLANE_ENV_FOR"]) delete env[k];
  const started = Date.now();
  try {
    const r = await execa("bash", ["scripts/main.sh"], { cwd: dir, env, extendEnv: false, reject: false, all: true, timeout: 900_000 });
    t.diagnostic(`main.sh: exit ${r.exitCode} after ${((Date.now() - started) / 1000).toFixed(1)} s; ${String(r.all).split("\n").find((l) => l.includes("HTTP ")) ?? ""}`);
    assert.equal(r.exitCode, 0, String(r.all).slice(-3000));
    assert.match(String(r.all), /HTTP 200 from deployment '(blue|green)'/);
  } finally {
    const d = await execa("bash", ["-c", ". scripts/env.sh && pulumi destroy --yes --skip-preview --non-interactive --stack dev && pulumi stack rm --yes --force --non-interactive --stack dev"], { cwd: dir, env, extendEnv: false, reject: false, all: true });
    assert.equal(d.exitCode, 0, String(d.all).slice(-2000));
  }
  for (const o of [aOut, bOut]) assert.equal((await score(o)).status, 200, "the other two dev stacks still serve");
});

test("6. destroying one leaves the other serving with all its containers, volume and network", async () => {
  const bObjects = await objectsOf(bOut.stackId);
  await a.stack.pulumi(["destroy", "--yes", "--skip-preview"]);
  assert.deepEqual(await objectsOf(aOut.stackId), [], "a's objects are gone");
  assert.deepEqual(await objectsOf(bOut.stackId), bObjects, "b's objects are untouched");
  const r = await score(bOut);
  assert.equal(r.status, 200, r.body);
});
