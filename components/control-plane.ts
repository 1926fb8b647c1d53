import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { DockerContainer } from "../src/providers/docker/container";
import { stackLabels, LABELS } from "../src/providers/docker/labels";
import { stackObjectNames } from "../src/providers/docker/names";
import { DockerNetwork } from "../src/providers/docker/network";
import { DockerVolume } from "../src/providers/docker/volume";
import { fingerprint, StackImage } from "../src/providers/images/image";
import { RandomSecret } from "../src/providers/secret";
import { StackIdentity, STACK_ID_RE } from "../src/providers/stack/identity";
import { PortReservation } from "../src/providers/stack/ports";
import { serverLimitFlags, serverLimitProblems, type ServerLimits } from "../src/server/limits";
import { batchArgsProblems, batchServerMounts, batchServerNamed, type ControlPlaneBatchArgs } from "./control-plane-batch";

export interface ControlPlaneArgs {
  /** Stack name used in every Docker object's name and labels. @default pulumi.getStack() */
  stack?: string;
  /** Host port (127.0.0.1) of the gateway (data plane); `auto`: a free port chosen by the first `up` and kept in the stack's state. @default "auto" */
  gatewayPort?: number | "auto";
  /** Host port (127.0.0.1 only) of the management API; `auto` as for gatewayPort. @default "auto" */
  managementPort?: number | "auto";
  /**
   * The stack's identity on the engine (`modelplane:stackId`, 8 hex digits): only to run a stack
   * from a new backend over the objects it already has (its management token must match theirs).
   * @default chosen at the first `up` and kept in state (src/providers/stack/identity.ts)
   */
  stackId?: string;
  /** Image the server image builds FROM. @default "modelplane/base:bookworm" */
  baseImage?: string;
  /** Host address the gateway port is published on. @default "127.0.0.1" */
  gatewayHostIp?: string;
  /**
   * The server's body, answer, client-time and connection limits (stack config
   * modelplane:bodyLimitBytes, bodyBudgetBytes, responseLimitBytes, clientRequestTimeoutMs,
   * maxConnections). Changing them replaces the server container; its state is on the volume. @default the server's own defaults (src/server/limits.ts)
   */
  serverLimits?: ServerLimits;
  /** Keep the instances of a deployment that failed readiness running for inspection (`modelplane:keepFailedInstances`). @default false: removed, their logs kept for `modelplane logs` */
  keepFailedInstances?: boolean;
  /**
   * Only for a stack with batch endpoints: the server then gets the datastore volume
   * (`<stack prefix>-datastore` at /datastore), the engine's socket (it starts each job's workers)
   * and the batch settings of docs/batch-api.md. @default none: the server container is as without batch
   */
  batch?: ControlPlaneBatchArgs;
}

/** What the server image runs by default (its CMD); limits are added after it. */
export const SERVER_COMMAND = ["--state-dir", "/data", "--gateway-port", "8080", "--management-port", "8081", "--management-host", "0.0.0.0"];

// What the server image runs: a change here means a new server image.
const SERVER_SOURCES = ["src/server", "src/spec", "src/images/build.ts", "templates/server", "package-lock.json"];
const GATEWAY_PORT = 8080;
const MANAGEMENT_PORT = 8081;

/** Pure validation of ControlPlane args; returns problems as messages (field, value, fix). */
export function validateControlPlaneArgs(args: ControlPlaneArgs): string[] {
  const problems: string[] = [];
  for (const f of ["gatewayPort", "managementPort"] as const) {
    const v = args[f] ?? "auto";
    if (v !== "auto" && (!Number.isInteger(v) || v < 1024 || v > 65535)) problems.push(`${f} is ${JSON.stringify(v)}: set an integer port between 1024 and 65535, or auto (stack config modelplane:${f})`);
  }
  if (args.gatewayPort !== undefined && args.gatewayPort !== "auto" && args.gatewayPort === args.managementPort) problems.push(`gatewayPort and managementPort are both ${args.gatewayPort}: give each its own port`);
  if (args.stackId !== undefined && !STACK_ID_RE.test(args.stackId)) problems.push(`stackId is ${JSON.stringify(args.stackId)}: an identity is 8 lowercase hex digits; remove modelplane:stackId to let the first up choose one`);
  for (const p of serverLimitProblems(args.serverLimits ?? {})) problems.push(`${p.message} (stack config modelplane:${p.field})`);
  if (args.batch) problems.push(...batchArgsProblems(args.batch));
  return problems;
}

/**
 * The per-stack modelplane server: its network, state volume, image and container. The gateway
 * port is published on localhost, the management port on localhost only; the management token
 * is a generated Pulumi secret.
 */
