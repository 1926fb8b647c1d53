/**
 * A custom-scoring batch deployment for real: `pulumi up` of a stack holding the dev stack's
 * heart-classifier batch endpoint with its MLflow deployment, and next to it model-1's own batch
 * scoring script (examples/model-1/batch/deployment.yml: examples/model-1/batchscoring/score.py in
 * model-1's conda environment). Switching the endpoint's default to the custom deployment previews
 * as one in-place update; the next job runs on it and its predictions equal the online model's
 * known answers; a file the script refuses is counted in summary.json's failed_files with
 * error_threshold -1 and fails the job, naming the file, with error_threshold 0.
 * Everything the stack created is removed in `after`, even on failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { BatchStack, clusterSpec } from "../harness/batch-stack";
import { REPO_ROOT } from "../harness/pulumi";

const ENDPOINT = "heart-classifier-batch";
const MLFLOW = "classifier-xgboost-mlflow";
const CUSTOM = "model-1-custom";
const STRICT = "model-1-strict";
const EXAMPLE = path.join(REPO_ROOT, "examples/model-1/batch");
const DATA = path.join(EXAMPLE, "data");
/** What the online model answers for examples/model-1/sample-request.json's two rows (test/integration/images/custom-server.test.ts). */
const EXPECTED = [11055.977245525679, 4503.079536107787];
const BAD_FILE = "bad-row.csv";
const stack = new BatchStack(`mp-batch-custom-${process.pid}`, ENDPOINT);
const SPEC_DIR = stack.specDir;

interface Summary {
  status: string;
  error_threshold: number;
  error_threshold_exceeded: boolean;
  failed_files: { file: string; error: string; mini_batch: number }[];
}

