/**
 * The product's first complete path, for real: `pulumi up` of the dev stack's specs (blue =
 * model-1, green = model-2, 90/10) on the local Docker engine, scoring through the gateway, and
 * the behaviours issue 5 names. One stack is walked through the steps in order; every step
 * prints its figures with t.diagnostic. Everything is removed in `after`, even on failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { appendFile, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { containersByLabel, freePort, removeByLabel } from "../harness/docker";
import { sample, startLoad } from "../harness/load";
import { readStackFiles, tornStateFiles } from "../../../src/cli/commands/torn-state";

const STACK = `it${process.pid}`;
const SPEC_DIR_REL = `stacks/.it-${STACK}`;
const SPEC_DIR = path.join(REPO_ROOT, SPEC_DIR_REL);
const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";
// Computed by loading examples/model-1/model/sklearn_regression_model.pkl with scikit-learn 1.7.0
// and calling predict() on examples/model-1/sample-request.json (model-2's pickle is identical).
const EXPECTED = [11055.977245525679, 4503.079536107787];
const REQUEST = JSON.stringify({ data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]] });

let work: string;
let stack: TestStack;
let second: TestStack | undefined;
let scoringUri: string;
let managementUrl: string;
let managementToken: string;
let key: string;

interface SpecOptions {
  traffic: Record<string, number>;
  mirror?: Record<string, number>;
  blueCount?: number;
  broken?: boolean;
}

function deploymentYaml(name: string, code: string, model: string, count: number): string {
  return [
    "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json",
    `name: ${name}`,
    "endpoint_name: my-endpoint",
    `model:\n  path: ${model}`,
    `code_configuration:\n  code: ${code}\n  scoring_script: score.py`,
    `environment:\n  conda_file: ${path.join(REPO_ROOT, "examples/model-1/environment/conda.yaml")}`,
    "instance_type: Standard_DS3_v2",
    `instance_count: ${count}`,
    "readiness_probe:\n  initial_delay: 1\n  period: 2\n  failure_threshold: 30",
    // Room for the load generator's 3 workers plus one sampler without 429s (Azure's limit is
    // 2 x max_concurrent_requests_per_instance x instances pending).
    "request_settings:\n  max_concurrent_requests_per_instance: 2",
    "",
  ].join("\n");
}

/** Writes the stack's specs: the dev stack's shape, with the knobs the steps turn. */
async function writeSpecs(o: SpecOptions): Promise<void> {
  await rm(SPEC_DIR, { recursive: true, force: true });
  await mkdir(SPEC_DIR, { recursive: true });
  const yamlMap = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `  ${k}: ${v}`).join("\n");
  await writeFile(
    path.join(SPEC_DIR, "endpoint.yml"),
    `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\nname: my-endpoint\nauth_mode: key\ntraffic:\n${yamlMap(o.traffic)}\n` +
      (o.mirror && Object.keys(o.mirror).length ? `mirror_traffic:\n${yamlMap(o.mirror)}\n` : ""),
  );
  await writeFile(path.join(SPEC_DIR, "blue.yml"), deploymentYaml("blue", path.join(work, "blue-code"), path.join(REPO_ROOT, "examples/model-1/model"), o.blueCount ?? 1));
  await writeFile(path.join(SPEC_DIR, "green.yml"), deploymentYaml("green", path.join(REPO_ROOT, "examples/model-2/onlinescoring"), path.join(REPO_ROOT, "examples/model-2/model"), 1));
  if (o.broken) await writeFile(path.join(SPEC_DIR, "broken.yml"), deploymentYaml("broken", path.join(work, "broken-code"), path.join(REPO_ROOT, "examples/model-1/model"), 1));
}

async function score(headers: Record<string, string> = {}, withKey = key): Promise<{ status: number; body: string; deployment?: string }> {
  const res = await fetch(scoringUri, { method: "POST", headers: { "content-type": "application/json", ...(withKey ? { authorization: `Bearer ${withKey}` } : {}), ...headers }, body: REQUEST });
  return { status: res.status, body: await res.text(), deployment: res.headers.get("azureml-model-deployment") ?? undefined };
}