export class ControlPlane extends pulumi.ComponentResource {
  readonly networkName: pulumi.Output<string>;
  readonly gatewayUrl: pulumi.Output<string>;
  readonly managementUrl: pulumi.Output<string>;
  readonly managementToken: pulumi.Output<string>;
  readonly stack: string;
  /** Whether deployments keep instances that failed readiness (ControlPlaneArgs.keepFailedInstances). */
  readonly keepFailedInstances: boolean;
  /** The stack's identity on the engine ("" for a stack made before identities). */
  readonly stackId: pulumi.Output<string>;
  /** The server container: resources that call the management API depend on it. */
  readonly server: DockerContainer;

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:ControlPlane", name, {}, opts);
    const problems = validateControlPlaneArgs(args);
    if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
    const stack = (this.stack = args.stack ?? pulumi.getStack());
    this.keepFailedInstances = args.keepFailedInstances ?? false;
    const baseImage = args.baseImage ?? "modelplane/base:bookworm";
    const root = path.resolve(__dirname, "..");

    const token = new RandomSecret(`${name}-token`, { bytes: 32 }, { parent: this });
    // Every engine object's name and labels carry the stack's identity: two stacks named alike
    // (two checkouts or backends) never touch each other's objects.
    const identity = new StackIdentity(`${name}-identity`, { stack, token: token.value, ...(args.stackId ? { requested: args.stackId } : {}) }, { parent: this });
    const stackId = identity.stackId;
    const names = stackId.apply((id) => stackObjectNames(stack, id));
    const labels = stackId.apply((id) => stackLabels(stack, { [LABELS.role]: "control-plane" }, id));

    const ports = resolvePorts(name, args, this);
    const network = new DockerNetwork(`${name}-network`, { name: names.apply((n) => n.network), labels }, { parent: this });
    const volume = new DockerVolume(`${name}-state`, { name: names.apply((n) => n.stateVolume), labels }, { parent: this, protect: false, dependsOn: [network] });
    const image = new StackImage(
      `${name}-image`,
      {
        kind: "modelplane-server",
        baseImage,
        fingerprint: fingerprint(SERVER_SOURCES.map((p) => path.join(root, p)), [baseImage, process.version]),
        stackRepository: names.apply((n) => n.imageRepository("server")),
      },
      { parent: this },
    );
    const managementUrl = pulumi.interpolate`http://127.0.0.1:${ports.management}`;
    const gatewayUrl = pulumi.interpolate`http://127.0.0.1:${ports.gateway}`;
    const limitFlags = serverLimitFlags(args.serverLimits ?? {});
    // Batch adds its volume, mounts and env only when the stack has batch: other stacks keep their container.
    const batch = args.batch ? stackId.apply((id) => batchServerNamed(stack, id, args.batch!)) : undefined;
    // Plain values: a provider's check sees them at the first preview, while the identity is still unknown.
    const batchMounts = args.batch ? batchServerMounts(args.batch) : undefined;
    const datastore = args.batch ? new DockerVolume(`${name}-datastore`, { name: names.apply((n) => n.datastoreVolume), labels }, { parent: this, dependsOn: [network] }) : undefined;
    const server = new DockerContainer(
      `${name}-server`,
      {
        name: names.apply((n) => n.server),
        image: image.imageRef,
        // MODELPLANE_PUBLIC_URL: the scoring URIs the management API reports use the published port.
        // MODELPLANE_STACK_ID only when there is one: a pre-identity stack keeps its container.
        env: pulumi.all([token.value, gatewayUrl, stackId, batch]).apply(([t, g, id, b]) => ({
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
          { container: GATEWAY_PORT, host: g, hostIp: args.gatewayHostIp ?? "127.0.0.1" },
          { container: MANAGEMENT_PORT, host: m, hostIp: "127.0.0.1" },
        ]),
        portConfigKeys: pulumi.all([ports.gateway, ports.management]).apply(([g, m]) => ({ [String(g)]: "modelplane:gatewayPort", [String(m)]: "modelplane:managementPort" })),
        waitForHttp: managementUrl.apply((u) => ({ url: `${u}/healthz`, timeoutSeconds: 60 })),
      },
      { parent: this, dependsOn: [volume, ...(datastore ? [datastore] : [])] },
    );

    this.server = server;
    this.networkName = network.name;
    // Not derived from the container: replacing the server (its state is on the volume) must not
    // show every registration as changing.
    this.gatewayUrl = gatewayUrl;
    this.managementUrl = managementUrl;
    this.stackId = stackId;
    this.managementToken = pulumi.secret(token.value);
    this.registerOutputs({ networkName: this.networkName, gatewayUrl: this.gatewayUrl, managementUrl: this.managementUrl, stackId: this.stackId });
  }
}

/**
 * Configured ports as they are; `auto` ones from a PortReservation (chosen once, kept in state).
 * The reservation always holds both, so switching one port between auto and a number never
 * replaces it (and never makes the other port unknown in a preview).
 */
function resolvePorts(name: string, args: ControlPlaneArgs, parent: pulumi.Resource): { gateway: pulumi.Output<number>; management: pulumi.Output<number> } {
  const gw = args.gatewayPort ?? "auto";
  const mg = args.managementPort ?? "auto";
  const reserved = gw === "auto" || mg === "auto" ? new PortReservation(`${name}-ports`, { names: ["gateway", "management"] }, { parent }).ports : undefined;
  return {
    gateway: gw === "auto" ? reserved!.apply((p) => p.gateway!) : pulumi.output(gw),
    management: mg === "auto" ? reserved!.apply((p) => p.management!) : pulumi.output(mg),
  };
}
