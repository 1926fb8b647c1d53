// The docker target's warnings for accepted fields it does not act on: one per field, at the
// field, naming the value and what is used instead (docs/spec-support.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDiagnostic } from "../../../src/spec";
import { loadText } from "../../../src/spec/loader";

/** The formatted warnings of one spec text (paths are not checked). */
function warnings(text: string): string[] {
  return loadText("spec.yml", text, { pathCheck: false }, undefined).diagnostics.map(formatDiagnostic);
}

const KEEP = "keep it for Azure, or remove it to silence this warning";
const BASE = "the stack's base image (modelplane:baseImage, default modelplane/base:bookworm)";

describe("docker target: accepted fields it does not act on", () => {
  it("Azure's managed/sample blue deployment: the managed image and the CPU instance_type", () => {
    const text = [
      "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json",
      "name: blue",
      "endpoint_name: my-endpoint",
      "model:",
      "  path: ../../model-1/model/",
      "code_configuration:",
      "  code: ../../model-1/onlinescoring/",
      "  scoring_script: score.py",
      "environment: ",
      "  conda_file: ../../model-1/environment/conda.yaml",
      "  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
      "instance_type: Standard_DS3_v2",
      "instance_count: 1",
      "",
    ].join("\n");
    assert.deepEqual(warnings(text), [
      `spec.yml:11:10: warning: environment.image "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest" is not acted on by the docker target: it is the base of Azure's managed image; here the scoring image (azureml-inference-server-http) is built FROM ${BASE} with the packages of environment.conda_file (environment.image) - keep it for Azure; to run this image as it is, add environment.inference_config (a custom container)`,
      `spec.yml:12:16: warning: instance_type "Standard_DS3_v2" is not acted on by the docker target: it is not a GPU size, and instances are not held to its CPUs or memory (they share the host's) (instance_type) - ${KEEP}`,
    ]);
  });

  it("endpoint: public_network_access, identity, aad_token", () => {
    const text = [
      "name: my-endpoint",
      "auth_mode: aad_token",
      "public_network_access: disabled",
      "identity:",
      "  type: system_assigned",
      "",
    ].join("\n");
    assert.deepEqual(warnings(text), [
      `spec.yml:3:24: warning: public_network_access "disabled" is not acted on by the docker target: the gateway listens on 127.0.0.1:<modelplane:gatewayPort> of the engine's host only, whatever this says (public_network_access) - put a reverse proxy in front of the gateway to publish the endpoint; ${KEEP}`,
      `spec.yml:5:3: warning: identity {"type":"system_assigned"} is not acted on by the docker target: the endpoint and its instances get no managed identity (no Azure credentials) (identity) - pass what the scoring code needs through the deployment's environment_variables; ${KEEP}`,
      'spec.yml:2:12: warning: auth_mode "aad_token" is not acted on by the docker target: there is no Microsoft Entra ID here; the endpoint takes modelplane\'s own tokens, as for aml_token (`modelplane token <endpoint>`) (auth_mode) - use auth_mode: aml_token to say what happens, or key',
    ]);
  });

  it("an endpoint whose public_network_access is only the default gets no warning", () => {
    assert.deepEqual(warnings("name: my-endpoint\nauth_mode: key\n"), []);
  });

  it("kubernetes deployment: each CPU/memory resource, autoscaling, the mount path, the liveness threshold and the Azure-only services", () => {
    const text = [
      "$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json",
      "name: blue",
      "endpoint_name: my-endpoint",
      "app_insights_enabled: true",
      "egress_public_network_access: disabled",
      "data_collector:",
      "  collections: {model_inputs: {enabled: 'True'}}",
      "model:",
      "  path: model",
      "model_mount_path: /models",
      "code_configuration: {code: code, scoring_script: score.py}",
      "environment:",
      "  conda_file: conda.yaml",
      "  os_type: windows",
      "liveness_probe:",
      "  success_threshold: 2",
      "resources:",
      "  requests:",
      "    cpu: '0.1'",
      "    memory: 0.1Gi",
      "  limits:",
      "    nvidia.com/gpu: 1",
      "scale_settings:",
      "  type: target_utilization",
      "  min_instances: 2",
      "  max_instances: 3",
      "",
    ].join("\n");
    const lines = warnings(text);
    assert.deepEqual(
      lines.map((l) => /^spec\.yml:(\d+:\d+): warning: (\S+) /.exec(l)?.slice(1, 3)),
      [
        ["14:12", "environment.os_type"],
        ["19:10", "resources.requests.cpu"],
        ["20:13", "resources.requests.memory"],
        ["24:9", "scale_settings.type"],
        ["10:19", "model_mount_path"],
        ["16:22", "liveness_probe.success_threshold"],
        ["4:23", "app_insights_enabled"],
        ["5:31", "egress_public_network_access"],
        ["7:3", "data_collector"],
      ],
      lines.join("\n"),
    );
    // The GPU request (nvidia.com/gpu) is acted on (modelplane:gpus): no warning for it.
    assert.ok(!lines.some((l) => l.includes("nvidia.com/gpu")));
    assert.equal(lines[0], 'spec.yml:14:12: warning: environment.os_type "windows" is not acted on by the docker target: instances are Linux containers (environment.os_type) - set environment.os_type: linux, or remove it');
    assert.equal(lines[1], `spec.yml:19:10: warning: resources.requests.cpu "0.1" is not acted on by the docker target: instances are not held to it (they share the host's CPUs and memory) (resources.requests.cpu) - ${KEEP}`);
    assert.equal(lines[3], `spec.yml:24:9: warning: scale_settings.type "target_utilization" is not acted on by the docker target: there is no autoscaling; a fixed 2 instance(s) run (instance_count, else min_instances) (scale_settings.type) - set instance_count to the number of instances to run; ${KEEP}`);
    assert.equal(lines[4], 'spec.yml:10:19: warning: model_mount_path "/models" is not acted on by the docker target: the model is mounted at /var/azureml-app/azureml-models/blue/1/model (AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/blue/1), as on Azure without model_mount_path (model_mount_path) - read the model from AZUREML_MODEL_DIR in the scoring code');
    assert.equal(lines[8], `spec.yml:7:3: warning: data_collector {"collections":{"model_inputs":{"enabled":"True"}}} is not acted on by the docker target: no inputs or outputs are collected; the gateway keeps only its access log and /metrics (data_collector) - ${KEEP}`);
  });

  it("values that ask for what happens anyway get no warning", () => {
    const text = [
      "name: blue",
      "endpoint_name: my-endpoint",
      "app_insights_enabled: false",
      "egress_public_network_access: enabled",
      "model: {path: model}",
      "code_configuration: {code: code, scoring_script: score.py}",
      "environment: {conda_file: conda.yaml, os_type: linux}",
      "instance_type: Standard_NC6s_v3", // a GPU size: acted on through modelplane:gpus
      "scale_settings: {type: default}",
      "instance_count: 1",
      "",
    ].join("\n");
    assert.deepEqual(warnings(text), []);
  });

  it("MLflow and Triton deployments do not use the environment; a custom container is not installed into", () => {
    const mlflow = "name: blue\nendpoint_name: my-endpoint\nmodel: {path: model, type: mlflow_model}\nenvironment: {image: python:3.12, conda_file: env.yml}\ninstance_count: 1\n";
    assert.deepEqual(warnings(mlflow), [
      `spec.yml:4:22: warning: environment.image "python:3.12" is not acted on by the docker target: MLflow deployments run MLflow's scoring server in an image built FROM ${BASE} with the model's own requirements (MLmodel's conda.yaml or requirements.txt) (environment.image) - keep it for Azure; to run this image as it is, add environment.inference_config (a custom container)`,
      `spec.yml:4:47: warning: environment.conda_file "env.yml" is not acted on by the docker target: MLflow deployments run MLflow's scoring server in an image built FROM ${BASE} with the model's own requirements (MLmodel's conda.yaml or requirements.txt) (environment.conda_file) - ${KEEP}`,
    ]);
    const triton = "name: blue\nendpoint_name: my-endpoint\nmodel: {path: models, type: triton_model}\nenvironment: {image: nvcr.io/nvidia/tritonserver:23.01-py3}\ninstance_count: 1\n";
    assert.match(warnings(triton).join("\n"), /^spec\.yml:4:22: warning: environment\.image "nvcr\.io\/nvidia\/tritonserver:23\.01-py3" is not acted on by the docker target: Triton deployments run the image modelplane:tritonImage chooses/);
    const byoc = [
      "name: blue",
      "endpoint_name: my-endpoint",
      "environment:",
      "  image: my/server:1",
      "  conda_file: conda.yaml",
      "  inference_config:",
      "    liveness_route: {port: 8080, path: /live}",
      "    readiness_route: {port: 8080, path: /ready}",
      "    scoring_route: {port: 8080, path: /score}",
      "instance_count: 1",
      "",
    ].join("\n");
    assert.deepEqual(warnings(byoc), [
      `spec.yml:5:15: warning: environment.conda_file "conda.yaml" is not acted on by the docker target: the container (environment.image or environment.build) runs as it is; nothing is installed into it (environment.conda_file) - ${KEEP}`,
    ]);
  });

  it("an environment.build without inference_config is not built", () => {
    const text = "name: blue\nendpoint_name: my-endpoint\nmodel: {path: model}\ncode_configuration: {code: code, scoring_script: score.py}\nenvironment:\n  build: {path: ./docker-context}\ninstance_count: 1\n";
    assert.deepEqual(warnings(text), [
      `spec.yml:6:17: warning: environment.build.path "./docker-context" is not acted on by the docker target: the Dockerfile context is not built: without environment.inference_config the scoring image (azureml-inference-server-http) is built FROM ${BASE} with no packages beyond the server (no environment.conda_file) (environment.build.path) - add environment.inference_config to run the built image as a custom container, or remove environment.build`,
    ]);
  });

  it("a spec with errors gets its errors only", () => {
    const text = "name: blue\nendpoint_name: my-endpoint\nmodel: {path: model}\ninstance_type: Standard_DS3_v2\ninstance_count: 0\n";
    const lines = warnings(text);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0] ?? "", /: error: instance_count is 0/);
  });
});

