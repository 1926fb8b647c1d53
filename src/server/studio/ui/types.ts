export interface EndpointRow {
  name: string;
  kind: "online" | "batch";
  provisioningState: string;
  auth_mode: string;
  scoring_uri?: string;
  invocation_uri?: string;
  traffic: Record<string, number>;
  mirror_traffic: Record<string, number>;
  requestsPerSecond: number;
}

export interface DeploymentRow {
  name: string;
  provisioningState: string;
  failureReason?: string;
  model_server: string | null;
  model: string | null;
  model_version: string | null;
  image: string | null;
  instance_type: string | null;
  instances: { healthy: number; total: number };
  inflight: number;
  queued: number;
  yaml: string;
  yamlIsSource: boolean;
}

export interface Detail {
  endpoint: { name: string; kind: string; provisioningState: string; auth_mode: string; scoring_uri: string | null; invocation_uri: string | null; traffic: Record<string, number>; mirror_traffic: Record<string, number>; yaml: string };
  deployments: DeploymentRow[];
  swagger: unknown;
  howToChange: string;
}

export interface SeriesView {
  start: number;
  step: number;
  rps: number[];
  p50: (number | null)[];
  p99: (number | null)[];
  e4xx: number[];
  e5xx: number[];
  mirror: (number | null)[];
}

export interface Series {
  deployments: Record<string, SeriesView>;
  mirror: string[];
}

export interface Job {
  id: string;
  endpoint: string;
  deployment: string;
  status: string;
  mini_batches: { total: number; done: number; failed: number; running: number; pending: number };
  files: { total: number; failed: number };
  rows?: number;
  created_at?: string;
  ended_at?: string | null;
  failure_reason?: string | null;
  outputs: string[];
}
