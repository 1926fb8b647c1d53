// Batch stacks: compute clusters and data assets as spec kinds, the rules that tie batch
// deployments to clusters and endpoints to their default, and the corpus's heart-classifier-mlflow
// files (byte for byte) loading as one stack with a registry.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { detectKind, formatDiagnostic, loadStack, parseComputeCluster, parseDataAsset } from "../../../src/spec";
import { corpusRoot } from "../../conformance-corpus";

const HEART = "cli/endpoints/batch/deploy-models/heart-classifier-mlflow";
const CLUSTER_SCHEMA = "https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json";

const tmp = mkdtempSync(path.join(tmpdir(), "mp-batch-spec-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A stack folder: the corpus's endpoint, simple deployment and data asset copied unchanged, plus a registry and `extra` files. */
function heartStack(extra: Record<string, string> = {}, copy = true): string {
  const dir = path.join(tmp, `stack-${n++}`);
  mkdirSync(dir);
  const corpus = path.join(corpusRoot(), HEART);
  if (copy) {
    cpSync(path.join(corpus, "endpoint.yml"), path.join(dir, "endpoint.yml"));
    cpSync(path.join(corpus, "deployment-simple/deployment.yml"), path.join(dir, "deployment.yml"));
    cpSync(path.join(corpus, "heart-dataset-unlabeled.yml"), path.join(dir, "heart-dataset-unlabeled.yml"));
    cpSync(path.join(corpus, "data"), path.join(dir, "data"), { recursive: true });
    writeFileSync(path.join(dir, "registry.yml"), `models:\n  - name: heart-classifier-mlflow\n    version: 1\n    path: ${path.join(corpus, "deployment-simple/model")}\n    type: mlflow_model\n`);
  }
  for (const [file, text] of Object.entries(extra)) writeFileSync(path.join(dir, file), text);
  return dir;
}

const CLUSTER = `$schema: ${CLUSTER_SCHEMA}\nname: batch-cluster\ntype: amlcompute\nmin_instances: 0\nmax_instances: 2\nidle_time_before_scale_down: 120\nsize: STANDARD_DS3_V2\n`;

async function errorsOf(dir: string): Promise<string[]> {
  const stack = await loadStack(dir);
  return stack.diagnostics.filter((d) => d.severity === "error").map((d) => formatDiagnostic({ ...d, file: path.basename(d.file) }));
}

describe("kinds", () => {
  it("amlCompute and data $schemas, and their shapes without $schema", () => {
    assert.equal(detectKind({ $schema: CLUSTER_SCHEMA, name: "c" }).kind, "compute-cluster");
    assert.equal(detectKind({ $schema: "https://azuremlschemas.azureedge.net/latest/data.schema.json", name: "d", path: "x" }).kind, "data-asset");
    assert.equal(detectKind({ name: "c", type: "AmlCompute" }).kind, "compute-cluster");
    assert.equal(detectKind({ name: "d", type: "uri_file", path: "x.csv" }).kind, "data-asset");
    // Other compute types are not clusters this tool runs jobs on.
    assert.equal(detectKind({ $schema: "https://azuremlschemas.azureedge.net/latest/computeInstance.schema.json", name: "c" }).kind, undefined);
  });
});

describe("parseComputeCluster", () => {
  it("applies Azure's defaults: min 0, max 1, 120 s idle", () => {
    const r = parseComputeCluster({ $schema: CLUSTER_SCHEMA, name: "cpu-cluster", type: "amlcompute" });
    assert.ok(r.ok);
    assert.deepEqual(r.value, { kind: "compute-cluster", name: "cpu-cluster", type: "amlcompute", tags: {}, min_instances: 0, max_instances: 1, idle_time_before_scale_down: 120, extra: {} });
  });
  it("keeps size, description and tier", () => {
    const r = parseComputeCluster({ name: "cpu-cluster", type: "AmlCompute", size: "STANDARD_DS3_V2", max_instances: 4, tier: "Dedicated", description: "d" });
    assert.ok(r.ok);
    assert.equal(r.value.size, "STANDARD_DS3_V2");
    assert.equal(r.value.max_instances, 4);
    assert.deepEqual(r.value.extra, { tier: "dedicated" });
  });
  it("rejects a max_instances of 0 and a min above the max, with the field and fix", () => {
    const zero = parseComputeCluster({ name: "cpu-cluster", max_instances: 0 });
    assert.ok(!zero.ok);
    assert.deepEqual(zero.issues.map((i) => [i.field, i.message, i.fix]), [["max_instances", "max_instances is 0, must be an integer from 1 to 1000", "set max_instances to an integer from 1 to 1000"]]);
    const inverted = parseComputeCluster({ name: "cpu-cluster", min_instances: 3, max_instances: 2 });
    assert.ok(!inverted.ok);
    assert.deepEqual(inverted.issues.map((i) => [i.field, i.message, i.fix]), [["min_instances", "min_instances is 3, more than max_instances 2", "set min_instances to at most 2, or raise max_instances"]]);
  });
});

describe("parseDataAsset", () => {
  it("the corpus's unlabeled heart data: uri_folder, version 1 by default", () => {
    const r = parseDataAsset({ $schema: "x/data.schema.json", name: "heart-dataset-unlabeled", description: "d", type: "uri_folder", path: "data" });
    assert.ok(r.ok);
    assert.deepEqual(r.value, { kind: "data-asset", name: "heart-dataset-unlabeled", version: "1", type: "uri_folder", tags: {}, path: "data", description: "d", extra: {} });
  });
  it("rejects mltable, remote paths and bad versions", () => {
    const mltable = parseDataAsset({ name: "d", type: "mltable", path: "x" });
    assert.ok(!mltable.ok);
    assert.equal(mltable.issues[0]?.message, 'type is "mltable", not one of uri_folder | uri_file');
    const remote = parseDataAsset({ name: "d", path: "https://example.com/data/" });
    assert.ok(!remote.ok);
    assert.equal(remote.issues[0]?.code, "data_path_remote");
    const version = parseDataAsset({ name: "d", version: "1 beta", path: "x" });
    assert.ok(!version.ok);
    assert.equal(version.issues[0]?.field, "version");
  });
});

describe("a stack of the corpus's heart-classifier-mlflow files, unchanged", () => {
  it("loads with a cluster and a registry: model resolved, data path absolute, no diagnostics", async () => {
    const dir = heartStack({ "cluster.yml": CLUSTER });
    const corpus = path.join(corpusRoot(), HEART);
    // The files are the corpus's, byte for byte.
    assert.equal(readFileSync(path.join(dir, "deployment.yml"), "utf8"), readFileSync(path.join(corpus, "deployment-simple/deployment.yml"), "utf8"));
    assert.equal(readFileSync(path.join(dir, "endpoint.yml"), "utf8"), readFileSync(path.join(corpus, "endpoint.yml"), "utf8"));
    const stack = await loadStack(dir);
    assert.deepEqual(stack.diagnostics, []);
    assert.deepEqual(stack.batchEndpoints.map((e) => [e.name, e.auth_mode, e.default_deployment]), [["heart-classifier-batch", "aad_token", undefined]]);
    const dep = stack.batchDeployments[0];
    assert.ok(dep?.type === "model");
    assert.deepEqual(dep.model, { name: "heart-classifier-mlflow", version: "1", path: path.join(corpus, "deployment-simple/model"), type: "mlflow_model", reference: "azureml:heart-classifier-mlflow@latest" });
    assert.equal(dep.compute, "azureml:batch-cluster");
    assert.deepEqual([dep.resources.instance_count, dep.settings.max_concurrency_per_instance, dep.settings.mini_batch_size, dep.settings.retry_settings, dep.settings.error_threshold], [2, 2, 2, { max_retries: 3, timeout: 300 }, -1]);
    assert.deepEqual(stack.clusters.map((c) => [c.name, c.min_instances, c.max_instances, c.idle_time_before_scale_down, c.size]), [["batch-cluster", 0, 2, 120, "STANDARD_DS3_V2"]]);
    assert.deepEqual(stack.dataAssets, [{ kind: "data-asset", name: "heart-dataset-unlabeled", version: "1", type: "uri_folder", tags: {}, path: path.join(dir, "data"), description: "An unlabeled dataset for heart classification.", extra: {} }]);
  });
  it("@latest picks the highest registry version, :1 the first", async () => {
    const corpus = path.join(corpusRoot(), HEART);
    const dir = heartStack({ "cluster.yml": CLUSTER });
    writeFileSync(path.join(dir, "registry.yml"), `models:\n  - {name: heart-classifier-mlflow, version: 1, path: ${path.join(corpus, "deployment-custom/model")}, type: mlflow_model}\n  - {name: heart-classifier-mlflow, version: 2, path: ${path.join(corpus, "deployment-simple/model")}, type: mlflow_model}\n`);
    writeFileSync(path.join(dir, "deployment-v1.yml"), readFileSync(path.join(dir, "deployment.yml"), "utf8").replace("name: classifier-xgboost-mlflow", "name: pinned-v1").replace("@latest", ":1"));
    const stack = await loadStack(dir);
    assert.deepEqual(stack.diagnostics, []);
    const byName = Object.fromEntries(stack.batchDeployments.map((d) => [d.name, d.type === "model" ? [d.model.version, d.model.path] : []]));
    assert.deepEqual(byName, { "classifier-xgboost-mlflow": ["2", path.join(corpus, "deployment-simple/model")], "pinned-v1": ["1", path.join(corpus, "deployment-custom/model")] });
  });
  it("compute naming a cluster the stack lacks: error at the deployment's compute, naming the clusters that exist", async () => {
    const dir = heartStack({ "cluster.yml": CLUSTER.replace("name: batch-cluster", "name: cpu-cluster") });
    assert.deepEqual(await errorsOf(dir), [
      'deployment.yml:7:10: error: compute "azureml:batch-cluster" of batch deployment "classifier-xgboost-mlflow" names a cluster "batch-cluster" that is not in this stack (clusters here: cpu-cluster) (compute) - add a compute cluster YAML to the stack folder ($schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json, type: amlcompute, name: batch-cluster, max_instances: <n>), or name one that exists (clusters here: cpu-cluster)',
    ]);
  });
  it("with no cluster at all, the error says none exist", async () => {
    const errors = await errorsOf(heartStack());
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^deployment\.yml:7:10: error: .*\(clusters here: none\)/);
  });
  it("a model batch deployment without compute is an error with the fix", async () => {
    const dir = heartStack({ "cluster.yml": CLUSTER });
    writeFileSync(path.join(dir, "deployment.yml"), readFileSync(path.join(dir, "deployment.yml"), "utf8").replace("compute: azureml:batch-cluster\n", ""));
    assert.deepEqual(await errorsOf(dir), ['deployment.yml:3:7: error: batch deployment "classifier-xgboost-mlflow" names no compute cluster (name) - add compute: azureml:<cluster> (clusters here: batch-cluster)']);
  });
  it("defaults.deployment_name must name a deployment of the endpoint", async () => {
    const dir = heartStack({ "cluster.yml": CLUSTER });
    writeFileSync(path.join(dir, "endpoint.yml"), `${readFileSync(path.join(dir, "endpoint.yml"), "utf8")}\ndefaults:\n  deployment_name: classifier-xgboost-custom\n`);
    assert.deepEqual(await errorsOf(dir), [
      'endpoint.yml:6:20: error: default deployment "classifier-xgboost-custom" of endpoint "heart-classifier-batch" does not exist (defaults.deployment_name) - add a deployment "classifier-xgboost-custom" with endpoint_name: heart-classifier-batch, or name an existing one (classifier-xgboost-mlflow)',
    ]);
  });
  it("a bad mini_batch_size is an error at its line:col", async () => {
    const dir = heartStack({ "cluster.yml": CLUSTER });
    writeFileSync(path.join(dir, "deployment.yml"), readFileSync(path.join(dir, "deployment.yml"), "utf8").replace("mini_batch_size: 2", "mini_batch_size: 0"));
    assert.deepEqual(await errorsOf(dir), [
      "deployment.yml:12:20: error: settings.mini_batch_size is 0, must be an integer from 1 to 1000000 (settings.mini_batch_size) - set settings.mini_batch_size to an integer from 1 to 1000000",
    ]);
  });
  it("a cluster with max_instances 0 is an error at its line:col (and the set rules stay quiet)", async () => {
    const dir = heartStack({ "cluster.yml": CLUSTER.replace("max_instances: 2", "max_instances: 0") });
    assert.deepEqual(await errorsOf(dir), ["cluster.yml:5:16: error: max_instances is 0, must be an integer from 1 to 1000 (max_instances) - set max_instances to an integer from 1 to 1000"]);
  });
  it("two clusters of one name, and one data version twice, are errors", async () => {
    const dir = heartStack({ "cluster.yml": CLUSTER, "cluster2.yml": CLUSTER, "data2.yml": "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\nname: heart-dataset-unlabeled\npath: data\n" });
    const errors = await errorsOf(dir);
    assert.deepEqual(errors.map((e) => e.replace(/:\d+:\d+:/, ":")), [
      'cluster2.yml: error: name "batch-cluster" is used by more than one compute cluster in this stack (name) - give each one its own name',
      'heart-dataset-unlabeled.yml: error: data asset "heart-dataset-unlabeled" version "1" is defined more than once in this stack (version) - give each file its own version (or name)',
    ]);
  });
  it("a data path that is missing, or a folder given as uri_file, is an error at path", async () => {
    const missing = heartStack({ "cluster.yml": CLUSTER, "more.yml": "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\nname: more\ntype: uri_folder\npath: nowhere\n" });
    const errors = await errorsOf(missing);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^more\.yml:4:7: error: path "nowhere" does not exist \(looked for .*\/nowhere\) \(path\)/);
    const kind = heartStack({ "cluster.yml": CLUSTER, "more.yml": "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\nname: more\ntype: uri_file\npath: data\n" });
    assert.deepEqual(await errorsOf(kind), ['more.yml:4:7: error: path "data" is a folder, but type is uri_file (path) - set type: uri_folder, or point path at a file']);
  });
});
