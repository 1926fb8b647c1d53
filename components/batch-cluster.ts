import * as pulumi from "@pulumi/pulumi";
import type { ComputeClusterSpec } from "../src/spec";
import { ClusterResource } from "../src/providers/management/cluster";
import type { ControlPlane } from "./control-plane";

export interface BatchClusterArgs {
  /** The stack's control plane. */
  controlPlane: ControlPlane;
  /** The validated cluster spec (src/spec, Azure's amlCompute YAML). */
  spec: ComputeClusterSpec;
}

/** Pure validation of a cluster spec handed to the component (the loader checks the same). */
export function validateBatchClusterArgs(spec: ComputeClusterSpec): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(spec.max_instances) || spec.max_instances < 1) problems.push(`cluster "${spec.name}": max_instances is ${JSON.stringify(spec.max_instances)}: set it to a whole number of at least 1`);
  if (!Number.isInteger(spec.min_instances) || spec.min_instances < 0 || spec.min_instances > spec.max_instances) {
    problems.push(`cluster "${spec.name}": min_instances is ${JSON.stringify(spec.min_instances)}: set it to a whole number from 0 to max_instances (${spec.max_instances})`);
  }
  if (!Number.isInteger(spec.idle_time_before_scale_down) || spec.idle_time_before_scale_down < 0) {
    problems.push(`cluster "${spec.name}": idle_time_before_scale_down is ${JSON.stringify(spec.idle_time_before_scale_down)}: set it to whole seconds, 0 or more`);
  }
  return problems;
}

/**
 * A compute cluster: the worker capacity (max_instances) its batch deployments' jobs share, kept
 * by the control plane. Nothing runs until a job does; min_instances > 0 keeps warm workers.
 */
export class BatchCluster extends pulumi.ComponentResource {
  readonly clusterName: string;
  /** The registration: batch deployments naming this cluster depend on it. */
  readonly registration: ClusterResource;

  constructor(name: string, args: BatchClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:BatchCluster", name, {}, opts);
    const problems = validateBatchClusterArgs(args.spec);
    if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
    const cp = args.controlPlane;
    const s = args.spec;
    this.registration = new ClusterResource(
      `${name}-cluster`,
      {
        managementUrl: cp.managementUrl,
        managementToken: cp.managementToken,
        name: s.name,
        min_instances: s.min_instances,
        max_instances: s.max_instances,
        idle_time_before_scale_down: s.idle_time_before_scale_down,
        ...(s.size !== undefined ? { size: s.size } : {}),
      },
      { parent: this, dependsOn: [cp.server] },
    );
    this.clusterName = s.name;
    this.registerOutputs({ provisioningState: this.registration.provisioningState });
  }
}
