import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { deploymentSpec, descendants, DYN, installMocks, MODEL_1, one, PROBE_BIN, registrations, reveal, settle, valueOf } from "./harness";

installMocks("dev");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ControlPlane, OnlineDeployment } = require("../../../components") as typeof import("../../../components");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { planServer } = require("../../../src/servers/plan") as typeof import("../../../src/servers/plan");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { planCustomServer, modelMount, APP_ROOT } = require("../../../src/servers/custom") as typeof import("../../../src/servers/custom");

const DEP = "modelplane:index:OnlineDeployment";
const TEMPLATE = path.resolve(__dirname, "../../../templates/servers/custom");
const CODE = path.join(MODEL_1, "onlinescoring");
const MODEL = path.join(MODEL_1, "model");
const CONDA = path.join(MODEL_1, "environment/conda.yaml");

describe("planServer / planCustomServer", () => {
  it("plans the custom scoring server for a custom_model with code", () => {
    const spec = deploymentSpec("blue", "my-ep", 1, { model: { path: MODEL, name: "sklearn", version: "3" } });
    const r = planServer(spec);
    assert.deepEqual(r, {
      ok: true,
      plan: {
        image: { kind: "custom-server", condaFile: CONDA, fingerprintPaths: [TEMPLATE, CONDA] },
        port: 5001,
        binds: [
          { source: CODE, target: "/var/azureml-app/code", readOnly: true },
          { source: MODEL, target: "/var/azureml-app/azureml-models/sklearn/3/model", readOnly: true },
        ],
        env: { AZUREML_ENTRY_SCRIPT: "code/score.py", AZUREML_MODEL_DIR: "/var/azureml-app/azureml-models/sklearn/3" },
        routes: { scoring: "/score", readiness: "/", liveness: "/", swagger: "/swagger.json" },
        modelServer: "azureml-inference-server-http",
        contentPaths: [CODE, MODEL],
      },
    });
    assert.deepEqual(planCustomServer(spec), r);
  });
  it("model dir falls back to the deployment name and version 1; no conda file means no conda in the image", () => {
    const spec = deploymentSpec("blue", "my-ep", 1, { environment: { image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest" } });
    assert.equal(APP_ROOT, "/var/azureml-app");
    assert.deepEqual(modelMount(spec), { modelDir: "/var/azureml-app/azureml-models/blue/1", target: "/var/azureml-app/azureml-models/blue/1/model" });
    const r = planServer(spec);
    assert.equal(r.ok, true);
    if (r.ok) assert.deepEqual(r.plan.image, { kind: "custom-server", condaFile: undefined, fingerprintPaths: [TEMPLATE] });
  });
  it("code_configuration and model.path are required, each with its fix", () => {
    const spec = deploymentSpec("blue", "my-ep", 1);
    delete spec.code_configuration;
    delete spec.model;
    assert.deepEqual(planServer(spec), {
      ok: false,
      problems: [
        'deployment "blue": code_configuration is required for a custom_model (add code: <folder> and scoring_script: score.py)',
        'deployment "blue": model.path is required on the docker target (a local folder or file)',
      ],
    });
  });
  it("inference_config goes only with a custom_model", () => {
    const byoc = deploymentSpec("blue", "my-ep", 1);
    byoc.model = { ...byoc.model!, type: "mlflow_model" } as typeof byoc.model;
    byoc.environment = { ...byoc.environment!, inference_config: { liveness_route: { path: "/", port: 8080 } } } as unknown as typeof byoc.environment;
    assert.deepEqual(planServer(byoc), {
      ok: false,
      problems: ['deployment "blue": environment.inference_config (a custom container) goes with model.type custom_model, not "mlflow_model"; remove inference_config to use the MLflow server'],
    });
  });
});

describe("OnlineDeployment (Pulumi mocks), standalone", () => {
  let dep: InstanceType<typeof OnlineDeployment>;
  before(async () => {
    const cp = new ControlPlane("cp", { stack: "dev", gatewayPort: 18080, managementPort: 18081 });
    const spec = deploymentSpec("blue", "my-endpoint", 3, {
      model: { path: MODEL, name: "sklearn", version: "2" },
      environment_variables: { A: "1", AZUREML_ENTRY_SCRIPT: "overridden-by-plan" },
      readiness_probe: { initial_delay: 1, period: 2, timeout: 3, success_threshold: 1, failure_threshold: 4 },
      liveness_probe: { initial_delay: 5, period: 7, timeout: 4, success_threshold: 1, failure_threshold: 6 },
      tags: { team: "ml" },
    });
    dep = new OnlineDeployment("d", { controlPlane: cp, endpointName: "my-endpoint", spec, baseImage: "example/base:2" });
    await settle();
  });
  it("registers exactly: the component, 1 Image, instance_count containers, 1 Deployment", () => {
    assert.deepEqual(
      descendants(one(DEP, "d").urn).map((r) => [r.type, r.name]),
      [
        [DEP, "d"],
        [`${DYN}modelplane:Image`, "d-image"],
        [`${DYN}modelplane:DockerContainer`, "d-0"],
        [`${DYN}modelplane:DockerContainer`, "d-1"],
        [`${DYN}modelplane:DockerContainer`, "d-2"],
        [`${DYN}modelplane:Deployment`, "d-registration"],
      ],
    );
  });
  it("image builds FROM the given base image", () => {
    const i = one(`${DYN}modelplane:Image`, "d-image");
    assert.equal(i.inputs.baseImage, "example/base:2");
    // One stack repository per deployment: deleting one deployment's image never untags another's.
    assert.equal(i.inputs.stackRepository, "modelplane-dev/custom-server-d");
  });
  it("containers: the plan's env wins over environment_variables; model mounted under its name/version", () => {
    for (let i = 0; i < 3; i++) {
      const c = one(`${DYN}modelplane:DockerContainer`, `d-${i}`);
      assert.equal(c.inputs.name, `modelplane-dev-my-endpoint-blue-${i}`);
      const env = c.inputs.env as Record<string, string>;
      assert.deepEqual(Object.keys(env).sort(), ["A", "AZUREML_ENTRY_SCRIPT", "AZUREML_MODEL_DIR", "MODELPLANE_CONTENT_HASH"]);
      assert.equal(env.A, "1");
      assert.equal(env.AZUREML_ENTRY_SCRIPT, "code/score.py");
      assert.equal(env.AZUREML_MODEL_DIR, "/var/azureml-app/azureml-models/sklearn/2");
      assert.match(env.MODELPLANE_CONTENT_HASH!, /^[0-9a-f]{12}$/);
      assert.deepEqual((c.inputs.binds as { target: string }[]).map((b) => b.target), ["/var/azureml-app/code", "/var/azureml-app/azureml-models/sklearn/2/model", "/opt/modelplane/bin/modelplane-probe"]);
    }
  });
  it("containers: liveness_probe is a Docker health check running the probe (mounted read-only) against the liveness route", () => {
    for (let i = 0; i < 3; i++) {
      const c = one(`${DYN}modelplane:DockerContainer`, `d-${i}`);
      assert.deepEqual(c.inputs.healthcheck, {
        test: ["/opt/modelplane/bin/modelplane-probe", "--url", "http://127.0.0.1:5001/", "--timeout", "4s", "--failures", "6", "--initial-delay", "5s", "--state", "/tmp/.modelplane-liveness"],
        intervalS: 7,
        timeoutS: 5,
        retries: 6,
        startPeriodS: 5,
      });
      assert.deepEqual((c.inputs.binds as unknown[]).at(-1), { source: PROBE_BIN, target: "/opt/modelplane/bin/modelplane-probe", readOnly: true });
    }
  });
  it("registration: probes and tags from the spec, model name and version, image tag, 3 instances", () => {
    const r = reveal(one(`${DYN}modelplane:Deployment`, "d-registration").inputs) as Record<string, unknown>;
    assert.deepEqual(r.readiness_probe, { initial_delay: 1, period: 2, timeout: 3, success_threshold: 1, failure_threshold: 4 });
    const img = reveal(one(`${DYN}modelplane:Image`, "d-image").inputs) as { stackRepository: string; fingerprint: string };
    assert.equal(img.stackRepository, "modelplane-dev/custom-server-d");
    assert.deepEqual(r.spec, { model: "sklearn", model_version: "2", instance_type: "Standard_DS3_v2", instance_count: 3, tags: { team: "ml" }, image: `${img.stackRepository}:${img.fingerprint.slice(0, 12)}` });
    assert.deepEqual((r.instances as { id: string }[]).map((x) => x.id), ["blue-0", "blue-1", "blue-2"]);
  });
  it("outputs", async () => {
    assert.equal(dep.deploymentName, "blue");
    assert.equal(await valueOf(dep.provisioningState), "Succeeded");
    assert.deepEqual((await valueOf(dep.containerNames)).map((n) => n.replace(/-[0-9a-f]{8}$/, "")), ["modelplane-dev-my-endpoint-blue-0", "modelplane-dev-my-endpoint-blue-1", "modelplane-dev-my-endpoint-blue-2"]);
  });
  it("a spec the docker target cannot serve throws and registers no child", async () => {
    const cp = new ControlPlane("cp-y", { stack: "y", gatewayPort: 19080, managementPort: 19081 });
    const spec = deploymentSpec("blue", "my-endpoint", 1);
    delete spec.code_configuration;
    const before = registrations.length;
    assert.throws(() => new OnlineDeployment("nocode", { controlPlane: cp, endpointName: "my-endpoint", spec }), /code_configuration is required/);
    await settle();
    assert.deepEqual(registrations.slice(before).filter((r) => r.name.startsWith("nocode")).map((r) => r.name), ["nocode"]);
  });  it("without the liveness probe binary the deployment fails naming the fix, and registers no child", async () => {
    const cp = new ControlPlane("cp-z", { stack: "z", gatewayPort: 19180, managementPort: 19181 });
    const spec = deploymentSpec("blue", "my-endpoint", 1);
    const before = registrations.length;
    process.env.MODELPLANE_PROBE_BIN = "/nonexistent/modelplane-probe";
    try {
      assert.throws(() => new OnlineDeployment("noprobe", { controlPlane: cp, endpointName: "my-endpoint", spec }), {
        message: 'deployment "blue": the liveness probe binary /nonexistent/modelplane-probe is missing (it is built from tools/liveness-probe by set-up); run `bash scripts/setup.sh` or fix MODELPLANE_PROBE_BIN',
      });
    } finally {
      process.env.MODELPLANE_PROBE_BIN = PROBE_BIN;
    }
    await settle();
    assert.deepEqual(registrations.slice(before).filter((r) => r.name.startsWith("noprobe")).map((r) => r.name), ["noprobe"]);
  });
});

describe("OnlineDeployment (Pulumi mocks): GPUs and the Triton image", () => {
  const TRITON = path.resolve(__dirname, "../../../examples/triton/models");
  const OFFICIAL = { layout: "official", image: "127.0.0.1:5000/nvidia/tritonserver:24.10-py3", imageId: "sha256:0123456789abcdef", reason: "test" } as const;
  const container = (n: string) => reveal(one(`${DYN}modelplane:DockerContainer`, n).inputs) as Record<string, unknown>;
  const warnings: string[] = [];
  before(async () => {
    const warn = pulumi.log.warn;
    pulumi.log.warn = (msg: string, ...rest: Parameters<typeof warn> extends [string, ...infer R] ? R : never) => {
      warnings.push(msg);
      return warn(msg, ...rest);
    };
    const cp = new ControlPlane("cp-gpu", { stack: "gpu", gatewayPort: 20080, managementPort: 20081 });
    new OnlineDeployment("gpu-pass", { controlPlane: cp, endpointName: "gpu-ep", spec: deploymentSpec("gpu-one", "gpu-ep", 2, { instance_type: "Standard_NC12s_v3" }), gpus: "passthrough" });
    new OnlineDeployment("gpu-off", { controlPlane: cp, endpointName: "gpu-ep", spec: deploymentSpec("gpu-two", "gpu-ep", 1, { instance_type: "Standard_NC12s_v3" }), gpus: "off" });
    new OnlineDeployment("cpu-pass", { controlPlane: cp, endpointName: "gpu-ep", spec: deploymentSpec("cpu-one", "gpu-ep", 1), gpus: "passthrough" });
    const triton = (n: string) => deploymentSpec(n, "gpu-ep", 1, { model: { path: TRITON, name: "add-sub", version: "1", type: "triton_model" }, code_configuration: undefined, environment: undefined });
    new OnlineDeployment("tri-official", { controlPlane: cp, endpointName: "gpu-ep", spec: triton("tri-one"), tritonImage: OFFICIAL });
    new OnlineDeployment("tri-local", { controlPlane: cp, endpointName: "gpu-ep", spec: triton("tri-two"), tritonImage: { layout: "local", reason: "test" } });
    const route = (p: string) => ({ port: 8080, path: p });
    const byocEnv = { image: "example/scorer:1", inference_config: { liveness_route: route("/healthz"), readiness_route: route("/ready"), scoring_route: route("/predict") } };
    new OnlineDeployment("byoc-init", { controlPlane: cp, endpointName: "gpu-ep", spec: deploymentSpec("byoc-one", "gpu-ep", 1, { environment: byocEnv, code_configuration: undefined, model: undefined } as never) });
    await settle();
  });
  it("passthrough + GPU instance_type: every instance gets exactly the nvidia DeviceRequest and the gpus label", () => {
    for (const n of ["gpu-pass-0", "gpu-pass-1"]) {
      const c = container(n);
      assert.deepEqual(c.deviceRequests, [{ Driver: "nvidia", Count: 2, Capabilities: [["gpu"]] }]);
      assert.equal((c.labels as Record<string, string>)["modelplane.gpus"], "2 (instance_type Standard_NC12s_v3)");
    }
  });
  it("off + GPU request: one warning naming the deployment, the field and the key; none otherwise", () => {
    assert.deepEqual(warnings, ['deployment "gpu-two" requests 2 GPUs (instance_type Standard_NC12s_v3) but modelplane:gpus is off: it runs on CPU. Set `pulumi config set modelplane:gpus passthrough` on a host with NVIDIA GPUs and nvidia-container-toolkit']);
  });
  it("off, or no GPU request: no DeviceRequests and no gpus label", () => {
    for (const n of ["gpu-off-0", "cpu-pass-0"]) {
      const c = container(n);
      assert.equal(c.deviceRequests, undefined, n);
      assert.equal((c.labels as Record<string, string>)["modelplane.gpus"], undefined, n);
    }
  });
  it("official Triton image: used as the image source, run with its own tritonserver as uid 1000 under the engine's init", () => {
    const img = reveal(one(`${DYN}modelplane:Image`, "tri-official-image").inputs) as Record<string, unknown>;
    assert.equal(img.kind, "triton-server");
    assert.equal(img.source, "image:127.0.0.1:5000/nvidia/tritonserver:24.10-py3");
    assert.equal(img.stackRepository, "modelplane-gpu/triton-server-tri-official");
    const c = container("tri-official-0");
    assert.deepEqual(c.command, [
      "/opt/tritonserver/bin/tritonserver",
      "--model-repository=/var/azureml-app/azureml-models/add-sub/1/models",
      "--http-port=8000",
      "--allow-grpc=false",
      "--allow-metrics=false",
      "--exit-timeout-secs=30",
    ]);
    assert.equal(c.user, "1000:1000");
    assert.equal(c.init, true);
    assert.deepEqual((c.binds as { target: string; readOnly: boolean }[]).map((b) => [b.target, b.readOnly]), [["/var/azureml-app/azureml-models/add-sub/1/models", true], ["/opt/modelplane/bin/modelplane-probe", true]]);
  });
  it("bring your own container: runs under the engine's init (so the liveness probe's SIGTERM reaches PID 1), nothing else changed", () => {
    const c = container("byoc-init-0");
    assert.equal(c.init, true);
    assert.equal(c.command, undefined);
    assert.equal(c.user, undefined);
  });
  it("local Triton build: the template image, as before (no source, command, user or init)", () => {
    const img = reveal(one(`${DYN}modelplane:Image`, "tri-local-image").inputs) as Record<string, unknown>;
    assert.equal(img.source, undefined);
    assert.notEqual(img.fingerprint, (reveal(one(`${DYN}modelplane:Image`, "tri-official-image").inputs) as Record<string, unknown>).fingerprint);
    const c = container("tri-local-0");
    for (const f of ["command", "user", "init"]) assert.equal(c[f], undefined, f);
  });
});
