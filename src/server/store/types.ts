/** Shapes persisted by the store and shared by the management API and the gateway. */
import type { ProbeSettings, RequestSettings } from "../../spec/types";

export type AuthMode = "key" | "aml_token";
/** Online endpoints score requests; batch endpoints run jobs (src/server/batch). */
export type EndpointKind = "online" | "batch";
export type ProvisioningState = "Creating" | "Updating" | "Succeeded" | "Failed" | "Deleting";

/** Request limits and probe settings: the spec module's own types (same names as the YAML). */
export type { ProbeSettings, RequestSettings };

export interface InstanceConfig {
  id: string;
  url: string;
}

export interface DeploymentRoutes {
  scoring: string;
  readiness: string;
  liveness: string;
  swagger?: string;
}

/** What a deployment PUT carries: where its instances are and how to talk to them. */
export interface DeploymentConfig {
  instances: InstanceConfig[];
  routes: DeploymentRoutes;
  request_settings: RequestSettings;
  readiness_probe: ProbeSettings;
  liveness_probe: ProbeSettings;
  model_server?: string;
  /**
   * Who decides the instances are ready: the server's readiness probes (the default), or the
   * target (Kubernetes: the Deployment's own probes and rollout, waited for by Pulumi; the
   * instance URL is a Service that routes to ready pods only).
   */
  readiness_owner?: "server" | "target";
  spec?: unknown;
}

export interface EndpointRecord {
  name: string;
  kind: EndpointKind;
  auth_mode: AuthMode;
  description: string;
  tags: Record<string, string>;
  traffic: Record<string, number>;
  mirror_traffic: Record<string, number>;
  provisioningState: ProvisioningState;
  /** sha256 hex of the primary and secondary keys; used by the gateway. */
  primaryKeyHash: string;
  secondaryKeyHash: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentRecord {
  endpoint_name: string;
  name: string;
  /** The desired configuration (last PUT). */
  config: DeploymentConfig;
  /**
   * The last configuration whose instances all passed readiness; the gateway serves this one
   * while a newer config is still being probed, so an update never causes a gap.
   */
  servingConfig: DeploymentConfig | null;
  provisioningState: ProvisioningState;
  failureReason: string | null;
  /** Bumped on every PUT; a probe run for an older generation is ignored. */
  generation: number;
  createdAt: string;
  updatedAt: string;
}

export interface EndpointKeys {
  primary: string;
  secondary: string;
}
