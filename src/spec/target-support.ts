// Fields a spec may carry (Azure accepts them, so the loader does) that the docker target does not
// act on. Each gets one warning at its field, naming the value and what the docker target does
// instead, so that nothing in a spec is silently ignored (docs/spec-support.md, "Accepted, not
// acted on"). A field whose value asks for what happens anyway (app_insights_enabled: false,
// egress_public_network_access: enabled, os_type: linux) gets none.
import { gpusOfInstanceType } from "../servers/gpu";
import { modelMount } from "../servers/custom";
import { quoteValue, specWarning } from "./issue";
import { deploymentId, endpointId } from "./resource-id";
import type { AnySpec, OnlineDeploymentSpec, OnlineEndpointSpec, SpecIssue } from "./types";

/** Warning code of every field the target accepts but does not act on. */
export const NOT_ACTED_ON = "not_acted_on";

/** The stack setting that names the image custom-scoring and MLflow images build FROM. */
const BASE_IMAGE = "the stack's base image (modelplane:baseImage, default modelplane/base:bookworm)";

/** What the docker target's rules say about one field: its path, its value and what is done instead. */
function ignored(resource: string, field: string, value: unknown, instead: string, fix: string): SpecIssue {
  return specWarning(NOT_ACTED_ON, field, `${field} ${quoteValue(value)} is not acted on by the docker target: ${instead}`, fix, resource);
}

const KEEP = "keep it for Azure, or remove it to silence this warning";

function endpointWarnings(spec: OnlineEndpointSpec, raw: Record<string, unknown>): SpecIssue[] {
  const resource = endpointId("online-endpoint", spec.name);
  const out: SpecIssue[] = [];
  if (raw.public_network_access !== undefined) {
    out.push(ignored(resource, "public_network_access", spec.public_network_access, "the gateway listens on 127.0.0.1:<modelplane:gatewayPort> of the engine's host only, whatever this says", "put a reverse proxy in front of the gateway to publish the endpoint; " + KEEP));
  }
  if (spec.identity !== undefined) {
    out.push(ignored(resource, "identity", spec.identity, "the endpoint and its instances get no managed identity (no Azure credentials)", "pass what the scoring code needs through the deployment's environment_variables; " + KEEP));
  }
  if (spec.auth_mode === "aad_token") {
    out.push(ignored(resource, "auth_mode", raw.auth_mode, "there is no Microsoft Entra ID here; the endpoint takes modelplane's own tokens, as for aml_token (`modelplane token <endpoint>`)", "use auth_mode: aml_token to say what happens, or key"));
  }
  if (spec.endpoint_kind === "kubernetes" && spec.compute !== undefined) {
    out.push(ignored(resource, "compute", spec.compute, "no Kubernetes compute is used; the endpoint runs on the stack's Docker engine", KEEP));
  }
  return out;
}

/** Why an environment's image or conda file is not what instances run, by server kind; undefined when it is. */
function environmentInstead(spec: OnlineDeploymentSpec): { image?: string; conda?: string; build?: string } {
  const type = spec.model?.type ?? "custom_model";
  if (spec.environment?.inference_config !== undefined) {
    // Bring-your-own container (src/servers/byoc.ts): image or build is run as it is.
    return { conda: "the container (environment.image or environment.build) runs as it is; nothing is installed into it" };
  }
  if (type === "mlflow_model") {
    const server = `MLflow deployments run MLflow's scoring server in an image built FROM ${BASE_IMAGE} with the model's own requirements (MLmodel's conda.yaml or requirements.txt)`;
    return { image: server, conda: server, build: server };
  }
  if (type === "triton_model") {
    const server = "Triton deployments run the image modelplane:tritonImage chooses (the official nvcr.io image, else the local CPU build)";
    return { image: server, conda: server, build: server };
  }
  const conda = spec.environment?.conda_file !== undefined ? "the packages of environment.conda_file" : "no packages beyond the server (no environment.conda_file)";
  return {
    image: `it is the base of Azure's managed image; here the scoring image (azureml-inference-server-http) is built FROM ${BASE_IMAGE} with ${conda}`,
    build: `the Dockerfile context is not built: without environment.inference_config the scoring image (azureml-inference-server-http) is built FROM ${BASE_IMAGE} with ${conda}`,
  };
}

/** Leaf paths and values of a nested map (`resources.requests.cpu` -> "0.1"). */
function leaves(value: unknown, prefix: string): Array<[string, unknown]> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [[prefix, value]];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leaves(v, `${prefix}.${k}`));
}