async function instances(deployment?: string): Promise<{ name: string; id: string; restarts: number }[]> {
  const names = await containersByLabel({ "modelplane.stack": STACK, "modelplane.role": "instance", ...(deployment ? { "modelplane.deployment": deployment } : {}) });
  const out = [];
  for (const n of names) {
    const r = await execa("docker", ["inspect", "-f", "{{.Id}} {{.RestartCount}}", n]);
    const [id, restarts] = r.stdout.split(" ");
    out.push({ name: n, id: id!, restarts: Number(restarts) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function up(label: string, t: { diagnostic(msg: string): void }): Promise<{ stdout: string; seconds: number }> {
  const started = Date.now();
  const r = await stack.pulumi(["up", "--yes", "--skip-preview"]);
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`${label}: pulumi up took ${seconds.toFixed(1)} s`);
  return { stdout: String(r.stdout), seconds };
}

async function management(method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${managementUrl}${p}`, { method, headers: { authorization: `Bearer ${managementToken}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(res.ok, `${method} ${p}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

function assertPredictions(body: string): void {
  const got = JSON.parse(body) as number[];
  assert.equal(got.length, EXPECTED.length);
  got.forEach((v, i) => assert.ok(Math.abs(v - EXPECTED[i]!) <= 1e-9 * Math.abs(EXPECTED[i]!), `prediction ${i}: ${v} != ${EXPECTED[i]}`));
}

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), "mp-stack-"));
  await cp(path.join(REPO_ROOT, "examples/model-1/onlinescoring"), path.join(work, "blue-code"), { recursive: true });
  await mkdir(path.join(work, "broken-code"));
  await writeFile(path.join(work, "broken-code/score.py"), 'def init():\n    raise RuntimeError("boom: the model file is corrupt")\n\ndef run(raw_data):\n    return []\n');
  await writeSpecs({ traffic: { blue: 90, green: 10 } });
  const [g, m] = [await freePort(), await freePort()];
  stack = await TestStack.create(REPO_ROOT, STACK, {
    "modelplane:gatewayPort": String(g),
    "modelplane:managementPort": String(m),
    "modelplane:baseImage": BASE_IMAGE,
    "modelplane:specDir": SPEC_DIR_REL,
  });
});

after(async () => {
  await second?.cleanup();
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
  await removeByLabel("modelplane.stack", `${STACK}b`);
  await rm(SPEC_DIR, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

test("1. pulumi up serves correct predictions with the key, 401 without it", async (t) => {
  const started = Date.now();
  await up("cold up", t);
  const outs = await stack.outputs();
  scoringUri = (outs.endpoints as Record<string, { scoringUri: string }>)["my-endpoint"]!.scoringUri;
  managementUrl = outs.managementUrl as string;
  managementToken = outs.managementToken as string;
  key = (outs.keys as Record<string, { primaryKey: string }>)["my-endpoint"]!.primaryKey;
  const first = await score();
  t.diagnostic(`cold up to first successful score: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(first.status, 200, first.body);
  assertPredictions(first.body);
  assert.ok(first.deployment === "blue" || first.deployment === "green");
  assert.equal((await score({}, "")).status, 401);
  assert.equal((await score({}, "not-the-key")).status, 401);
  const pinned = await score({ "azureml-model-deployment": "green" });
  assert.equal(pinned.deployment, "green");
  assertPredictions(pinned.body);
  assert.equal((await instances()).length, 2);
});

test("2. a second up changes nothing; a traffic-only edit previews as one in-place Traffic update", async (t) => {
  const again = await up("no-op up", t);
  assert.doesNotMatch(again.stdout, /\b(created|updated|replaced|deleted)\b/);
  await writeSpecs({ traffic: { blue: 50, green: 50 } });
  const preview = await stack.pulumi(["preview", "--json"]);
  const steps = (JSON.parse(String(preview.stdout)) as { steps: { op: string; urn: string }[] }).steps.filter((s) => s.op !== "same");
  assert.deepEqual(
    steps.map((s) => [s.op, s.urn.split("::")[2]!.split("$").pop()]),
    [["update", "pulumi-nodejs:dynamic/modelplane:Traffic"]],
  );
  await writeSpecs({ traffic: { blue: 90, green: 10 } });
});

test("3. traffic 90/10 -> 50/50 -> 0/100 and mirror on/off under load: zero failures, no restarts", async (t) => {
  const before = await instances();
  const load = startLoad({ url: scoringUri, key, body: REQUEST, concurrency: 3 });
  const steps: [string, SpecOptions, (byDep: Record<string, number>) => void][] = [
    ["50/50", { traffic: { blue: 50, green: 50 } }, (d) => assert.ok((d.blue ?? 0) > 20 && (d.green ?? 0) > 20, JSON.stringify(d))],
    ["0/100", { traffic: { blue: 0, green: 100 } }, (d) => assert.deepEqual(Object.keys(d), ["green"])],
    ["0/100 + mirror blue 20", { traffic: { blue: 0, green: 100 }, mirror: { blue: 20 } }, (d) => assert.deepEqual(Object.keys(d), ["green"])],
    ["90/10, no mirror", { traffic: { blue: 90, green: 10 } }, (d) => assert.ok((d.blue ?? 0) > (d.green ?? 0), JSON.stringify(d))],
  ];
  for (const [label, spec, check] of steps) {
    await writeSpecs(spec);
    const r = await up(`traffic-only up (${label})`, t);
    assert.match(r.stdout, /1 updated/);
    check((await sample(scoringUri, key, REQUEST, 100)).byDeployment);
  }
  // How fast a management call takes effect in the gateway.
  const t0 = Date.now();
  await management("PUT", "/endpoints/my-endpoint/traffic", { traffic: { blue: 0, green: 100 }, mirror_traffic: {} });
  for (;;) {
    const r = await score();
    if (r.deployment === "green" && (await score()).deployment === "green" && (await score()).deployment === "green") break;
    assert.ok(Date.now() - t0 < 5000, "traffic change not applied within 5 s");
  }
  t.diagnostic(`traffic change took effect ${Date.now() - t0} ms after the management call`);
  await management("PUT", "/endpoints/my-endpoint/traffic", { traffic: { blue: 90, green: 10 }, mirror_traffic: {} });
  const result = await load.stop();
  t.diagnostic(`load during traffic changes: sent ${result.sent}, failed ${result.failed} ${JSON.stringify(result.byStatus)}`);
  assert.equal(result.failed, 0, result.errors.join("\n"));
  assert.deepEqual(await instances(), before, "no container was replaced or restarted");
  // Liveness: each instance runs the probe as its Docker health check (docs/architecture.md "Probes").
  for (const c of before) {
    const h = JSON.parse((await execa("docker", ["inspect", "-f", "{{json .State.Health}}", c.id])).stdout) as { Status: string; Log: { Output: string }[] } | null;
    assert.equal(h?.Status, "healthy", `${c.name}: ${JSON.stringify(h)}`);
    assert.match(h.Log.at(-1)?.Output ?? "", /^liveness GET http:\/\/127\.0\.0\.1:5001\/: 200 OK/);
  }
});

test("4. changing a deployment's code replaces its instances create-before-delete with zero failed requests", async (t) => {
  const before = await instances("blue");
  await appendFile(path.join(work, "blue-code/score.py"), "\n# changed by the test\n");
  const load = startLoad({ url: scoringUri, key, body: REQUEST, concurrency: 3 });
  const r = await up("code change", t);
  const result = await load.stop();
  t.diagnostic(`load during replacement: sent ${result.sent}, failed ${result.failed}`);
  assert.match(r.stdout, /replaced/);
  assert.equal(result.failed, 0, result.errors.join("\n"));
  const afterIds = await instances("blue");
  assert.equal(afterIds.length, 1);
  assert.notEqual(afterIds[0]!.name, before[0]!.name, "a new container replaced the old one");
  assert.deepEqual((await instances("green")).map((c) => c.restarts), [0]);
});

test("5. instance_count 1 -> 3 -> 1 scales in place and spreads requests over all instances", async (t) => {
  await writeSpecs({ traffic: { blue: 90, green: 10 }, blueCount: 3 });
  const r = await up("scale to 3", t);
  assert.match(r.stdout, /2 created/);
  assert.doesNotMatch(r.stdout, /replaced/);
  const three = await instances("blue");
  assert.equal(three.length, 3);
  const res = await sample(scoringUri, key, REQUEST, 60, { "azureml-model-deployment": "blue" });
  assert.equal(res.failed, 0);
  for (const c of three) {
    const logs = await execa("docker", ["logs", c.name], { all: true });
    const served = (String(logs.all).match(/azmlinfsrv - POST \/score 200/g) ?? []).length;
    t.diagnostic(`${c.name} served ${served} requests`);
    assert.ok(served > 0, `${c.name} received no request`);
  }
  await writeSpecs({ traffic: { blue: 90, green: 10 }, blueCount: 1 });
  const down = await up("scale to 1", t);
  assert.match(down.stdout, /2 deleted/);
  assert.equal((await instances("blue")).length, 1);
  assert.equal((await score({ "azureml-model-deployment": "blue" })).status, 200);
});

test("6. a deployment whose init() raises fails the up with its log lines; traffic and serving unchanged", async (t) => {
  await writeSpecs({ traffic: { blue: 90, green: 10 }, broken: true });
  const started = Date.now();
  const r = await stack.pulumi(["up", "--yes", "--skip-preview"], { reject: false });
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`failing up ended after ${seconds.toFixed(1)} s`);
  assert.notEqual(r.exitCode, 0);
  assert.match(String(r.all), /deployment "broken" of endpoint "my-endpoint" failed readiness/);
  assert.match(String(r.all), /boom: the model file is corrupt/, "the error quotes the container's log");
  assert.ok(seconds < 120, "fails within the probe budget");
  // No running leftovers: the crash-looping instance is removed, its last logs kept for `modelplane logs`.
  assert.equal((await instances("broken")).length, 0, "the failed deployment's instance containers are removed");
  assert.match(String(r.all), /The failed instances were removed \(modelplane-.*-my-endpoint-broken-0-[0-9a-f]{8}\); their logs are kept in /);
  const logDir = /their logs are kept in (\S+) and shown/.exec(String(r.all))![1]!;
  // The folder is the checkout's, shared by its stacks: this stack's files only.
  const kept = (await readdir(logDir)).filter((f) => f.startsWith(`modelplane-${STACK}-`) && f.includes("-my-endpoint-broken-0-"));
  assert.equal(kept.length, 1, kept.join(", "));
  assert.match(await readFile(path.join(logDir, kept[0]!), "utf8"), /boom: the model file is corrupt/);
  // The next up recreates the removed instance (its diff sees it gone) and fails the same way, explained again.
  const again = await stack.pulumi(["up", "--yes", "--skip-preview"], { reject: false });
  assert.notEqual(again.exitCode, 0);
  assert.match(String(again.all), /boom: the model file is corrupt/);
  assert.equal((await instances("broken")).length, 0);
  const traffic = (await management("GET", "/endpoints/my-endpoint/traffic")) as { traffic: Record<string, number> };
  assert.deepEqual(traffic.traffic, { blue: 90, green: 10 });
  const ok = await score();
  assert.equal(ok.status, 200);
  await writeSpecs({ traffic: { blue: 90, green: 10 } });
  await up("remove the broken deployment", t);
  assert.equal((await instances("broken")).length, 0);
  await assert.rejects(management("GET", "/endpoints/my-endpoint/deployments/broken"), /404/);
});

test("7. a container removed behind Pulumi's back is reported by refresh and restored by up", async (t) => {
  const [green] = await instances("green");
  await execa("docker", ["rm", "-f", green!.name]);
  const refresh = await stack.pulumi(["refresh", "--yes", "--skip-preview"]);
  assert.match(String(refresh.stdout), /1 deleted/);
  const r = await up("restore", t);
  assert.match(r.stdout, /1 created/);
  assert.equal((await instances("green")).length, 1);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await score({ "azureml-model-deployment": "green" });
    if (s.status === 200) break;
    assert.ok(Date.now() < deadline, `green not serving again: ${s.status} ${s.body}`);
    await new Promise((res) => setTimeout(res, 500));
  }
});

test("8. kill -9 of pulumi up midway, then up again: converges with no duplicate or orphaned containers", async (t) => {
  await appendFile(path.join(work, "blue-code/score.py"), "\n# changed again\n");
  const child = execa("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK], { cwd: REPO_ROOT, env: stack.env(), reject: false, all: true, detached: true });
  let seen = "";
  let exited = false;
  child.all?.on("data", (d: Buffer) => (seen += d.toString()));
  void child.then(() => (exited = true));
  const deadline = Date.now() + 120_000;
  while (!/DockerContainer .*creating/.test(seen) && !exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(seen, /creating/, "the up reached the container step");
  // Pulumi starts its plugins in process groups of their own: kill the whole tree, as a crash would
  // (an orphaned provider would otherwise outlive the test).
  const tree = descendants(child.pid!);
  process.kill(-child.pid!, "SIGKILL");
  for (const pid of tree) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await child;
  t.diagnostic("killed pulumi up while it was creating a container");
  // A kill during a checkpoint write can tear the checkpoint's `.attrs` sidecar (written in place:
  // "failed to load checkpoint: EOF" with a whole checkpoint) or, rarely, the checkpoint; `modelplane
  // doctor` finds both and says the fix (torn-state.ts), which is applied here before every step.
  const mendTorn = async (after: string): Promise<void> => {
    for (const torn of tornStateFiles(readStackFiles(stack.backendDir))) {
      t.diagnostic(`torn after ${after}: ${torn.file}; fix: ${torn.fix}`);
      if (torn.file.endsWith(".attrs")) await rm(torn.file);
      else await copyFile(`${torn.file}.bak`, torn.file);
    }
  };
  await mendTorn("the kill");
  await stack.pulumi(["cancel", "--yes"], { reject: false });
  await mendTorn("pulumi cancel");
  const r = await stack.pulumi(["up", "--yes", "--skip-preview"], { reject: false });
  if (r.exitCode !== 0) {
    t.diagnostic(`the first up after the kill failed (exit ${r.exitCode}): ${String(r.all).split("\n").find((l) => /error/i.test(l)) ?? "no error line"}`);
    await mendTorn("the failed up");
    // A pending create from the killed run: the documented way out is refresh, then up.
    await stack.pulumi(["refresh", "--yes", "--skip-preview", "--clear-pending-creates"], { reject: false });
    await mendTorn("pulumi refresh");
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
  }
  await stack.pulumi(["up", "--yes", "--skip-preview"]);
  assert.equal((await instances("blue")).length, 1, "exactly one blue container");
  assert.equal((await instances("green")).length, 1, "exactly one green container");
  assert.equal((await score({ "azureml-model-deployment": "blue" })).status, 200);
});

test("9. a second stack runs side by side on the same engine, with its own server limits", async (t) => {
  const [g, m] = [await freePort(), await freePort()];
  second = await TestStack.create(REPO_ROOT, `${STACK}b`, {
    "modelplane:gatewayPort": String(g),
    "modelplane:managementPort": String(m),
    "modelplane:baseImage": BASE_IMAGE,
    "modelplane:specDir": SPEC_DIR_REL,
    "modelplane:bodyLimitBytes": "4096",
    "modelplane:bodyBudgetBytes": "65536",
  });
  const started = Date.now();
  await second.pulumi(["up", "--yes", "--skip-preview"]);
  t.diagnostic(`second stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const outs = await second.outputs();
  const uri = (outs.endpoints as Record<string, { scoringUri: string }>)["my-endpoint"]!.scoringUri;
  const k = (outs.keys as Record<string, { primaryKey: string }>)["my-endpoint"]!.primaryKey;
  assert.notEqual(uri, scoringUri);
  assert.notEqual(k, key, "each stack has its own keys");
  const res = await fetch(uri, { method: "POST", headers: { authorization: `Bearer ${k}`, "content-type": "application/json" }, body: REQUEST });
  assert.equal(res.status, 200);
  assert.equal((await score()).status, 200, "the first stack still serves");
  assert.equal((await fetch(uri, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: REQUEST })).status, 401, "keys do not cross stacks");
  // The same request padded past 4 KiB: the second stack's server refuses it (its limit came from
  // stack config through the container's command); the first, on the default 100 MiB, scores it.
  const padded = REQUEST + " ".repeat(5000);
  const refused = await fetch(uri, { method: "POST", headers: { authorization: `Bearer ${k}`, "content-type": "application/json" }, body: padded });
  assert.equal(refused.status, 413);
  assert.match(await refused.text(), /request body exceeds 4096 bytes/);
  const firstStack = await fetch(scoringUri, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: padded });
  assert.equal(firstStack.status, 200);
  assertPredictions(await firstStack.text());
  await second.pulumi(["destroy", "--yes", "--skip-preview"]);
  assert.deepEqual(await containersByLabel({ "modelplane.stack": `${STACK}b` }), []);
  assert.equal((await score()).status, 200, "destroying one stack leaves the other serving");
});

test("10. pulumi destroy leaves no container, network, volume or stack image", async () => {
  await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
  const f = `label=modelplane.stack=${STACK}`;
  assert.deepEqual(await containersByLabel({ "modelplane.stack": STACK }), []);
  assert.equal((await execa("docker", ["network", "ls", "-q", "--filter", f])).stdout, "");
  assert.equal((await execa("docker", ["volume", "ls", "-q", "--filter", f])).stdout, "");
  const images = (await execa("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout.split("\n");
  assert.deepEqual(images.filter((i) => i.startsWith(`modelplane-${STACK}/`) || i.startsWith(`modelplane-${STACK}-`)), []);
});

/** Every process below `root` (read from /proc), children first found first. */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited while listing
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid !== p) continue;
      out.push(pid);
      queue.push(pid);
    }
  }
  return out;
}
