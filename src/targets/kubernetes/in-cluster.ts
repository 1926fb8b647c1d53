// The connection a pod has to its own cluster: the ServiceAccount token and CA Kubernetes mounts,
// and the API server's address in the pod's environment. Read anew for each call (tokens rotate).
import { existsSync, readFileSync } from "node:fs";
import type { KubeConnection } from "./kubeconfig";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** In a pod: its connection; elsewhere undefined. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConnection | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host || !existsSync(`${dir}/token`)) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  return {
    context: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: readFileSync(`${dir}/ca.crt`, "utf8"),
    insecureSkipTlsVerify: false,
    token: readFileSync(`${dir}/token`, "utf8").trim(),
    ...(existsSync(`${dir}/namespace`) ? { namespace: readFileSync(`${dir}/namespace`, "utf8").trim() } : {}),
  };
}
