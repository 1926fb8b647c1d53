/**
 * One modelplane online endpoint with one deployment, from the Azure ML CLI v2 specs in
 * `modelplane:specDir` (default specs/): the stack's control plane (gateway + management API),
 * the endpoint, its deployment and its traffic, on the local Docker engine.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { loadModelplane, openForInstances } from "./modelplane";

export = async () => {
  const config = new pulumi.Config("modelplane");
  const target = config.get("target") ?? "docker";
  if (target !== "docker") throw new pulumi.RunError(`modelplane:target is "${target}": only "docker" is available; set it with \`pulumi config set modelplane:target docker\``);
  const mp = loadModelplane();
  const specDir = path.resolve(__dirname, config.get("specDir") ?? "specs");
  const spec = await mp.loadStack(specDir);
  const errors = spec.diagnostics.filter((d) => d.severity === "error");
  for (const w of spec.diagnostics.filter((d) => d.severity === "warning")) pulumi.log.warn(mp.formatDiagnostic(w));
  if (errors.length) throw new pulumi.RunError(`the specs in ${specDir} have ${errors.length} error(s):\n${errors.map(mp.formatDiagnostic).join("\n")}`);
  if (spec.endpoints.length === 0) throw new pulumi.RunError(`no online endpoint spec in ${specDir}: add an endpoint.yml (see specs/endpoint.yml of the template)`);
  if (spec.batchEndpoints.length > 0) throw new pulumi.RunError(`${specDir} has batch endpoints: this program deploys online endpoints only; use the modelplane checkout's program for batch`);

  const mounted = spec.deployments.flatMap((d) => [d.model?.path, d.code_configuration?.code].filter((p): p is string => typeof p === "string"));
  for (const dir of openForInstances(mounted, __dirname)) pulumi.log.info(`made ${path.relative(__dirname, dir) || "."} readable by the instances' user (pulumi new writes folders as 0700)`);

  const port = (key: string): number | "auto" => {
    const raw = config.get(key) ?? "auto";
    if (raw === "auto") return "auto";
    const n = Number(raw);
    if (!Number.isInteger(n)) throw new pulumi.RunError(`modelplane:${key} is "${raw}": give a port number (1024-65535) or auto`);
    return n;
  };
  const baseImage = config.get("baseImage") ?? "modelplane/base:bookworm";
  const controlPlane = new mp.ControlPlane("control-plane", { stack: pulumi.getStack(), gatewayPort: port("gatewayPort"), managementPort: port("managementPort"), baseImage });
  const endpoints: Record<string, { scoringUri: pulumi.Output<string>; swaggerUri: pulumi.Output<string>; authMode: string }> = {};
  const keys: Record<string, { primaryKey: pulumi.Output<string>; secondaryKey: pulumi.Output<string> }> = {};
  for (const e of spec.endpoints) {
    const ep = new mp.OnlineEndpoint(e.name, { controlPlane, spec: e, deployments: spec.deployments.filter((d) => d.endpoint_name === e.name), baseImage });
    endpoints[e.name] = { scoringUri: ep.scoringUri, swaggerUri: ep.swaggerUri, authMode: ep.authMode };
    keys[e.name] = { primaryKey: ep.primaryKey, secondaryKey: ep.secondaryKey };
  }
  // The same outputs as the modelplane checkout's program: its CLI and pipeline library read them.
  return {
    gatewayUrl: controlPlane.gatewayUrl,
    managementUrl: controlPlane.managementUrl,
    managementToken: controlPlane.managementToken,
    stackId: controlPlane.stackId,
    endpoints,
    keys: pulumi.secret(keys),
  };
};
