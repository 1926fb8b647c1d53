/**
 * The modelplane Pulumi program: reads the Azure-ML-CLI-v2 specs in stacks/<stack>/ (or
 * `modelplane:specDir`), validates them as a set, and deploys the stack's control plane,
 * endpoints, deployments and traffic on the target.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { ControlPlane, deployBatch, OnlineEndpoint, stackHasBatch } from "./components";
import { formatDiagnostic, loadStack } from "./src/spec";
import { parseGpuMode } from "./src/servers/gpu";
import { stackTarget } from "./src/targets/choose";
import { describeTritonChoice, resolveTritonImage, type TritonImageChoice } from "./src/servers/triton-image";

export = async () => {
  const config = new pulumi.Config("modelplane");
  const stack = pulumi.getStack();
  const chosen = await stackTarget((k) => config.get(k), stack);
  if (!chosen.ok) throw new pulumi.RunError(chosen.problems.join("\n"));
  const target = chosen.target;
  const specDir = path.resolve(__dirname, config.get("specDir") ?? path.join("stacks", stack));
  // {{PLACEHOLDER}} tokens in the specs are filled from `modelplane:placeholders` (a map).
  const placeholders = config.getObject<Record<string, string>>("placeholders") ?? {};
  const spec = await loadStack(specDir, { set: placeholders, target: target.kind });
  const errors = spec.diagnostics.filter((d) => d.severity === "error");
  for (const w of spec.diagnostics.filter((d) => d.severity === "warning")) pulumi.log.warn(formatDiagnostic(w));
  if (errors.length) throw new pulumi.RunError(`the specs in ${specDir} have ${errors.length} error(s):\n${errors.map(formatDiagnostic).join("\n")}`);
  if (spec.endpoints.length === 0 && spec.batchEndpoints.length === 0) throw new pulumi.RunError(`no endpoint spec in ${specDir}: add an online or batch endpoint.yml (see stacks/dev/)`);

  const baseImage = config.get("baseImage") ?? "modelplane/base:bookworm";
  const gpus = parseGpuMode(config.get("gpus"));
  if (!gpus.ok) throw new pulumi.RunError(gpus.problem);
  // modelplane:tritonImage (auto | local | <image ref>) is resolved once, and only when a Triton deployment needs it.
  let tritonImage: TritonImageChoice | undefined;
  if (spec.deployments.some((d) => d.model?.type === "triton_model" && !d.environment?.inference_config)) {
    const r = await resolveTritonImage(config.get("tritonImage"), undefined, (line) => pulumi.log.info(line));
    if (!r.ok) throw new pulumi.RunError(r.problem);
    tritonImage = r.choice;
    pulumi.log.info(describeTritonChoice(tritonImage));
  }
  const controlPlane = new ControlPlane("control-plane", {
    stack,
    target,
    gatewayPort: portSetting(config, "gatewayPort"),
    managementPort: portSetting(config, "managementPort"),
    stackId: config.get("stackId"),
    managementToken: config.getSecret("managementToken"),
    keepFailedInstances: config.getBoolean("keepFailedInstances"),
    // Batch endpoints: the datastore, the engine socket and `modelplane:batchInputRoots` (host folders jobs may read).
    ...(stackHasBatch(spec) ? { batch: { inputRoots: listSetting(config, "batchInputRoots") } } : {}),
    baseImage,
    serverLimits: {
      bodyLimitBytes: config.getNumber("bodyLimitBytes"),
      bodyBudgetBytes: config.getNumber("bodyBudgetBytes"),
      responseLimitBytes: config.getNumber("responseLimitBytes"),
      clientRequestTimeoutMs: config.getNumber("clientRequestTimeoutMs"),
      maxConnections: config.getNumber("maxConnections"),
    },
  });
  const endpoints: Record<string, { scoringUri: pulumi.Output<string>; swaggerUri: pulumi.Output<string>; authMode: string }> = {};
  const keys: Record<string, { primaryKey: pulumi.Output<string>; secondaryKey: pulumi.Output<string> }> = {};
  for (const e of spec.endpoints) {
    const ep = new OnlineEndpoint(e.name, { controlPlane, spec: e, deployments: spec.deployments.filter((d) => d.endpoint_name === e.name), baseImage, tritonImage, gpus: gpus.mode });
    endpoints[e.name] = { scoringUri: ep.scoringUri, swaggerUri: ep.swaggerUri, authMode: ep.authMode };
    keys[e.name] = { primaryKey: ep.primaryKey, secondaryKey: ep.secondaryKey };
  }
  const batch = deployBatch(controlPlane, spec, baseImage);
  Object.assign(keys, batch.keys);
  return {
    gatewayUrl: controlPlane.gatewayUrl,
    managementUrl: controlPlane.managementUrl,
    managementToken: controlPlane.managementToken,
    stackId: controlPlane.stackId,
    endpoints,
    batchEndpoints: batch.endpoints,
    dataAssets: batch.dataAssets,
    keys: pulumi.secret(keys),
  };
};

/** `modelplane:<key>`: a list of strings (YAML list in the stack file, or `pulumi config set --path '<key>[0]' ...`). */
function listSetting(config: pulumi.Config, key: string): string[] {
  let v: unknown;
  try {
    v = config.getObject<unknown>(key);
  } catch {
    throw new pulumi.RunError(`modelplane:${key} is not a list: write it as a YAML list in the stack's config file, or \`pulumi config set --path 'modelplane:${key}[0]' /srv/batch-input\``);
  }
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new pulumi.RunError(`modelplane:${key} is ${JSON.stringify(v)}: give a list of absolute host folders, e.g. \`pulumi config set --path 'modelplane:${key}[0]' /srv/batch-input\``);
  return v as string[];
}

/** `modelplane:<key>`: a port number, or `auto` (the default): a free port chosen by the first up and kept. */
function portSetting(config: pulumi.Config, key: string): number | "auto" {
  const raw = config.get(key);
  if (raw === undefined || raw.trim() === "" || raw.trim() === "auto") return "auto";
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new pulumi.RunError(`modelplane:${key} is "${raw}": give a port number (1024-65535) or auto, e.g. \`pulumi config set modelplane:${key} auto\``);
  return n;
}
