// Batch components under Pulumi mocks: the control plane's batch part, clusters, data assets, batch
// endpoints and deployments: exact types, names, inputs, dependencies and counts; no container.
import assert from "node:assert/strict";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parseBatchDeployment, parseBatchEndpoint, parseComputeCluster, type BatchDeploymentSpec, type DataAssetSpec } from "../../../src/spec";
import { byType, descendants, DYN, installMocks, isSecret, MOCK_TOKEN, MODEL_1, one, registrations, REPO_ROOT, reveal, secretOf, settle, valueOf } from "./harness";

installMocks("bt");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const components = require("../../../components") as typeof import("../../../components");
const { BatchCluster, BatchEndpoint, ControlPlane, DataAsset, batchArgsProblems, deployBatch, validateBatchEndpointArgs } = components;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { fingerprint } = require("../../../src/providers/images/image") as typeof import("../../../src/providers/images/image");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { planServer } = require("../../../src/servers/plan") as typeof import("../../../src/servers/plan");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { localManifest, manifestDigest } = require("../../../src/datastore/manifest") as typeof import("../../../src/datastore/manifest");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseOnlineDeployment } = require("../../../src/spec") as typeof import("../../../src/spec");

const HEART = path.join(REPO_ROOT, "examples/heart-classifier-mlflow");
const ID = "1a2b3c4d";
const PREFIX = `modelplane-bt-${ID}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), "mp-batch-unit-"));
const SOCKET = path.join(tmp, "docker.sock");
writeFileSync(SOCKET, "");
const SOCKET_GID = String(statSync(SOCKET).gid);

function deployment(name: string, extra: Record<string, unknown> = {}): BatchDeploymentSpec {
  const r = parseBatchDeployment({
    $schema: "https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json",
    endpoint_name: "heart-classifier-batch",
    name,
    type: "model",
    model: { name: "heart-classifier-mlflow", version: "1", path: path.join(HEART, "model"), type: "mlflow_model" },
    compute: "azureml:cpu-cluster",
    resources: { instance_count: 2 },
    settings: { max_concurrency_per_instance: 2, mini_batch_size: 2, retry_settings: { max_retries: 3, timeout: 300 } },
    ...extra,
  });
  if (!r.ok) throw new Error(`test batch deployment is invalid: ${JSON.stringify(r.issues)}`);
  return r.value;
}
function endpoint(defaults?: string) {
  const r = parseBatchEndpoint({ name: "heart-classifier-batch", description: "heart", ...(defaults ? { defaults: { deployment_name: defaults } } : {}) });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}
function cluster(name = "cpu-cluster", max = 2) {
  const r = parseComputeCluster({ name, type: "amlcompute", max_instances: max, size: "STANDARD_DS3_v2" });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}
const custom = (): BatchDeploymentSpec =>
  deployment("custom-scoring", {
    model: { path: path.join(MODEL_1, "model") },
    code_configuration: { code: path.join(MODEL_1, "onlinescoring"), scoring_script: "score.py" },
    environment: { conda_file: path.join(MODEL_1, "environment/conda.yaml") },
    resources: { instance_count: 1 },
    settings: { mini_batch_size: 5, output_action: "summary_only", error_threshold: 3, logging_level: "debug", environment_variables: { GREETING: "hi" } },
  });

describe("validateBatchEndpointArgs", () => {
  it("accepts an endpoint whose deployments name its clusters", () => {
    assert.deepEqual(validateBatchEndpointArgs(endpoint("mlflow"), [deployment("mlflow")], ["cpu-cluster"]), []);
  });
  it("an endpoint needs a deployment, with the fix", () => {
    assert.deepEqual(validateBatchEndpointArgs(endpoint(), [], ["cpu-cluster"]), [
      'batch endpoint "heart-classifier-batch" has no deployment: add at least one batch deployment whose endpoint_name is "heart-classifier-batch" (and compute: azureml:<cluster>)',
    ]);
  });
  it("the default must be one of its deployments", () => {
    assert.deepEqual(validateBatchEndpointArgs(endpoint("other"), [deployment("mlflow")], ["cpu-cluster"]), [
      'batch endpoint "heart-classifier-batch": defaults.deployment_name "other" is not one of its deployments (mlflow): name one of them, or add that deployment',
    ]);
  });
  it("a deployment's compute must name a cluster given", () => {
    assert.deepEqual(validateBatchEndpointArgs(endpoint(), [deployment("mlflow", { compute: "azureml:gpu-cluster" })], ["cpu-cluster"]), [
      'batch deployment "mlflow": compute "azureml:gpu-cluster" names no cluster of this stack (clusters here: cpu-cluster): add an amlCompute YAML named "gpu-cluster" or fix compute',
    ]);
  });
});

describe("batchArgsProblems", () => {
  const isDir = (p: string) => p === "/srv/in" || p === "/srv/other";
  it("accepts absolute existing folders", () => {
    assert.deepEqual(batchArgsProblems({ inputRoots: ["/srv/in", "/srv/other"] }, {}, isDir), []);
  });
  it("names the entry, the key and the fix for each bad root", () => {
    assert.deepEqual(batchArgsProblems({ inputRoots: ["rel/in", "/", "/srv/missing", "/srv/a:b", "/srv/in", "/srv/in/"] }, {}, isDir), [
      'batchInputRoots entry "rel/in" is not an absolute path: give host folders such as /srv/batch-input (stack config modelplane:batchInputRoots)',
      'batchInputRoots entry "/" would let jobs read the whole host: give the folders that hold job input (stack config modelplane:batchInputRoots)',
      'batchInputRoots entry "/srv/missing" is not a folder on this host: create it or remove it from the list (stack config modelplane:batchInputRoots)',
      'batchInputRoots entry "/srv/a:b" contains ":", which separates the roots given to the server: rename or link the folder (stack config modelplane:batchInputRoots)',
      'batchInputRoots lists "/srv/in/" twice: keep one (stack config modelplane:batchInputRoots)',
    ]);
  });
  it("a tcp:// engine cannot give the server its socket", () => {
    assert.deepEqual(batchArgsProblems({}, { DOCKER_HOST: "tcp://10.0.0.1:2375" }, isDir), [
      'DOCKER_HOST is "tcp://10.0.0.1:2375": the control plane starts batch workers through the engine\'s unix socket; point DOCKER_HOST at it (unix:///var/run/docker.sock) or run the stack against a local engine',
    ]);
  });
});

describe("ControlPlane with and without batch (Pulumi mocks)", () => {
  before(async () => {
    new ControlPlane("plain", { stack: "bt", stackId: ID, gatewayPort: 28080, managementPort: 28081 });
    new ControlPlane("cp", { stack: "bt", stackId: ID, gatewayPort: 18080, managementPort: 18081, batch: { inputRoots: [tmp], dockerSocket: SOCKET } });
    await settle();
  });
  it("without batch: no datastore volume, and the server has no binds, groups or batch env", () => {
    assert.equal(registrations.filter((r) => r.name === "plain-datastore").length, 0);
    const s = reveal(one(`${DYN}modelplane:DockerContainer`, "plain-server").inputs) as Record<string, unknown>;
    assert.equal("binds" in s, false);
    assert.equal("groupAdd" in s, false);
    assert.deepEqual(Object.keys(s.env as object).sort(), ["MODELPLANE_MANAGEMENT_TOKEN", "MODELPLANE_PUBLIC_URL", "MODELPLANE_STACK", "MODELPLANE_STACK_ID"]);
    assert.deepEqual(s.volumes, { [`${PREFIX}-state`]: "/data" });
  });
  it("with batch: a datastore volume named like the state volume, with the same labels", () => {
    const state = one(`${DYN}modelplane:DockerVolume`, "cp-state");
    const ds = one(`${DYN}modelplane:DockerVolume`, "cp-datastore");
    assert.deepEqual(ds.inputs, { name: `${PREFIX}-datastore`, labels: state.inputs.labels });
    assert.equal(state.inputs.name, `${PREFIX}-state`);
    assert.equal(ds.parent, one("modelplane:index:ControlPlane", "cp").urn);
  });
  it("with batch: the server gets the datastore, the socket (rw) and its group, the roots read-only, and the batch env", () => {
    const s = one(`${DYN}modelplane:DockerContainer`, "cp-server");
    const inputs = reveal(s.inputs) as Record<string, unknown>;
    assert.deepEqual(inputs.volumes, { [`${PREFIX}-state`]: "/data", [`${PREFIX}-datastore`]: "/datastore" });
    assert.deepEqual(inputs.binds, [
      { source: SOCKET, target: "/var/run/docker.sock", readOnly: false },
      { source: tmp, target: tmp, readOnly: true },
    ]);
    assert.deepEqual(inputs.groupAdd, [SOCKET_GID]);
    assert.deepEqual(inputs.env, {
      MODELPLANE_MANAGEMENT_TOKEN: MOCK_TOKEN,
      MODELPLANE_STACK: "bt",
      MODELPLANE_PUBLIC_URL: "http://127.0.0.1:18080",
      MODELPLANE_STACK_ID: ID,
      MODELPLANE_NETWORK: PREFIX,
      MODELPLANE_DATASTORE_VOLUME: `${PREFIX}-datastore`,
      MODELPLANE_DATASTORE_DIR: "/datastore",
      MODELPLANE_BATCH_DRIVER_DIR: path.join(REPO_ROOT, "templates/batch"),
      MODELPLANE_IMAGE_PREFIX: `${PREFIX}/`,
      MODELPLANE_INPUT_ROOTS: tmp,
    });
    assert.equal(isSecret(s.inputs.env), true);
    assert.ok(s.dependencies.includes(one(`${DYN}modelplane:DockerVolume`, "cp-datastore").urn));
  });
  it("bad input roots stop the control plane before any child is registered", async () => {
    const count = registrations.length;
    assert.throws(() => new ControlPlane("bad", { stack: "bt", gatewayPort: 38080, managementPort: 38081, batch: { inputRoots: ["relative"], dockerSocket: SOCKET } }), /batchInputRoots entry "relative" is not an absolute path/);
    await settle();
    assert.deepEqual(registrations.slice(count).map((r) => r.name), ["bad"]);
  });
});

describe("BatchCluster, DataAsset and BatchEndpoint (Pulumi mocks)", () => {
  let ep: InstanceType<typeof BatchEndpoint>;
  const mlflow = deployment("classifier-xgboost-mlflow");
  const scoring = custom();
  const data: DataAssetSpec = { kind: "data-asset", name: "heart-dataset-unlabeled", version: "1", type: "uri_folder", tags: {}, path: path.join(HEART, "data"), extra: {} };
  let digest = "";
  before(async () => {
    digest = manifestDigest(await localManifest(data.path));
    const cp = new ControlPlane("bcp", { stack: "bt", stackId: ID, gatewayPort: 18090, managementPort: 18091, batch: { dockerSocket: SOCKET } });
    const c = new BatchCluster("main-cluster", { controlPlane: cp, spec: cluster() });
    new BatchCluster("cluster-spare", { controlPlane: cp, spec: cluster("spare", 1) });
    new DataAsset("data-heart", { controlPlane: cp, spec: data });
    ep = new BatchEndpoint("heart-classifier-batch", { controlPlane: cp, spec: endpoint("classifier-xgboost-mlflow"), deployments: [mlflow, scoring], clusters: [c] });
    await settle();
  });
  const inEndpoint = () => descendants(one("modelplane:index:BatchEndpoint", "heart-classifier-batch").urn);

  it("the endpoint: 1 registration, 2 deployments (image + registration each), 1 Defaults, and no container", () => {
    const counts: Record<string, number> = {};
    for (const r of inEndpoint()) counts[r.type] = (counts[r.type] ?? 0) + 1;
    assert.deepEqual(counts, {
      "modelplane:index:BatchEndpoint": 1,
      "modelplane:index:BatchDeployment": 2,
      [`${DYN}modelplane:BatchEndpoint`]: 1,
      [`${DYN}modelplane:BatchDeployment`]: 2,
      [`${DYN}modelplane:Image`]: 2,
      [`${DYN}modelplane:Defaults`]: 1,
    });
    assert.deepEqual(inEndpoint().map((r) => r.name).sort(), [
      "heart-classifier-batch", "heart-classifier-batch-classifier-xgboost-mlflow", "heart-classifier-batch-classifier-xgboost-mlflow-image", "heart-classifier-batch-classifier-xgboost-mlflow-registration",
      "heart-classifier-batch-custom-scoring", "heart-classifier-batch-custom-scoring-image", "heart-classifier-batch-custom-scoring-registration",
      "heart-classifier-batch-defaults", "heart-classifier-batch-endpoint",
    ].sort());
    // The only containers of the whole program are the control planes' servers.
    assert.deepEqual(byType(`${DYN}modelplane:DockerContainer`).map((r) => r.name).sort(), ["bcp-server", "cp-server", "plain-server"]);
  });
  it("clusters: one Cluster each, the spec's bounds, depending on the server", () => {
    const c = one(`${DYN}modelplane:Cluster`, "main-cluster-cluster");
    assert.deepEqual(reveal(c.inputs), { managementUrl: "http://127.0.0.1:18091", managementToken: MOCK_TOKEN, name: "cpu-cluster", min_instances: 0, max_instances: 2, idle_time_before_scale_down: 120, size: "STANDARD_DS3_v2" });
    assert.equal(isSecret(c.inputs.managementToken), true);
    assert.ok(c.dependencies.includes(one(`${DYN}modelplane:DockerContainer`, "bcp-server").urn));
    assert.equal(one(`${DYN}modelplane:Cluster`, "cluster-spare-cluster").inputs.max_instances, 1);
    assert.equal(one("modelplane:index:BatchCluster", "main-cluster").parent, "");
  });
  it("data asset: name, version, type, the absolute folder and the digest of its files", () => {
    const d = one(`${DYN}modelplane:DataAsset`, "data-heart-data");
    assert.deepEqual(reveal(d.inputs), { managementUrl: "http://127.0.0.1:18091", managementToken: MOCK_TOKEN, name: "heart-dataset-unlabeled", version: "1", type: "uri_folder", localPath: path.join(HEART, "data"), contentDigest: digest });
    assert.match(digest, /^[0-9a-f]{64}$/);
  });
  it("images: built exactly as an online deployment of the same model (MLflow server; custom server with the conda file)", () => {
    const online = (extra: Record<string, unknown>) => {
      const r = parseOnlineDeployment({ name: "x-online", endpoint_name: "e-online", instance_count: 1, ...extra });
      assert.ok(r.ok);
      const p = planServer(r.value);
      assert.ok(p.ok);
      return p.plan.image;
    };
    const mlflowImage = online({ model: { path: path.join(HEART, "model"), type: "mlflow_model" } });
    assert.deepEqual(one(`${DYN}modelplane:Image`, "heart-classifier-batch-classifier-xgboost-mlflow-image").inputs, {
      kind: "mlflow-server",
      baseImage: "modelplane/base:bookworm",
      condaFile: path.join(HEART, "model/conda.yaml"),
      fingerprint: fingerprint(mlflowImage.fingerprintPaths, ["modelplane/base:bookworm"]),
      stackRepository: `${PREFIX}/mlflow-server-heart-classifier-batch-classifier-xgboost-mlflow`,
    });
    const customImage = online({ model: { path: path.join(MODEL_1, "model") }, code_configuration: { code: path.join(MODEL_1, "onlinescoring"), scoring_script: "score.py" }, environment: { conda_file: path.join(MODEL_1, "environment/conda.yaml") } });
    assert.deepEqual(one(`${DYN}modelplane:Image`, "heart-classifier-batch-custom-scoring-image").inputs, {
      kind: "custom-server",
      baseImage: "modelplane/base:bookworm",
      condaFile: path.join(MODEL_1, "environment/conda.yaml"),
      fingerprint: fingerprint(customImage.fingerprintPaths, ["modelplane/base:bookworm"]),
      stackRepository: `${PREFIX}/custom-server-heart-classifier-batch-custom-scoring`,
    });
  });
  it("registrations: image, cluster, mounts, settings and env, in the management API's shape", () => {
    const image = (n: string) => `${String(one(`${DYN}modelplane:Image`, n).inputs.stackRepository)}:${String(one(`${DYN}modelplane:Image`, n).inputs.fingerprint).slice(0, 12)}`;
    // Both deployments register with the same API, on the same endpoint and cluster.
    const shared = { managementUrl: "http://127.0.0.1:18091", managementToken: MOCK_TOKEN, endpointName: "heart-classifier-batch", cluster: "cpu-cluster" };
    const m = one(`${DYN}modelplane:BatchDeployment`, "heart-classifier-batch-classifier-xgboost-mlflow-registration");
    const modelDir = "/var/azureml-app/azureml-models/heart-classifier-mlflow/1";
    assert.deepEqual(reveal(m.inputs), {
      ...shared,
      name: "classifier-xgboost-mlflow",
      image: image("heart-classifier-batch-classifier-xgboost-mlflow-image"),
      model_server: "mlflow",
      model_dir: modelDir,
      binds: [{ source: path.join(HEART, "model"), target: `${modelDir}/model` }],
      instance_count: 2,
      settings: { max_concurrency_per_instance: 2, mini_batch_size: 2, output_action: "append_row", output_file_name: "predictions.csv", retry_settings: { max_retries: 3, timeout: 300 }, error_threshold: -1, logging_level: "info", environment_variables: {} },
      environment_variables: { MLFLOW_MODEL_DIR: `${modelDir}/model`, AZUREML_MODEL_DIR: modelDir },
      spec: { model: "heart-classifier-mlflow", model_version: "1", tags: {}, content_hash: fingerprint([path.join(HEART, "model")]).slice(0, 12) },
    });
    assert.deepEqual(m.additionalSecretOutputs, ["managementToken"]);
    const c = one(`${DYN}modelplane:BatchDeployment`, "heart-classifier-batch-custom-scoring-registration");
    const customDir = "/var/azureml-app/azureml-models/custom-scoring/1";
    assert.deepEqual(reveal(c.inputs), {
      ...shared,
      name: "custom-scoring",
      image: image("heart-classifier-batch-custom-scoring-image"),
      model_server: "custom",
      model_dir: customDir,
      code_dir: "/var/azureml-app/code",
      scoring_script: "score.py",
      binds: [
        { source: path.join(MODEL_1, "onlinescoring"), target: "/var/azureml-app/code" },
        { source: path.join(MODEL_1, "model"), target: `${customDir}/model` },
      ],
      instance_count: 1,
      settings: { max_concurrency_per_instance: 1, mini_batch_size: 5, output_action: "summary_only", output_file_name: "predictions.csv", retry_settings: { max_retries: 3, timeout: 30 }, error_threshold: 3, logging_level: "debug", environment_variables: { GREETING: "hi" } },
      environment_variables: { AZUREML_ENTRY_SCRIPT: "code/score.py", AZUREML_MODEL_DIR: customDir },
      spec: { model: "model", tags: {}, content_hash: fingerprint([path.join(MODEL_1, "onlinescoring"), path.join(MODEL_1, "model")]).slice(0, 12) },
    });
    // Each registration waits for the server and for its cluster's registration.
    for (const r of [m, c]) {
      assert.ok(r.dependencies.includes(one(`${DYN}modelplane:DockerContainer`, "bcp-server").urn));
      assert.ok(r.dependencies.includes(one(`${DYN}modelplane:Cluster`, "main-cluster-cluster").urn));
      assert.ok(r.dependencies.includes(one(`${DYN}modelplane:BatchEndpoint`, "heart-classifier-batch-endpoint").urn));
    }
  });
  it("endpoint registration: batch, token auth, description; Defaults names the default and waits for every deployment", () => {
    const e = one(`${DYN}modelplane:BatchEndpoint`, "heart-classifier-batch-endpoint");
    assert.deepEqual(reveal(e.inputs), { managementUrl: "http://127.0.0.1:18091", managementToken: MOCK_TOKEN, name: "heart-classifier-batch", auth_mode: "aad_token", description: "heart", tags: {} });
    assert.deepEqual(e.additionalSecretOutputs, ["primaryKey", "secondaryKey", "managementToken"]);
    const d = one(`${DYN}modelplane:Defaults`, "heart-classifier-batch-defaults");
    assert.deepEqual(reveal(d.inputs), { managementUrl: "http://127.0.0.1:18091", managementToken: MOCK_TOKEN, endpointName: "heart-classifier-batch", deployment_name: "classifier-xgboost-mlflow" });
    for (const n of ["heart-classifier-batch-classifier-xgboost-mlflow-registration", "heart-classifier-batch-custom-scoring-registration"]) {
      assert.ok(d.dependencies.includes(one(`${DYN}modelplane:BatchDeployment`, n).urn), n);
    }
  });
  it("outputs: the invocation URI on the gateway, the default, secret keys", async () => {
    assert.equal(await valueOf(ep.invocationUri), "http://127.0.0.1:18090/endpoints/heart-classifier-batch/jobs");
    assert.equal(ep.defaultDeployment, "classifier-xgboost-mlflow");
    assert.equal(await valueOf(ep.primaryKey), "batch-primary-key-0123");
    assert.equal(await secretOf(ep.primaryKey), true);
  });
  it("without defaults, the first deployment given is the default", async () => {
    const cp = new ControlPlane("dcp", { stack: "bt", stackId: ID, gatewayPort: 18092, managementPort: 18093, batch: { dockerSocket: SOCKET } });
    const out = deployBatch(cp, { batchEndpoints: [{ ...endpoint(), name: "second-endpoint" }], batchDeployments: [{ ...scoring, endpoint_name: "second-endpoint" }, { ...mlflow, endpoint_name: "second-endpoint" }], clusters: [cluster("cpu-cluster")], dataAssets: [] });
    await settle();
    assert.equal(one(`${DYN}modelplane:Defaults`, "second-endpoint-defaults").inputs.deployment_name, "custom-scoring");
    assert.equal(out.endpoints["second-endpoint"]!.defaultDeployment, "custom-scoring");
    assert.equal(await valueOf(out.endpoints["second-endpoint"]!.invocationUri), "http://127.0.0.1:18092/endpoints/second-endpoint/jobs");
  });
  it("a pipeline deployment, or one whose compute names no given cluster, throws before its children", async () => {
    const cp = new ControlPlane("ecp", { stack: "bt", stackId: ID, gatewayPort: 18094, managementPort: 18095, batch: { dockerSocket: SOCKET } });
    const c = new BatchCluster("cluster-e", { controlPlane: cp, spec: cluster("other-cluster") });
    assert.throws(() => new BatchEndpoint("e-endpoint", { controlPlane: cp, spec: { ...endpoint(), name: "e-endpoint" }, deployments: [{ ...mlflow, endpoint_name: "e-endpoint" }], clusters: [c] }), /compute "azureml:cpu-cluster" names no cluster of this stack \(clusters here: other-cluster\)/);
    await settle();
    assert.equal(registrations.filter((r) => r.name.startsWith("e-endpoint-")).length, 0);
  });
});
