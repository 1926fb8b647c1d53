// Kubernetes object names of a stack (in its own namespace, so they need no stack prefix) and the
// labels every object carries. DNS labels: at most 63 characters; longer ones keep a hash suffix.
import { createHash } from "node:crypto";

export const K8S_LABELS = {
  managed: "app.kubernetes.io/managed-by",
  part: "app.kubernetes.io/component",
  stack: "modelplane.io/stack",
  endpoint: "modelplane.io/endpoint",
  deployment: "modelplane.io/deployment",
} as const;

export function dnsLabel(raw: string): string {
  const clean = raw.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "");
  if (clean.length <= 63) return clean;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 8);
  return `${clean.slice(0, 54).replace(/-+$/, "")}-${hash}`;
}

export const SERVER_NAMES = {
  account: "modelplane-server",
  role: "modelplane-server",
  state: "modelplane-state",
  token: "modelplane-management-token",
  server: "modelplane-server",
  gateway: "modelplane-gateway",
  management: "modelplane-management",
  batchDriver: "modelplane-batch-driver",
} as const;

/** The Deployment and Service of one online deployment. */
export function instanceName(endpoint: string, deployment: string): string {
  return dnsLabel(`${endpoint}-${deployment}`);
}

export function stackLabels(stack: string, part: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [K8S_LABELS.managed]: "modelplane", [K8S_LABELS.part]: part, [K8S_LABELS.stack]: dnsLabel(stack), ...extra };
}
