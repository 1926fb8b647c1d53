/**
 * Batch endpoints for real: `pulumi up` of a stack holding the corpus's heart-classifier-mlflow
 * endpoint.yml and deployment-simple/deployment.yml (unchanged), a compute cluster and the
 * corpus's data asset, on the local Docker engine; jobs through the gateway (with the CLI), their
 * predictions checked against the model's own predict in the deployment's image; switching the
 * default deployment; a bad setting failing the preview at file:line:col; destroy leaving nothing.
 * One stack is walked through the steps in order; everything is removed in `after`, even on failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import execa from "execa";
import { runBatchInvoke } from "../../../src/cli/commands/batch";
import { runJobsCancel, runJobsDownload } from "../../../src/cli/commands/jobs";
import { corpusRoot } from "../../conformance-corpus";
import { BatchStack, capture, clusterSpec, type Diagnostics, type Job } from "../harness/batch-stack";
import { containersByLabel } from "../harness/docker";

const ENDPOINT = "heart-classifier-batch";
const FIRST = "classifier-xgboost-mlflow";
const SECOND = "classifier-xgboost-second";
const stack = new BatchStack(`mp-batch-${process.pid}`, ENDPOINT);
const STACK = stack.name;
const SPEC_DIR = stack.specDir;

let corpus: string;

/** The corpus's files, byte for byte, plus the cluster, a registry naming the corpus's model, and `extra` files. */
async function writeSpecs(extra: Record<string, string> = {}, endpointDefault?: string): Promise<void> {
  await stack.freshSpecDir();
  const heart = path.join(corpus, "cli/endpoints/batch/deploy-models/heart-classifier-mlflow");
  const endpoint = await readFile(path.join(heart, "endpoint.yml"), "utf8");
  // Azure switches the default with `az ml batch-endpoint update --set defaults.deployment_name=...`; stacks write it in the file.
  await writeFile(path.join(SPEC_DIR, "endpoint.yml"), endpointDefault ? `${endpoint}\ndefaults:\n  deployment_name: ${endpointDefault}\n` : endpoint);
  await cp(path.join(heart, "deployment-simple/deployment.yml"), path.join(SPEC_DIR, "deployment.yml"));
  await cp(path.join(heart, "heart-dataset-unlabeled.yml"), path.join(SPEC_DIR, "heart-dataset-unlabeled.yml"));
  await cp(path.join(heart, "data"), path.join(SPEC_DIR, "data"), { recursive: true });
  await writeFile(path.join(SPEC_DIR, "cluster.yml"), clusterSpec("batch-cluster"));
  await writeFile(path.join(SPEC_DIR, "registry.yml"), `models:\n  - name: heart-classifier-mlflow\n    version: 1\n    path: ${path.join(heart, "deployment-simple/model")}\n    type: mlflow_model\n`);
  for (const [f, text] of Object.entries(extra)) await writeFile(path.join(SPEC_DIR, f), text);
}

async function secondDeployment(): Promise<string> {
  const text = await readFile(path.join(SPEC_DIR, "deployment.yml"), "utf8");
  return text.replace(`name: ${FIRST}`, `name: ${SECOND}`).replace("mini_batch_size: 2", "mini_batch_size: 4");
}

/** `modelplane batch invoke --wait` in-process, which must exit 0; the job as the gateway reports it at the end. */
async function invokeAndWait(t: Diagnostics, input: string): Promise<Job> {
  const { code, job, io } = await stack.invoke(t, { input });
  assert.equal(code, 0, [...io.lines, ...io.errors, ...io.written].join("\n"));
  return job;
}

/** The model's own predictions per file, from python in the deployment's image (MLflow's pyfunc, as Azure's no-code batch driver). */
async function modelPredictions(image: string): Promise<Record<string, number[]>> {
  const heart = path.join(corpus, "cli/endpoints/batch/deploy-models/heart-classifier-mlflow");
  const script = [
    "import json, os, warnings",
    "warnings.filterwarnings('ignore')",
    "import mlflow.pyfunc, pandas as pd",
    "m = mlflow.pyfunc.load_model('/m')",
    "out = {f: [float(v) for v in m.predict(pd.read_csv(os.path.join('/d', f)))] for f in sorted(os.listdir('/d'))}",
    "print('PREDICTIONS ' + json.dumps(out))",
  ].join("\n");
  const r = await execa("docker", ["run", "--rm", "--network", "none", "--entrypoint", "/opt/venv/bin/python", "-v", `${path.join(heart, "deployment-simple/model")}:/m:ro`, "-v", `${path.join(heart, "data")}:/d:ro`, image, "-c", script], { timeout: 300_000 });
  const line = r.stdout.split("\n").find((l) => l.startsWith("PREDICTIONS "));
  assert.ok(line, r.stdout + r.stderr);
  return JSON.parse(line.slice("PREDICTIONS ".length)) as Record<string, number[]>;
}

