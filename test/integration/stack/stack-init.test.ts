/**
 * A new user's first hour, for real: Azure's own `managed/sample` specs (endpoint.yml,
 * blue-deployment.yml, green-deployment.yml from the conformance corpus, unchanged, with the
 * project's score.py beside their models) become a stack with one `modelplane stack init`, and
 * a real `pulumi up` (auto ports) serves a prediction. The up shows the docker target's warnings
 * for `environment.image` and `instance_type`; `modelplane logs` shows blue's container lines;
 * `modelplane traffic` rewrites the endpoint YAML and previews the change, and the up after it
 * routes unpinned requests by the new split. The stack, its backend, config file and engine
 * objects are removed in `after`, even on failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { corpusRoot } from "../../conformance-corpus";
import { containersByLabel, removeByLabel } from "../harness/docker";
import { REPO_ROOT } from "../harness/pulumi";

const STACK = `mp-init-${process.pid.toString(36)}`;
// examples/model-1/model/sklearn_regression_model.pkl (the corpus's model-1 model, byte for byte)
// on examples/model-1/sample-request.json, as in test/integration/stack/dev-stack.test.ts.
const EXPECTED = [11055.977245525679, 4503.079536107787];
const CONFIG_FILE = path.join(REPO_ROOT, "stacks", `Pulumi.${STACK}.yaml`);

let work: string;
let backend: string;
let specs: string;
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<execa.ExecaReturnValue> {
  return execa(cmd, args, { cwd: REPO_ROOT, env, reject: false, all: true, timeout: timeoutMs });
}
const modelplane = (args: string[], timeoutMs?: number) => run(path.join(REPO_ROOT, "bin/modelplane"), args, timeoutMs);
const pulumi = (args: string[], timeoutMs = 1_200_000) => run("pulumi", [...args, "--stack", STACK, "--non-interactive"], timeoutMs);

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), "mp-init-work-"));
  backend = await mkdtemp(path.join(tmpdir(), "mp-init-backend-"));
  // The corpus layout: managed/sample/*.yml name ../../model-N/{model,onlinescoring,environment}.
  const online = path.join(corpusRoot(), "cli/endpoints/online");
  specs = path.join(work, "managed/sample");
  mkdirSync(specs, { recursive: true });
  for (const f of ["endpoint.yml", "blue-deployment.yml", "green-deployment.yml"]) cpSync(path.join(online, "managed/sample", f), path.join(specs, f));
  for (const m of ["model-1", "model-2"]) {
    for (const part of ["model", "environment"]) cpSync(path.join(online, m, part), path.join(work, m, part), { recursive: true });
    cpSync(path.join(REPO_ROOT, "examples", m, "onlinescoring"), path.join(work, m, "onlinescoring"), { recursive: true });
  }
  // The corpus is read-only; the copy is the user's to edit (traffic).
  chmodSync(path.join(specs, "endpoint.yml"), 0o644);
  writeFileSync(path.join(work, "request.json"), readFileSync(path.join(REPO_ROOT, "examples/model-1/sample-request.json")));
  env = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: "modelplane-stack-init-test",
    PULUMI_CONFIG_PASSPHRASE_FILE: "",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    MODELPLANE_ROOT: REPO_ROOT,
  };
});

after(async () => {
  // Everything the test made goes, whatever happened: resources, stack, config file, backend.
  if (existsSync(CONFIG_FILE)) {
    await pulumi(["cancel", "--yes"]);
    const destroyed = await pulumi(["destroy", "--yes", "--skip-preview"]);
    if (destroyed.exitCode !== 0) process.stderr.write(`destroy of ${STACK} failed:\n${destroyed.all}\n`);
    await pulumi(["stack", "rm", "--yes", "--force"]);
  }
  await removeByLabel("modelplane.stack", STACK);
  await rm(CONFIG_FILE, { force: true });
  await rm(backend, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  const left = await containersByLabel({ "modelplane.stack": STACK });
  assert.deepEqual(left, [], `containers of ${STACK} left behind`);
});

const IMAGE_WARNING = /blue-deployment\.yml:11:10: warning: environment\.image "mcr\.microsoft\.com\/azureml\/openmpi4\.1\.0-ubuntu22\.04:latest" is not acted on by the docker target: it is the base of Azure's managed image; here the scoring image \(azureml-inference-server-http\) is built FROM the stack's base image/;
const TYPE_WARNING = /blue-deployment\.yml:12:16: warning: instance_type "Standard_DS3_v2" is not acted on by the docker target: it is not a GPU size/;

function predictions(out: string): number[] {
  const body = out.split("\n").slice(2).join("\n");
  const parsed = JSON.parse(body) as unknown;
  return (typeof parsed === "string" ? JSON.parse(parsed) : parsed) as number[];
}

function assertPredictions(got: number[]): void {
  assert.equal(got.length, EXPECTED.length);
  got.forEach((v, i) => assert.ok(Math.abs(v - EXPECTED[i]!) <= 1e-9 * Math.abs(EXPECTED[i]!), `prediction ${i}: ${v} != ${EXPECTED[i]}`));
}

test("stack init: one command from Azure's managed/sample folder to a stack, with the warnings", async (t) => {
  const r = await modelplane(["stack", "init", STACK, "--specs", specs]);
  t.diagnostic(r.all ?? "");
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.stdout, IMAGE_WARNING);
  assert.match(r.stdout, TYPE_WARNING);
  assert.match(r.stdout, new RegExp(`next: pulumi up --stack ${STACK}`));
  const config = readFileSync(CONFIG_FILE, "utf8");
  for (const line of ["modelplane:gatewayPort: auto", "modelplane:managementPort: auto", "modelplane:target: docker", `modelplane:specDir: ${specs}`]) assert.ok(config.includes(line), `${line} not in\n${config}`);
  const again = await modelplane(["stack", "init", STACK, "--specs", specs]);
  assert.equal(again.exitCode, 1);
  assert.match(again.stderr, new RegExp(`modelplane: stack "${STACK}" already has a config file`));
});

test("pulumi up of the new stack serves a prediction and shows the environment.image and instance_type warnings", async (t) => {
  const started = Date.now();
  const up = await pulumi(["up", "--yes", "--skip-preview"]);
  t.diagnostic(`up: exit ${up.exitCode} in ${Math.round((Date.now() - started) / 1000)} s`);
  assert.equal(up.exitCode, 0, up.all);
  assert.match(up.all ?? "", IMAGE_WARNING);
  assert.match(up.all ?? "", TYPE_WARNING);
  // The sample's endpoint.yml sets no traffic: the deployment is picked with the header, as Azure's own walkthrough does.
  const r = await modelplane(["invoke", "my-endpoint", "--file", path.join(work, "request.json"), "--deployment", "blue", "--stack", STACK]);
  t.diagnostic(r.all ?? "");
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.stdout, /^status: 200\nazureml-model-deployment: blue\n/);
  assertPredictions(predictions(r.stdout));
});

test("modelplane logs shows blue's container lines", async (t) => {
  const r = await modelplane(["logs", "my-endpoint", "--deployment", "blue", "--lines", "500", "--stack", STACK]);
  assert.equal(r.exitCode, 0, r.all);
  t.diagnostic(r.stdout.split("\n").slice(-6).join("\n"));
  // azureml-inference-server-http's start-up banner and the scored request, from blue's one instance.
  assert.match(r.stdout, /Azure ML Inferencing HTTP server/i);
  assert.match(r.stdout, /POST \/score/);
  // --follow prints the tail, then keeps going until stopped.
  const follow = execa(path.join(REPO_ROOT, "bin/modelplane"), ["logs", "my-endpoint", "--deployment", "blue", "--follow", "--lines", "5", "--stack", STACK], { cwd: REPO_ROOT, env, reject: false });
  let followed = "";
  const seen = new Promise<void>((resolve) => follow.stdout?.on("data", (b: Buffer) => ((followed += b.toString("utf8")), /POST \/score/.test(followed) && resolve())));
  await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  assert.equal(follow.exitCode, null, "logs --follow ended by itself while the instance runs");
  follow.kill("SIGTERM");
  await follow;
  assert.match(followed, /POST \/score/);
  const green = await modelplane(["logs", "my-endpoint", "--stack", STACK]);
  assert.equal(green.exitCode, 1);
  assert.match(green.stderr, /endpoint "my-endpoint" has deployments blue, green: pass --deployment <name>/);
});

test("modelplane traffic rewrites the endpoint YAML, previews it, and the next up routes by it", async (t) => {
  const original = readFileSync(path.join(specs, "endpoint.yml"), "utf8");
  const bad = await modelplane(["traffic", "my-endpoint", "blue=90", "green=20", "--stack", STACK]);
  assert.equal(bad.exitCode, 1);
  assert.match(bad.stderr, /error: traffic of endpoint "my-endpoint" sums to 110, not 100/);
  assert.equal(readFileSync(path.join(specs, "endpoint.yml"), "utf8"), original);

  const r = await modelplane(["traffic", "my-endpoint", "blue=100", "green=0", "--stack", STACK], 600_000);
  t.diagnostic(r.all ?? "");
  assert.equal(r.exitCode, 0, r.all);
  assert.equal(readFileSync(path.join(specs, "endpoint.yml"), "utf8"), `${original}traffic:\n  blue: 100\n  green: 0\n`);
  // The preview: one in-place update of the Traffic resource, nothing else.
  assert.match(r.stdout, /~ pulumi-nodejs:dynamic\/modelplane:Traffic: \(update\)/);
  assert.match(r.stdout, /~ traffic\s*: \{\s*\+ blue : 100\s*\+ green: 0\s*\}/);
  assert.match(r.stdout, /Resources:\s*~ 1 to update\s*\d+ unchanged/);
  const up = await pulumi(["up", "--yes", "--skip-preview"]);
  assert.equal(up.exitCode, 0, up.all);
  const scored = await modelplane(["invoke", "my-endpoint", "--file", path.join(work, "request.json"), "--stack", STACK]);
  assert.equal(scored.exitCode, 0, scored.all);
  assert.match(scored.stdout, /^status: 200\nazureml-model-deployment: blue\n/);
  assertPredictions(predictions(scored.stdout));
});
