import * as pulumi from "@pulumi/pulumi";
import { RandomSecret } from "../src/providers/secret";
import { StackIdentity, STACK_ID_RE } from "../src/providers/stack/identity";
import { serverLimitProblems, type ServerLimits } from "../src/server/limits";
import { batchArgsProblems, type ControlPlaneBatchArgs } from "../src/targets/docker/batch-server";
import { dockerTarget } from "../src/targets/docker";
import type { ControlPlaneHandle, Target } from "../src/targets/target";

export { SERVER_COMMAND } from "../src/targets/docker/control-plane";

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
  /** The engine the stack runs on (src/targets). @default the local Docker engine */
  target?: Target;
  /**
   * The management API's bearer token (`modelplane:managementToken`, a secret): for a server the
   * team runs and keys itself (e.g. one reached through a port-forward). @default a generated secret kept in state
   */
  managementToken?: pulumi.Input<string>;
}

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
/**
 * The per-stack modelplane server (management API + gateway), its state and its management token
 * (a generated Pulumi secret), on the stack's target: on Docker a network, a state volume, an
 * image and a container with the gateway on localhost and the management port on localhost only.
 */
export class ControlPlane extends pulumi.ComponentResource implements ControlPlaneHandle {
  /** Where instances live: the Docker network (or the Kubernetes namespace). */
  readonly networkName: pulumi.Output<string>;
  readonly scope: pulumi.Output<string>;
  readonly gatewayUrl: pulumi.Output<string>;
  readonly managementUrl: pulumi.Output<string>;
  readonly managementToken: pulumi.Output<string>;
  readonly stack: string;
  /** Whether deployments keep instances that failed readiness (ControlPlaneArgs.keepFailedInstances). */
  readonly keepFailedInstances: boolean;
  /** The stack's identity on the engine ("" for a stack made before identities). */
  readonly stackId: pulumi.Output<string>;
  /** The server workload: resources that call the management API depend on it. */
  readonly server: pulumi.Resource;
  /** The engine the stack runs on. */
  readonly target: Target;

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:ControlPlane", name, {}, opts);
    const problems = validateControlPlaneArgs(args);
    if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
    const stack = (this.stack = args.stack ?? pulumi.getStack());
    this.keepFailedInstances = args.keepFailedInstances ?? false;
    this.target = args.target ?? dockerTarget;

    const token = args.managementToken !== undefined ? { value: pulumi.secret(pulumi.output(args.managementToken)) } : new RandomSecret(`${name}-token`, { bytes: 32 }, { parent: this });
    // Every engine object's name and labels carry the stack's identity: two stacks named alike
    // (two checkouts or backends) never touch each other's objects.
    const identity = new StackIdentity(`${name}-identity`, { stack, token: token.value, ...(args.stackId ? { requested: args.stackId } : {}) }, { parent: this });
    const stackId = identity.stackId;
    const workload = this.target.controlPlane({
      name,
      parent: this,
      stack,
      stackId,
      managementToken: token.value,
      baseImage: args.baseImage ?? "modelplane/base:bookworm",
      serverLimits: args.serverLimits ?? {},
      gatewayPort: args.gatewayPort ?? "auto",
      managementPort: args.managementPort ?? "auto",
      keepFailedInstances: this.keepFailedInstances,
      ...(args.gatewayHostIp !== undefined ? { gatewayHostIp: args.gatewayHostIp } : {}),
      ...(args.batch ? { batch: args.batch } : {}),
    });

    this.server = workload.server;
    this.networkName = this.scope = workload.scope;
    // Not derived from the server: replacing it (its state is kept) must not show every
    // registration as changing.
    this.gatewayUrl = workload.gatewayUrl;
    this.managementUrl = workload.managementUrl;
    this.stackId = stackId;
    this.managementToken = pulumi.secret(token.value);
    this.registerOutputs({ networkName: this.networkName, gatewayUrl: this.gatewayUrl, managementUrl: this.managementUrl, stackId: this.stackId });
  }
}
