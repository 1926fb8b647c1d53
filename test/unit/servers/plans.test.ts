import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { OnlineDeploymentSpec } from "../../../src/spec";
import { planServer, type ServerPlan } from "../../../src/servers/plan";
import { decodeByocSource, encodeByocSource } from "../../../src/images/byoc";
import { mlflowRequirementsFile, splitMlflowRequirement } from "../../../src/images/mlflow-server";
import { tritonModels } from "../../../src/servers/triton";
import { corpusRoot } from "../../conformance-corpus";

const root = path.resolve(__dirname, "../../..");
const DIABETES = path.join(corpusRoot(), "cli/endpoints/online/ncd/sklearn-diabetes/model");
const TRITON_REPO = path.join(root, "examples/triton/models");
const BYOC = path.join(root, "examples/byoc");

function spec(over: Partial<OnlineDeploymentSpec>): OnlineDeploymentSpec {
  const probe = { initial_delay: 10, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 30 };
  return {
    kind: "online-deployment",
    name: "blue",
    endpoint_name: "ep",
    instance_count: 1,
    request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 },
    liveness_probe: probe,
    readiness_probe: probe,
    environment_variables: {},
    deployment_kind: "managed",
    tags: {},
    extra: {},
    ...over,
  } as OnlineDeploymentSpec;
}

function ok(s: OnlineDeploymentSpec): ServerPlan {
  const r = planServer(s);
  assert.ok(r.ok, r.ok ? "" : r.problems.join("\n"));
  return r.plan;
}

function problems(s: OnlineDeploymentSpec): string[] {
  const r = planServer(s);
  assert.equal(r.ok, false, "expected the plan to be refused");
  return r.ok ? [] : r.problems;
}

describe("planServer: mlflow_model", () => {
  test("serves the MLmodel folder with MLflow's scoring server on 5001, model read-only at Azure's path", () => {
    const p = ok(spec({ model: { type: "mlflow_model", name: "sklearn-diabetes", version: "3", path: DIABETES } }));
    const target = "/var/azureml-app/azureml-models/sklearn-diabetes/3/model";
    assert.deepEqual(p.image.kind, "mlflow-server");
    assert.equal(p.image.condaFile, path.join(DIABETES, "conda.yaml"), "MLmodel's python_function.env wins");
    assert.ok(p.image.fingerprintPaths.includes(path.join(DIABETES, "conda.yaml")));
    assert.equal(p.port, 5001);
    assert.deepEqual(p.binds, [{ source: DIABETES, target, readOnly: true }]);
    assert.deepEqual(p.env, { MLFLOW_MODEL_DIR: target, AZUREML_MODEL_DIR: "/var/azureml-app/azureml-models/sklearn-diabetes/3" });
    assert.deepEqual(p.routes, { scoring: "/score", readiness: "/ping", liveness: "/health" });
    assert.equal(p.modelServer, "mlflow");
    assert.deepEqual(p.contentPaths, [DIABETES]);
  });

  test("refuses a folder without MLmodel, a missing path and code_configuration", () => {
    assert.match(problems(spec({ model: { type: "mlflow_model", path: TRITON_REPO } })).join(), /no MLmodel file/);
    assert.match(problems(spec({ model: { type: "mlflow_model" } })).join(), /model\.path is required/);
    assert.match(problems(spec({ model: { type: "mlflow_model", path: DIABETES }, code_configuration: { code: "/x", scoring_script: "s.py" } })).join(), /without code/);
  });

  test("requirements: mlflow pins pick the server version; unpinned mlflow and Azure serving packages are dropped", () => {
    const r = splitMlflowRequirement(["mlflow", "scikit-learn==1.7.0", "azureml-inference-server-http", "azureml-ai-monitoring", "mlflow-skinny==2.22.0", "mlflow-tracing==1.0"]);
    assert.deepEqual(r.requirements, ["scikit-learn==1.7.0", "mlflow-tracing==1.0"]);
    assert.equal(r.mlflowVersion, "2.22.0");
    assert.deepEqual(splitMlflowRequirement(["mlflow>=2"]).dropped, ["mlflow>=2"]);
    assert.equal(splitMlflowRequirement(["mlflow<3"]).mlflowVersion, undefined);
    assert.equal(mlflowRequirementsFile(TRITON_REPO), undefined);
  });
});

