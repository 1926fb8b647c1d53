// One request to a Kubernetes API server with a connection's credentials: used by the preflight
// (Pulumi side) and by the server's batch workers (in the cluster or, in tests, beside it).
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConnection } from "./kubeconfig";

export interface KubeAnswer {
  status: number;
  body: string;
}

export interface KubeCallOptions {
  timeoutMs?: number;
  /** @default application/json (a merge patch: application/merge-patch+json) */
  contentType?: string;
}

/** A body is sent with its length: Node sends a DELETE's body neither chunked nor measured otherwise. */
export function kubeCall(c: KubeConnection, method: string, apiPath: string, body?: unknown, o: KubeCallOptions = {}): Promise<KubeAnswer> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const url = new URL(apiPath.replace(/^\/+/, ""), c.server.endsWith("/") ? c.server : `${c.server}/`);
  const data = body === undefined ? undefined : JSON.stringify(body);
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method,
        timeout: timeoutMs,
        headers: { accept: "application/json", ...(data ? { "content-type": o.contentType ?? "application/json", "content-length": String(Buffer.byteLength(data)) } : {}), ...(c.token ? { authorization: `Bearer ${c.token}` } : {}) },
        ...(url.protocol === "https:" ? { ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: !c.insecureSkipTlsVerify } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(data);
  });
}