/** The example deployment as it sits in this stack: on the dev endpoint, its paths relative to SPEC_DIR (one level up from the example's). */
async function exampleDeployment(name: string, errorThreshold: number): Promise<string> {
  const text = await readFile(path.join(EXAMPLE, "deployment.yml"), "utf8");
  let out = text.replace(/^name: model-1-custom$/m, `name: ${name}`).replace(/^endpoint_name: model-1-batch$/m, `endpoint_name: ${ENDPOINT}`).replace(/^(\s+error_threshold:) -1$/m, `$1 ${errorThreshold}`);
  out = out.replace(/^(\s+(?:path|code|conda_file): )\.\.\//gm, "$1../../examples/model-1/");
  assert.equal((out.match(/\.\.\/\.\.\/examples\/model-1\//g) ?? []).length, 3, `three paths rewritten:\n${out}`);
  assert.match(out, new RegExp(`^endpoint_name: ${ENDPOINT}$`, "m"));
  assert.match(out, new RegExp(`^\\s+error_threshold: ${errorThreshold}$`, "m"));
  return out;
}

/** The dev stack's batch endpoint (default `defaultName`), MLflow deployment and registry, a cluster, and the two model-1 deployments. */
async function writeSpecs(defaultName: string): Promise<void> {
  await stack.freshSpecDir();
  const dev = path.join(REPO_ROOT, "stacks/dev");
  const endpoint = await readFile(path.join(dev, "batch-endpoint.yml"), "utf8");
  const switched = endpoint.replace(`deployment_name: ${MLFLOW}`, `deployment_name: ${defaultName}`);
  assert.match(switched, new RegExp(`deployment_name: ${defaultName}$`, "m"));
  await writeFile(path.join(SPEC_DIR, "batch-endpoint.yml"), switched);
  // Same depth as stacks/dev: the registry's and the deployment's relative paths hold as they are.
  await cp(path.join(dev, "batch-deployment.yml"), path.join(SPEC_DIR, "batch-deployment.yml"));
  await cp(path.join(dev, "registry.yml"), path.join(SPEC_DIR, "registry.yml"));
  await writeFile(path.join(SPEC_DIR, "cpu-cluster.yml"), clusterSpec("cpu-cluster"));
  await writeFile(path.join(SPEC_DIR, "model-1-deployment.yml"), await exampleDeployment(CUSTOM, -1));
  await writeFile(path.join(SPEC_DIR, "model-1-strict-deployment.yml"), await exampleDeployment(STRICT, 0));
}

/** predictions.csv's rows ([file name, prediction], as score.py returns them) grouped by file. */
function byFile(csv: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of csv.split("\n").filter((l) => l.trim() !== "")) {
    const cells = line.split(",");
    assert.equal(cells.length, 2, `a row of [file, prediction]: ${line}`);
    (out[cells[0]!] ??= []).push(Number(cells[1]));
  }
  return out;
}

before(async () => {
  await writeSpecs(MLFLOW);
  await stack.create();
});

after(async () => {
  await stack.cleanup();
});

test("1. pulumi up of the MLflow deployment and two model-1 custom-scoring deployments registers them all and starts no worker", { timeout: 1_900_000 }, async (t) => {
  await stack.up(t, "cold up");
  const outs = await stack.connect();
  assert.equal((outs.batchEndpoints as Record<string, { defaultDeployment: string }>)[ENDPOINT]?.defaultDeployment, MLFLOW);
  const { value } = await stack.management<{ value: { name: string; provisioningState: string }[] }>("GET", `/endpoints/${ENDPOINT}/deployments`);
  assert.deepEqual(value.map((d) => [d.name, d.provisioningState]).sort(), [[MLFLOW, "Succeeded"], [CUSTOM, "Succeeded"], [STRICT, "Succeeded"]].sort());
  const custom = await stack.management<{ model_server: string; scoring_script: string; settings: { error_threshold: number } }>("GET", `/endpoints/${ENDPOINT}/deployments/${CUSTOM}`);
  assert.deepEqual([custom.model_server, custom.scoring_script, custom.settings.error_threshold], ["custom", "score.py", -1]);
  assert.equal((await stack.management<{ settings: { error_threshold: number } }>("GET", `/endpoints/${ENDPOINT}/deployments/${STRICT}`)).settings.error_threshold, 0);
  assert.deepEqual(await stack.workers(), [], "deploying consumes nothing");
});

test("2. switching the default to the custom deployment is one in-place update; the next job runs on it with the online model's answers", { timeout: 1_900_000 }, async (t) => {
  await writeSpecs(CUSTOM);
  const steps = await stack.previewChanges();
  // The server image is fingerprinted over src/server and src/spec: edits to them during the run
  // (a shared work tree) rebuild it and replace the server; nothing else may change.
  const serverRebuilt = steps.some((s) => s.urn.endsWith("::control-plane-image") && s.oldState?.inputs?.fingerprint !== s.newState?.inputs?.fingerprint);
  if (serverRebuilt) t.diagnostic("the server's sources changed during the run: its image is rebuilt and the server replaced");
  const ours = steps.filter((s) => !(serverRebuilt && /::control-plane-(image|server)$/.test(s.urn)));
  assert.deepEqual(ours.map((s) => [s.op, s.urn.split("::")[2]!.split("$").pop(), s.urn.split("::").pop()]), [["update", "pulumi-nodejs:dynamic/modelplane:Defaults", `${ENDPOINT}-defaults`]]);
  await stack.up(t, "switch the default");
  assert.equal((await stack.outputs() as { batchEndpoints: Record<string, { defaultDeployment: string }> }).batchEndpoints[ENDPOINT]!.defaultDeployment, CUSTOM);
  assert.equal((await stack.management<{ deployment_name: string }>("GET", `/endpoints/${ENDPOINT}/defaults`)).deployment_name, CUSTOM);
  const { code, job, io } = await stack.invoke(t, { input: DATA });
  assert.equal(code, 0, io.errors.join("\n"));
  assert.equal(job.deployment, CUSTOM);
  assert.equal(job.status, "Completed", job.failure_reason ?? "");
  assert.deepEqual([job.mini_batches.total, job.mini_batches.done, job.files.total, job.rows], [1, 1, 2, 4], "mini_batch_size 2 over the example's 2 files of 2 rows");
  const got = byFile(await stack.gatewayText(`/jobs/${job.id}/outputs/predictions.csv`));
  assert.deepEqual(got, { "sample-request.csv": EXPECTED, "sample-request.json": EXPECTED });
  await stack.eventuallyNoWorker(90);
});

test("3. a file the script refuses: counted in failed_files with error_threshold -1, fails the job naming it with error_threshold 0", { timeout: 900_000 }, async (t) => {
  const input = path.join(SPEC_DIR, "with-bad-file");
  await cp(DATA, input, { recursive: true });
  await writeFile(path.join(input, BAD_FILE), "1,2,3,4,5,6,7,8,9\n");
  const refusal = `ValueError: ${BAD_FILE}: line 1 has 9 values, expected 10 numbers`;

  // mini_batch_size 1: the bad file fails alone, the other two are scored.
  const tolerant = await stack.invoke(t, { input, deployment: CUSTOM, miniBatchSize: 1 });
  assert.equal(tolerant.code, 0, tolerant.io.errors.join("\n"));
  assert.equal(tolerant.job.status, "Completed", tolerant.job.failure_reason ?? "");
  assert.deepEqual([tolerant.job.mini_batches.total, tolerant.job.mini_batches.done, tolerant.job.mini_batches.failed, tolerant.job.files.failed, tolerant.job.rows], [3, 2, 1, 1, 4]);
  const summary = await stack.gateway<Summary>(`/jobs/${tolerant.job.id}/outputs/summary.json`);
  assert.deepEqual([summary.status, summary.error_threshold, summary.error_threshold_exceeded], ["Completed", -1, false]);
  assert.deepEqual(summary.failed_files.map((f) => [path.basename(f.file), f.error]), [[BAD_FILE, refusal]]);
  assert.deepEqual(byFile(await stack.gatewayText(`/jobs/${tolerant.job.id}/outputs/predictions.csv`)), { "sample-request.csv": EXPECTED, "sample-request.json": EXPECTED });

  const strict = await stack.invoke(t, { input, deployment: STRICT, miniBatchSize: 1 });
  assert.equal(strict.code, 1, "the CLI exits 1 when the job fails");
  assert.equal(strict.job.deployment, STRICT);
  assert.equal(strict.job.status, "Failed");
  assert.match(strict.job.failure_reason ?? "", new RegExp(`error_threshold 0 exceeded: 1 file\\(s\\) failed: .*${BAD_FILE.replace(".", "\\.")}`));
  assert.match(strict.io.errors.join("\n"), new RegExp(`job ${strict.job.id} failed: .*${BAD_FILE.replace(".", "\\.")}`));
  const strictSummary = await stack.gateway<Summary>(`/jobs/${strict.job.id}/outputs/summary.json`);
  assert.deepEqual([strictSummary.status, strictSummary.error_threshold_exceeded], ["Failed", true]);
  assert.deepEqual(strictSummary.failed_files.map((f) => [path.basename(f.file), f.error]), [[BAD_FILE, refusal]]);
  await stack.eventuallyNoWorker(90);
});

test("4. pulumi destroy leaves no container, volume or network of the stack", { timeout: 600_000 }, async () => {
  await stack.destroyLeavesNothing();
});
