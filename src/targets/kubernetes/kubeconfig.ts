// A kubeconfig read the way kubectl reads it: the current (or a chosen) context, its cluster and
// user. Pure: the file's text in, the connection (or the problem, with the fix) out.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

/** How to reach and authenticate to one API server. */
export interface KubeConnection {
  context: string;
  server: string;
  /** PEM; undefined: the system's roots. */
  ca?: string;
  insecureSkipTlsVerify: boolean;
  cert?: string;
  key?: string;
  token?: string;
  /** The context's namespace, if it names one. */
  namespace?: string;
}

interface Named<T = unknown> {
  name?: string;
  [k: string]: unknown;
  value?: T;
}

type Result = { ok: true; connection: KubeConnection } | { ok: false; problem: string };

function fileOrData(obj: Record<string, unknown>, key: string, baseDir: string, where: string): string | undefined {
  const data = obj[`${key}-data`];
  if (typeof data === "string") return Buffer.from(data, "base64").toString("utf8");
  const file = obj[key];
  if (typeof file === "string") {
    const p = path.resolve(baseDir, file);
    try {
      return readFileSync(p, "utf8");
    } catch (err) {
      throw new Error(`${where}.${key} names ${p}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): fix the path in the kubeconfig`, { cause: err });
    }
  }
  return undefined;
}

/** Resolves `context` (default: current-context) in a kubeconfig's text; baseDir resolves relative file paths. */
export function resolveKubeconfig(text: string, file: string, context?: string): Result {
  let doc: Record<string, unknown>;
  try {
    doc = (YAML.parse(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    return { ok: false, problem: `the kubeconfig ${file} is not valid YAML (${(err as Error).message.split("\n")[0]}): give a kubeconfig written by kubectl or your cluster's tooling` };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || !("contexts" in doc || "clusters" in doc)) {
    return { ok: false, problem: `the kubeconfig ${file} is not a kubeconfig (no contexts, clusters and users): give a kubeconfig written by kubectl or your cluster's tooling` };
  }
  const list = (k: string) => (Array.isArray(doc[k]) ? (doc[k] as Named<unknown>[]) : []);
  const contexts = list("contexts");
  const name = context ?? (typeof doc["current-context"] === "string" ? (doc["current-context"] as string) : undefined);
  const known = contexts.map((c) => c.name).filter((n): n is string => typeof n === "string");
  if (!name) return { ok: false, problem: `the kubeconfig ${file} has no current-context and modelplane:kubeContext is not set: set it to one of ${known.map((n) => `"${n}"`).join(", ") || "(none: the file has no contexts)"}` };
  const ctx = contexts.find((c) => c.name === name)?.context as Record<string, unknown> | undefined;
  if (!ctx) return { ok: false, problem: `context "${name}" is not in the kubeconfig ${file} (it has ${known.map((n) => `"${n}"`).join(", ") || "no contexts"}): set modelplane:kubeContext to one of them, or \`pulumi config rm modelplane:kubeContext\` to use the current one` };
  const cluster = list("clusters").find((c) => c.name === ctx.cluster)?.cluster as Record<string, unknown> | undefined;
  if (!cluster || typeof cluster.server !== "string") return { ok: false, problem: `context "${name}" names cluster ${JSON.stringify(ctx.cluster)}, which the kubeconfig ${file} does not define with a server URL: fix the file` };
  const user = (list("users").find((u) => u.name === ctx.user)?.user ?? {}) as Record<string, unknown>;
  const baseDir = path.dirname(file);
  try {
    const connection: KubeConnection = {
      context: name,
      server: cluster.server,
      insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
      ...(typeof ctx.namespace === "string" ? { namespace: ctx.namespace } : {}),
    };
    const ca = fileOrData(cluster, "certificate-authority", baseDir, `clusters[${String(ctx.cluster)}]`);
    const cert = fileOrData(user, "client-certificate", baseDir, `users[${String(ctx.user)}]`);
    const key = fileOrData(user, "client-key", baseDir, `users[${String(ctx.user)}]`);
    if (ca) connection.ca = ca;
    if (cert) connection.cert = cert;
    if (key) connection.key = key;
    if (typeof user.token === "string") connection.token = user.token;
    return { ok: true, connection };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

/** Reads and resolves a kubeconfig file. */
export function loadKubeconfig(file: string, context?: string): Result & { text?: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return { ok: false, problem: `no kubeconfig at ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): set modelplane:kubeconfig to your cluster's kubeconfig file, or KUBECONFIG` };
  }
  return { ...resolveKubeconfig(text, file, context), text };
}
