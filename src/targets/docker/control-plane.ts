// The control plane on the local Docker engine: the stack's network, state volume, server image
// and server container (gateway published on localhost, management on localhost only).
import * as pulumi from "@pulumi/pulumi";
import { DockerContainer } from "../../providers/docker/container";
import { stackLabels, LABELS } from "../../providers/docker/labels";
import { stackObjectNames } from "../../providers/docker/names";
import { DockerNetwork } from "../../providers/docker/network";
import { DockerVolume } from "../../providers/docker/volume";
import { PortReservation } from "../../providers/stack/ports";
import { serverLimitFlags } from "../../server/limits";
import { serverImage } from "../server-image";
import type { ControlPlaneContext, ControlPlaneWorkload } from "../target";
import { batchServerMounts, batchServerNamed } from "./batch-server";

/** What the server image runs by default (its CMD); limits are added after it. */
export const SERVER_COMMAND = ["--state-dir", "/data", "--gateway-port", "8080", "--management-port", "8081", "--management-host", "0.0.0.0"];
export const GATEWAY_PORT = 8080;
export const MANAGEMENT_PORT = 8081;

export function dockerControlPlane(ctx: ControlPlaneContext): ControlPlaneWorkload {
  const { name, parent, stack, stackId } = ctx;
  const batchArgs = ctx.batch;
  const names = stackId.apply((id) => stackObjectNames(stack, id));
  const labels = stackId.apply((id) => stackLabels(stack, { [LABELS.role]: "control-plane" }, id));

  const ports = resolvePorts(name, ctx, parent);
  const network = new DockerNetwork(`${name}-network`, { name: names.apply((n) => n.network), labels }, { parent });
  const volume = new DockerVolume(`${name}-state`, { name: names.apply((n) => n.stateVolume), labels }, { parent, protect: false, dependsOn: [network] });
  const image = serverImage(name, ctx);
  const managementUrl = pulumi.interpolate`http://127.0.0.1:${ports.management}`;
  const gatewayUrl = pulumi.interpolate`http://127.0.0.1:${ports.gateway}`;
  const limitFlags = serverLimitFlags(ctx.serverLimits);
  // Batch adds its volume, mounts and env only when the stack has batch: other stacks keep their container.
  const batch = batchArgs ? stackId.apply((id) => batchServerNamed(stack, id, batchArgs)) : undefined;
  // Plain values: a provider's check sees them at the first preview, while the identity is still unknown.
  const batchMounts = batchArgs ? batchServerMounts(batchArgs) : undefined;
  const datastore = batchArgs ? new DockerVolume(`${name}-datastore`, { name: names.apply((n) => n.datastoreVolume), labels }, { parent, dependsOn: [network] }) : undefined;
  const server = new DockerContainer(
    `${name}-server`,
    {
      name: names.apply((n) => n.server),
      image: image.imageRef,
      // MODELPLANE_PUBLIC_URL: the scoring URIs the management API reports use the published port.
      // MODELPLANE_STACK_ID only when there is one: a pre-identity stack keeps its container.
      env: pulumi.all([ctx.managementToken, gatewayUrl, stackId, batch]).apply(([t, g, id, b]) => ({
        MODELPLANE_MANAGEMENT_TOKEN: t,
        MODELPLANE_STACK: stack,
        MODELPLANE_PUBLIC_URL: g,
        ...(id ? { MODELPLANE_STACK_ID: id } : {}),
        ...(b?.env ?? {}),
      })),
      labels,
      network: network.name,
      networkAliases: ["modelplane-server"],
      // Only set limits change the command: a stack without them keeps the image's CMD (and its container).
      ...(limitFlags.length > 0 ? { command: [...SERVER_COMMAND, ...limitFlags] } : {}),
      volumes: pulumi.all([names, batch]).apply(([n, b]) => ({ [n.stateVolume]: "/data", ...(b?.volumes ?? {}) })),
      ...(batchMounts ? { binds: batchMounts.binds, ...(batchMounts.groupAdd ? { groupAdd: batchMounts.groupAdd } : {}) } : {}),
      ports: pulumi.all([ports.gateway, ports.management]).apply(([g, m]) => [
        { container: GATEWAY_PORT, host: g, hostIp: ctx.gatewayHostIp ?? "127.0.0.1" },
        { container: MANAGEMENT_PORT, host: m, hostIp: "127.0.0.1" },
      ]),
      portConfigKeys: pulumi.all([ports.gateway, ports.management]).apply(([g, m]) => ({ [String(g)]: "modelplane:gatewayPort", [String(m)]: "modelplane:managementPort" })),
      waitForHttp: managementUrl.apply((u) => ({ url: `${u}/healthz`, timeoutSeconds: 60 })),
    },
    { parent, dependsOn: [volume, ...(datastore ? [datastore] : [])] },
  );
  return { gatewayUrl, managementUrl, server, scope: network.name };
}

/**
 * Configured ports as they are; `auto` ones from a PortReservation (chosen once, kept in state).
 * The reservation always holds both, so switching one port between auto and a number never
 * replaces it (and never makes the other port unknown in a preview).
 */
function resolvePorts(name: string, ctx: ControlPlaneContext, parent: pulumi.Resource): { gateway: pulumi.Output<number>; management: pulumi.Output<number> } {
  const gw = ctx.gatewayPort;
  const mg = ctx.managementPort;
  const reserved = gw === "auto" || mg === "auto" ? new PortReservation(`${name}-ports`, { names: ["gateway", "management"] }, { parent }).ports : undefined;
  return {
    gateway: gw === "auto" ? reserved!.apply((p) => p.gateway!) : pulumi.output(gw),
    management: mg === "auto" ? reserved!.apply((p) => p.management!) : pulumi.output(mg),
  };
}