function deploymentWarnings(spec: OnlineDeploymentSpec, raw: Record<string, unknown>): SpecIssue[] {
  const resource = deploymentId("online-deployment", spec.endpoint_name, spec.name);
  const out: SpecIssue[] = [];
  const env = spec.environment;
  const from = env?.reference !== undefined ? ` (from ${env.reference})` : "";
  const instead = environmentInstead(spec);
  if (env?.image !== undefined && instead.image) out.push(ignored(resource, "environment.image", env.image, `${instead.image}${from}`, "keep it for Azure; to run this image as it is, add environment.inference_config (a custom container)"));
  // Paths are quoted as written (the spec holds them resolved); os_type is not kept in the spec.
  const rawEnv = raw.environment !== null && typeof raw.environment === "object" ? (raw.environment as Record<string, unknown>) : {};
  const rawBuild = rawEnv.build !== null && typeof rawEnv.build === "object" ? (rawEnv.build as Record<string, unknown>) : {};
  if (env?.build !== undefined && instead.build) out.push(ignored(resource, "environment.build.path", rawBuild.path ?? env.build.path, `${instead.build}${from}`, "add environment.inference_config to run the built image as a custom container, or remove environment.build"));
  if (env?.conda_file !== undefined && instead.conda) out.push(ignored(resource, "environment.conda_file", rawEnv.conda_file ?? env.conda_file, `${instead.conda}${from}`, KEEP));
  const os = rawEnv.os_type;
  if (typeof os === "string" && os.toLowerCase() === "windows") out.push(ignored(resource, "environment.os_type", os, "instances are Linux containers", "set environment.os_type: linux, or remove it"));
  if (spec.instance_type !== undefined && gpusOfInstanceType(spec.instance_type) === undefined) {
    out.push(ignored(resource, "instance_type", spec.instance_type, "it is not a GPU size, and instances are not held to its CPUs or memory (they share the host's)", KEEP));
  }
  for (const [field, value] of spec.resources === undefined ? [] : leaves(spec.resources, "resources")) {
    if (/(^|\.)nvidia\.com\/gpu$/.test(field)) continue; // GPUs are acted on (modelplane:gpus)
    out.push(ignored(resource, field, value, "instances are not held to it (they share the host's CPUs and memory)", KEEP));
  }
  if (spec.scale_settings?.type === "target_utilization") {
    out.push(ignored(resource, "scale_settings.type", "target_utilization", `there is no autoscaling; a fixed ${spec.instance_count} instance(s) run (instance_count, else min_instances)`, "set instance_count to the number of instances to run; " + KEEP));
  }
  if (spec.model_mount_path !== undefined) {
    const { modelDir, target } = modelMount(spec);
    out.push(ignored(resource, "model_mount_path", spec.model_mount_path, `the model is mounted at ${target} (AZUREML_MODEL_DIR=${modelDir}), as on Azure without model_mount_path`, "read the model from AZUREML_MODEL_DIR in the scoring code"));
  }
  if (spec.liveness_probe.success_threshold !== 1) {
    out.push(ignored(resource, "liveness_probe.success_threshold", spec.liveness_probe.success_threshold, "one successful check resets the failure count (as in Kubernetes, where it must be 1)", "set liveness_probe.success_threshold: 1, or remove it"));
  }
  const extra = spec.extra;
  if (extra.app_insights_enabled === true) {
    out.push(ignored(resource, "app_insights_enabled", true, "there is no Application Insights here; request counts and latencies are on the gateway's /metrics (Prometheus) and container logs come from `modelplane logs`", KEEP));
  }
  if (extra.egress_public_network_access === "disabled") {
    out.push(ignored(resource, "egress_public_network_access", "disabled", "instances reach the network through the stack's Docker bridge network, which does not block egress", KEEP));
  }
  if (extra.data_collector !== undefined) {
    out.push(ignored(resource, "data_collector", extra.data_collector, "no inputs or outputs are collected; the gateway keeps only its access log and /metrics", KEEP));
  }
  return out;
}

/**
 * Fields the kubernetes target does act on (src/targets/kubernetes: requests and limits, sizes,
 * the HPA, its own networking), and whose docker warning therefore does not apply there.
 */
const KUBERNETES_ACTS_ON = [/^instance_type$/, /^resources\./, /^scale_settings\./, /^compute$/, /^public_network_access$/, /^egress_public_network_access$/];

/** One warning per accepted field the stack's target does not act on. */
export function targetWarnings(spec: AnySpec, raw: Record<string, unknown>, target: "docker" | "kubernetes"): SpecIssue[] {
  const docker = dockerTargetWarnings(spec, raw);
  if (target === "docker") return docker;
  return docker
    .filter((w) => !KUBERNETES_ACTS_ON.some((re) => re.test(w.field)))
    .map((w) => ({ ...w, message: w.message.replace("is not acted on by the docker target", "is not acted on by the kubernetes target") }));
}

/**
 * One warning per accepted field the docker target does not act on. `raw` is the document as
 * parsed (to tell a field that was written from a default); `spec` the validated, resolved spec.
 * Batch specs are not checked here yet.
 */
export function dockerTargetWarnings(spec: AnySpec, raw: Record<string, unknown>): SpecIssue[] {
  if (spec.kind === "online-endpoint") return endpointWarnings(spec, raw);
  if (spec.kind === "online-deployment") return deploymentWarnings(spec, raw);
  return [];
}