/** predictions.csv rows grouped by their source file (the last column), in file order. */
function byFile(csv: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of csv.split("\n").filter((l) => l.trim() !== "")) {
    const cells = line.split(",");
    const file = path.basename(cells.at(-1)!);
    (out[file] ??= []).push(Number(cells[0]));
  }
  return out;
}

before(async () => {
  corpus = corpusRoot();
  await writeSpecs();
  await stack.create();
});

after(async () => {
  await stack.cleanup();
});

test("1. pulumi up of the corpus's batch endpoint, a cluster and the data asset starts no container besides the server", { timeout: 1_900_000 }, async (t) => {
  const text = await readFile(path.join(SPEC_DIR, "deployment.yml"), "utf8");
  assert.equal(text, await readFile(path.join(corpus, "cli/endpoints/batch/deploy-models/heart-classifier-mlflow/deployment-simple/deployment.yml"), "utf8"), "the corpus's deployment, unchanged");
  await stack.up(t, "cold up");
  const outs = await stack.connect();
  const batch = outs.batchEndpoints as Record<string, { invocationUri: string; defaultDeployment: string }>;
  assert.deepEqual(batch[ENDPOINT], { invocationUri: `${stack.access.gatewayUrl}/endpoints/${ENDPOINT}/jobs`, defaultDeployment: FIRST, authMode: "aad_token" });
  assert.match(String((outs.dataAssets as Record<string, string>)["azureml:heart-dataset-unlabeled:1"]), /^datastore:\/\/folders\/[0-9a-f]{64}$/);
  assert.ok((outs.keys as Record<string, { primaryKey: string }>)[ENDPOINT]?.primaryKey);
  const all = await containersByLabel({ "modelplane.stack": STACK });
  assert.equal(all.length, 1, `containers: ${all.join(", ")}`);
  assert.deepEqual(await containersByLabel({ "modelplane.stack": STACK, "modelplane.role": "control-plane" }), all);
  const cluster = await stack.management<{ max_instances: number; min_instances: number }>("GET", "/clusters/batch-cluster");
  assert.deepEqual([cluster.min_instances, cluster.max_instances], [0, 2]);
  assert.equal((await stack.management<{ deployment_name: string | null }>("GET", `/endpoints/${ENDPOINT}/defaults`)).deployment_name, FIRST);
});

