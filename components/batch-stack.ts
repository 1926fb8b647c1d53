import type * as pulumi from "@pulumi/pulumi";
import type { StackSpec } from "../src/spec";
import { BatchCluster } from "./batch-cluster";
import { BatchEndpoint } from "./batch-endpoint";
import type { ControlPlane } from "./control-plane";
import { DataAsset } from "./data-asset";

/** What the stack outputs say of one batch endpoint. */
export interface BatchEndpointOutput {
  invocationUri: pulumi.Output<string>;
  defaultDeployment: string;
  authMode: string;
}

/** Whether a stack needs the control plane's batch part (datastore, engine socket). */
export function stackHasBatch(spec: Pick<StackSpec, "batchEndpoints" | "clusters" | "dataAssets">): boolean {
  return spec.batchEndpoints.length > 0 || spec.clusters.length > 0 || spec.dataAssets.length > 0;
}

/**
 * The batch half of a stack: one BatchCluster per cluster spec, one DataAsset per data spec and
 * one BatchEndpoint (with its deployments) per batch endpoint spec, on `controlPlane`.
 */
export function deployBatch(
  controlPlane: ControlPlane,
  spec: Pick<StackSpec, "batchEndpoints" | "batchDeployments" | "clusters" | "dataAssets">,
  baseImage?: string,
): { endpoints: Record<string, BatchEndpointOutput>; keys: Record<string, { primaryKey: pulumi.Output<string>; secondaryKey: pulumi.Output<string> }>; dataAssets: Record<string, pulumi.Output<string>> } {
  const clusters = spec.clusters.map((c) => new BatchCluster(`cluster-${c.name}`, { controlPlane, spec: c }));
  const dataAssets: Record<string, pulumi.Output<string>> = {};
  for (const d of spec.dataAssets) {
    const asset = new DataAsset(`data-${d.name}-${d.version}`, { controlPlane, spec: d });
    dataAssets[asset.reference] = asset.datastorePath;
  }
  const endpoints: Record<string, BatchEndpointOutput> = {};
  const keys: Record<string, { primaryKey: pulumi.Output<string>; secondaryKey: pulumi.Output<string> }> = {};
  for (const e of spec.batchEndpoints) {
    const ep = new BatchEndpoint(e.name, { controlPlane, spec: e, deployments: spec.batchDeployments.filter((d) => d.endpoint_name === e.name), clusters, baseImage });
    endpoints[e.name] = { invocationUri: ep.invocationUri, defaultDeployment: ep.defaultDeployment, authMode: ep.authMode };
    keys[e.name] = { primaryKey: ep.primaryKey, secondaryKey: ep.secondaryKey };
  }
  return { endpoints, keys, dataAssets };
}