describe("planServer: triton_model", () => {
  test("tritonserver on 8000 serving the mounted repository; /score is the OIP infer call of its model", () => {
    const p = ok(spec({ model: { type: "triton_model", name: "add-sub", version: "1", path: TRITON_REPO } }));
    const target = "/var/azureml-app/azureml-models/add-sub/1/models";
    assert.equal(p.image.kind, "triton-server");
    assert.equal(p.image.condaFile, undefined);
    assert.equal(p.port, 8000);
    assert.deepEqual(p.binds, [{ source: TRITON_REPO, target, readOnly: true }]);
    assert.deepEqual(p.env, { MODEL_REPOSITORY: target, AZUREML_MODEL_DIR: "/var/azureml-app/azureml-models/add-sub/1" });
    assert.deepEqual(p.routes, { scoring: "/v2/models/add_sub/infer", readiness: "/v2/health/ready", liveness: "/v2/health/live" });
    assert.equal(p.modelServer, "tritonserver");
    assert.deepEqual(p.contentPaths, [TRITON_REPO]);
    assert.deepEqual(tritonModels(TRITON_REPO), ["add_sub"]);
  });

  test("refuses a folder that is not a model repository", () => {
    assert.match(problems(spec({ model: { type: "triton_model", path: DIABETES } })).join(), /not a Triton model repository/);
    assert.match(problems(spec({ model: { type: "triton_model" } })).join(), /model\.path is required/);
  });
});

describe("planServer: bring your own container", () => {
  const ic = { liveness_route: { port: 8080, path: "/healthz" }, readiness_route: { port: 8080, path: "/ready" }, scoring_route: { port: 8080, path: "/predict" } };

  test("a build context: routes and port from inference_config, model mounted read-only", () => {
    const ctx = path.join(BYOC, "container");
    const p = ok(spec({ model: { type: "custom_model", name: "w", version: "2", path: path.join(BYOC, "model") }, environment: { build: { path: ctx }, inference_config: ic } }));
    assert.equal(p.image.kind, "byoc");
    assert.equal(p.image.source, `build:${ctx}`);
    assert.deepEqual(p.image.fingerprintPaths, [ctx]);
    assert.equal(p.port, 8080);
    assert.deepEqual(p.routes, { scoring: "/predict", readiness: "/ready", liveness: "/healthz" });
    assert.deepEqual(p.binds, [{ source: path.join(BYOC, "model"), target: "/var/azureml-app/azureml-models/w/2/model", readOnly: true }]);
    assert.deepEqual(p.env, { AZUREML_MODEL_DIR: "/var/azureml-app/azureml-models/w/2" });
    assert.equal(p.modelServer, "custom-container");
  });

  test("an image reference, no model: nothing mounted, the reference is the identity", () => {
    const p = ok(spec({ environment: { image: "example/scorer:1", inference_config: ic } }));
    assert.equal(p.image.source, "image:example/scorer:1");
    assert.deepEqual(p.image.fingerprintPaths, []);
    assert.deepEqual(p.image.extra, ["image:example/scorer:1"]);
    assert.deepEqual(p.binds, []);
    assert.deepEqual(p.env, {});
    assert.deepEqual(p.contentPaths, []);
  });

  test("refuses missing routes, split ports, no image, and inference_config on mlflow/triton models", () => {
    assert.match(problems(spec({ environment: { image: "x:1", inference_config: { scoring_route: ic.scoring_route } } })).join("\n"), /liveness_route is required[\s\S]*readiness_route is required/);
    assert.match(problems(spec({ environment: { image: "x:1", inference_config: { ...ic, liveness_route: { port: 8081, path: "/h" } } } })).join(), /one port/);
    assert.match(problems(spec({ environment: { inference_config: ic } })).join(), /set environment\.image, or environment\.build\.path/);
    assert.match(problems(spec({ model: { type: "mlflow_model", path: DIABETES }, environment: { image: "x:1", inference_config: ic } })).join(), /goes with model\.type custom_model/);
  });

  test("source encoding round-trips", () => {
    for (const s of [{ image: "a/b:1" }, { context: "/x/y" }, { context: "/x/y", dockerfile: "docker/Dockerfile.cpu" }]) assert.deepEqual(decodeByocSource(encodeByocSource(s)), s);
  });
});

describe("planServer: custom_model unchanged", () => {
  test("a scoring script still gets the custom server", () => {
    const p = ok(spec({ model: { type: "custom_model", path: path.join(root, "examples/model-1/model") }, code_configuration: { code: path.join(root, "examples/model-1/onlinescoring"), scoring_script: "score.py" } }));
    assert.equal(p.image.kind, "custom-server");
    assert.equal(p.routes.scoring, "/score");
  });
});
