// The target seam: everything that depends on the engine a stack runs on (Docker or Kubernetes)
// is behind this interface. Components (components/), the server and the specs stay neutral: the
// server sees a deployment's instances as {id, url}, whatever runs them.
import type * as pulumi from "@pulumi/pulumi";
import type { OnlineDeploymentSpec } from "../spec";
import type { GpuPlan } from "../servers/gpu";
import type { ServerPlan } from "../servers/plan";
import type { TritonImageChoice } from "../servers/triton-image";
import type { ServerLimits } from "../server/limits";

export type TargetKind = "docker" | "kubernetes";

/** The engine-neutral part of a control plane a target builds on. */
export interface ControlPlaneContext {
  /** The ControlPlane component's name: every child is named `${name}-part`. */
  name: string;
  /** The component: parent of every child. */
  parent: pulumi.Resource;
  stack: string;
  /** The stack's identity ("" for a stack made before identities). */
  stackId: pulumi.Output<string>;
  managementToken: pulumi.Output<string>;
  baseImage: string;
  serverLimits: ServerLimits;
  gatewayPort: number | "auto";
  managementPort: number | "auto";
  gatewayHostIp?: string;
  /** Only for a stack with batch endpoints (docs/batch-api.md). @default none: the server is as without batch */
  batch?: BatchServerArgs;
  /** Keep a failed deployment's instances running for inspection. @default false */
  keepFailedInstances: boolean;
}

/** What a stack with batch endpoints adds to its server. */
export interface BatchServerArgs {
  /**
   * Host folders jobs may read directly (`--input /host/folder`), stack config
   * `modelplane:batchInputRoots` (a list). Each is mounted read-only at the same path in the server.
   * @default [] (jobs read the datastore, http(s) URLs and data assets only)
   */
  inputRoots?: string[];
  /** Docker: host path of the engine's unix socket, mounted into the server at /var/run/docker.sock. @default from DOCKER_HOST (unix://...), else /var/run/docker.sock */
  dockerSocket?: string;
}

/** What a target made of the control plane. */
export interface ControlPlaneWorkload {
  /** The gateway as clients reach it. */
  gatewayUrl: pulumi.Output<string>;
  /** The management API as the Pulumi program's providers reach it. */
  managementUrl: pulumi.Output<string>;
  /** Resources that call the management API depend on it. */
  server: pulumi.Resource;
  /** Where instances live: the Docker network, or the Kubernetes namespace. */
  scope: pulumi.Output<string>;
}

/** The control plane as a deployment's target sees it. */
export interface ControlPlaneHandle {
  readonly stack: string;
  readonly stackId: pulumi.Output<string>;
  readonly scope: pulumi.Output<string>;
  readonly server: pulumi.Resource;
}

/** One online deployment's compute, as the OnlineDeployment component asks a target for it. */
export interface OnlineInstancesContext {
  /** The OnlineDeployment component's name and the component itself (parent of every child). */
  name: string;
  parent: pulumi.Resource;
  controlPlane: ControlPlaneHandle;
  endpointName: pulumi.Input<string>;
  spec: OnlineDeploymentSpec;
  plan: ServerPlan;
  gpu: GpuPlan;
  baseImage: string;
  tritonImage?: pulumi.Input<TritonImageChoice>;
}

/** A deployment's instances as the server will reach them. */
export interface OnlineInstances {
  instances: pulumi.Output<{ id: string; url: string }[]>;
  /** Names of the engine objects that run them (containers, or the Kubernetes Deployment). */
  objectNames: pulumi.Output<string[]>;
  /**
   * "server": the server probes each instance before the deployment serves, and a failure is
   * explained from the Docker containers named by objectNames. "target": the engine gates readiness
   * (Kubernetes: the Deployment's probes and rollout, which Pulumi waits for).
   */
  readinessOwner: "server" | "target";
  /** The image the instances run, tagged by its content hash (`<repository>:<hash>`). */
  image: pulumi.Output<string>;
  /** The registration waits for these. */
  dependsOn: pulumi.Resource[];
}

/** One batch deployment's worker content, as the BatchDeployment component asks a target for it. */
export interface BatchWorkerContext {
  name: string;
  parent: pulumi.Resource;
  stack: string;
  deployment: string;
  /** The image the stack built for its workers. */
  imageRef: pulumi.Output<string>;
  /** Host paths of code and model and where workers see them. */
  binds: { source: string; target: string }[];
}

/** How the server's workers get a batch deployment's image, code and model. */
export interface BatchWorkerContent {
  /** The reference workers run (a pushed one when the target pulls from a registry). */
  image: pulumi.Output<string>;
  /** Host binds (Docker), or none. */
  binds: { source: string; target: string }[];
  /** ConfigMap volumes in place of the binds (Kubernetes). @default none */
  podVolumes?: pulumi.Output<{ config_map: string; mount_path: string; sub_path?: string; items: { key: string; path: string }[] }[]>;
  /** The registration waits for these. */
  dependsOn: pulumi.Resource[];
}

export interface Target {
  readonly kind: TargetKind;
  controlPlane(ctx: ControlPlaneContext): ControlPlaneWorkload;
  onlineInstances(ctx: OnlineInstancesContext): OnlineInstances;
  batchWorkers(ctx: BatchWorkerContext): BatchWorkerContent;
}