describe("kubernetes target: only what it does not act on", () => {
  it("sizes, resources and autoscaling are acted on (no warning); the managed image is still not", () => {
    const text = [
      "$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json",
      "name: green",
      "endpoint_name: my-endpoint",
      "model:",
      "  path: ../../model-1/model/",
      "code_configuration:",
      "  code: ../../model-1/onlinescoring/",
      "  scoring_script: score.py",
      "environment: ",
      "  conda_file: ../../model-1/environment/conda.yaml",
      "  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
      "instance_type: Standard_DS2_v2",
      "resources: { requests: { cpu: '0.5' } }",
      "scale_settings: { type: target_utilization, min_instances: 1, max_instances: 3 }",
      "",
    ].join("\n");
    const k8s = loadText("spec.yml", text, { pathCheck: false, target: "kubernetes" }, undefined).diagnostics.map(formatDiagnostic);
    assert.deepEqual(k8s, [
      `spec.yml:11:10: warning: environment.image "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest" is not acted on by the kubernetes target: it is the base of Azure's managed image; here the scoring image (azureml-inference-server-http) is built FROM ${BASE} with the packages of environment.conda_file (environment.image) - keep it for Azure; to run this image as it is, add environment.inference_config (a custom container)`,
    ]);
    assert.equal(warnings(text).length, 4, "on docker: the image, instance_type, resources.requests.cpu and scale_settings.type");
  });
});
