import type * as pulumi from "@pulumi/pulumi";
import { getUnlessGone, type ManagementAccess } from "./client";

/** What the management API answers for a deployment, online or batch. */
export interface DeploymentState {
  provisioningState: string;
  failureReason?: string;
}

/** A deployment's route in the management API (online and batch deployments share it). */
export function deploymentRoute(i: { endpointName: string; name: string }): string {
  return `/endpoints/${encodeURIComponent(i.endpointName)}/deployments/${encodeURIComponent(i.name)}`;
}

/** A deployment registration's read: its props with the server's provisioningState, or {} when the server has none. */
export async function readDeploymentRegistration<P extends ManagementAccess & { endpointName: string; name: string; provisioningState: string }>(id: string, p: P): Promise<pulumi.dynamic.ReadResult<P>> {
  const d = await getUnlessGone<DeploymentState>(p, deploymentRoute(p));
  return d ? { id, props: { ...p, provisioningState: d.provisioningState } } : {};
}
