import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { getUnlessGone, managementRequest, type ManagementAccess, unlessGone } from "./client";
import { diffFields } from "./diff-fields";

export interface ClusterInputs extends ManagementAccess {
  name: string;
  min_instances: number;
  max_instances: number;
  /** Seconds. */
  idle_time_before_scale_down: number;
  size?: string;
}
export interface ClusterOutputs extends ClusterInputs {
  provisioningState: string;
}
interface ClusterState {
  name: string;
  min_instances: number;
  max_instances: number;
  idle_time_before_scale_down: number;
  size?: string | null;
  provisioningState: string;
}

function path(name: string): string {
  return `/clusters/${encodeURIComponent(name)}`;
}

async function put(i: ClusterInputs): Promise<ClusterOutputs> {
  const body = { min_instances: i.min_instances, max_instances: i.max_instances, idle_time_before_scale_down: i.idle_time_before_scale_down, ...(i.size !== undefined ? { size: i.size } : {}) };
  const c = await managementRequest<ClusterState>(i, "PUT", path(i.name), body);
  return { ...i, provisioningState: c.provisioningState };
}

/** Only the name makes another cluster; instance bounds and scale-down change in place (running jobs keep their workers). */
export const CLUSTER_REPLACE_FIELDS = ["name"] as const;

export const clusterProvider: pulumi.dynamic.ResourceProvider<ClusterInputs, ClusterOutputs> = {
  async diff(_id, olds, news) {
    return diffFields(olds, news, CLUSTER_REPLACE_FIELDS, ["min_instances", "max_instances", "idle_time_before_scale_down", "size", "managementUrl", "managementToken"]);
  },
  async create(inputs) {
    return { id: inputs.name, outs: await put(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: await put(news) };
  },
  async read(id, props) {
    const p = props as ClusterOutputs;
    const c = await getUnlessGone<ClusterState>(p, path(id));
    if (!c) return {};
    const out: ClusterOutputs = { ...p, min_instances: c.min_instances, max_instances: c.max_instances, idle_time_before_scale_down: c.idle_time_before_scale_down, provisioningState: c.provisioningState };
    if (c.size) out.size = c.size;
    else delete out.size;
    return { id, props: out };
  },
  async delete(id, props) {
    // 409 cluster_in_use (a batch deployment still names it) fails the delete with the server's fix.
    await unlessGone(managementRequest(props as ClusterOutputs, "DELETE", path(id)));
  },
};

/** A compute cluster of the control plane: the worker capacity its batch deployments' jobs share. */
export class ClusterResource extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly provisioningState: pulumi.Output<string>;
  constructor(name: string, args: Inputs<ClusterInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/management/cluster.ts", "clusterProvider"), name, { ...args, provisioningState: undefined }, { ...opts, additionalSecretOutputs: ["managementToken"] }, "modelplane", "Cluster");
  }
}