test("2. a job over the data asset's 4 CSV files: 2 mini-batches on 2 instances, one prediction per row equal to the model's predict", { timeout: 900_000 }, async (t) => {
  const job = await invokeAndWait(t, "azureml:heart-dataset-unlabeled@latest");
  assert.equal(job.status, "Completed", job.failure_reason ?? "");
  assert.equal(job.deployment, FIRST);
  assert.deepEqual(job.mini_batches, { ...job.mini_batches, total: 2, done: 2, failed: 0 });
  assert.equal(job.rows, 303);
  // instance_count 2: one log per instance container.
  assert.deepEqual(job.outputs.filter((o) => o.startsWith("logs/")).sort(), ["logs/worker-0.log", "logs/worker-1.log"]);
  const dir = path.join(SPEC_DIR, "..", `.it-${STACK}-out`);
  const c = capture();
  assert.equal(await runJobsDownload(ENDPOINT, job.id, { ...stack.access, outputDir: dir }, c), 0, c.errors.join("\n"));
  try {
    const got = byFile(await readFile(path.join(dir, "predictions.csv"), "utf8"));
    const image = (await stack.management<{ image: string }>("GET", `/endpoints/${ENDPOINT}/deployments/${FIRST}`)).image;
    const expected = await modelPredictions(image);
    assert.deepEqual(Object.keys(expected), ["heart-unlabeled-0.csv", "heart-unlabeled-1.csv", "heart-unlabeled-2.csv", "heart-unlabeled-3.csv"]);
    assert.deepEqual(got, expected);
    t.diagnostic(`predictions: ${Object.values(got).flat().length} rows, ${Object.values(got).flat().filter((v) => v === 1).length} positive`);
    assert.deepEqual((await readdir(path.join(dir, "logs"))).sort(), ["worker-0.log", "worker-1.log"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await stack.eventuallyNoWorker(90);
  // An up that changes nothing leaves the job and its outputs in place.
  const again = await stack.up(t, "no-op up");
  const changed = again.split("\n").filter((l) => /\b(created|updated|replaced|deleted)\b/.test(l));
  // The server image is fingerprinted over src/server and src/spec: edits to them during the run
  // (a shared work tree) rebuild it and replace the server, which must keep the job (its state is on the volume).
  const serverRebuilt = /control-plane-image .*\[diff: ~fingerprint\]/.test(again);
  if (serverRebuilt) t.diagnostic("the server's sources changed during the run: its image was rebuilt and the server replaced");
  assert.deepEqual(changed.filter((l) => !(serverRebuilt && /control-plane-(image|server)/.test(l))), [], again);
  assert.equal((await stack.gateway<Job>(`/jobs/${job.id}`)).status, "Completed");
});

test("3. a local folder: uploaded content-addressed (the data asset's blobs are already there), the job starts, and cancel stops it", { timeout: 300_000 }, async () => {
  const c = capture();
  const code = await runBatchInvoke(ENDPOINT, { ...stack.access, input: path.join(SPEC_DIR, "data"), miniBatchSize: 1 }, c, { tty: false });
  assert.equal(code, 0, [...c.lines, ...c.errors].join("\n"));
  assert.match(c.written.join(""), /uploaded .*data: 4 files, 0 sent \(0 B\), 4 already in the datastore -> datastore:\/\/folders\/[0-9a-f]{64}/);
  const id = /^job (\S+):/.exec(c.lines[0]!)![1]!;
  const started = await stack.gateway<Job>(`/jobs/${id}`);
  assert.equal(started.mini_batches.total, 4, "--mini-batch-size 1 over 4 files");
  const cancel = capture();
  assert.equal(await runJobsCancel(ENDPOINT, id, stack.access, cancel), 0, cancel.errors.join("\n"));
  const deadline = Date.now() + 60_000;
  let job = await stack.gateway<Job>(`/jobs/${id}`);
  while (job.status !== "Canceled" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    job = await stack.gateway<Job>(`/jobs/${id}`);
  }
  assert.equal(job.status, "Canceled");
  await stack.eventuallyNoWorker(90);
});

test("4. a second deployment; switching the default is one in-place update and the next job runs on it", { timeout: 1_900_000 }, async (t) => {
  await writeSpecs({ "deployment-second.yml": await secondDeployment() }, FIRST);
  await stack.up(t, "up with a second deployment");
  assert.equal((await stack.management<{ deployment_name: string }>("GET", `/endpoints/${ENDPOINT}/defaults`)).deployment_name, FIRST);
  assert.equal((await stack.workers()).length, 0, "deploying consumes nothing");
  await writeSpecs({ "deployment-second.yml": await secondDeployment() }, SECOND);
  const steps = await stack.previewChanges();
  assert.deepEqual(steps.map((s) => [s.op, s.urn.split("::")[2]!.split("$").pop()]), [["update", "pulumi-nodejs:dynamic/modelplane:Defaults"]]);
  await stack.up(t, "switch the default");
  assert.equal((await stack.outputs() as { batchEndpoints: Record<string, { defaultDeployment: string }> }).batchEndpoints[ENDPOINT]!.defaultDeployment, SECOND);
  const job = await invokeAndWait(t, "azureml:heart-dataset-unlabeled@latest");
  assert.equal(job.deployment, SECOND);
  assert.equal(job.status, "Completed", job.failure_reason ?? "");
  assert.equal(job.mini_batches.total, 1, "the second deployment's mini_batch_size 4 over 4 files");
  assert.equal(job.rows, 303);
  await stack.eventuallyNoWorker(90);
});

test("5. a bad mini_batch_size fails the preview at file:line:col, before anything changes", { timeout: 300_000 }, async () => {
  const bad = (await secondDeployment()).replace("mini_batch_size: 4", "mini_batch_size: 0");
  await writeSpecs({ "deployment-second.yml": bad }, SECOND);
  const r = await stack.pulumi(["preview"], { reject: false });
  assert.notEqual(r.exitCode, 0);
  const file = path.join(SPEC_DIR, "deployment-second.yml");
  assert.match(String(r.all), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:12:20: error: settings\\.mini_batch_size is 0, must be an integer from 1 to 1000000`));
  await writeSpecs({ "deployment-second.yml": await secondDeployment() }, SECOND);
});

test("6. pulumi destroy leaves no container, volume or network of the stack", { timeout: 600_000 }, async () => {
  await stack.destroyLeavesNothing();
});
