// How a deployment's code and model reach its pods without a registry: one immutable ConfigMap of
// their files, mounted read-only where Docker bind-mounts them. A ConfigMap holds at most 1 MiB, so
// bigger models must travel in the image (environment.image / a registry; docs/kubernetes.md).
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import type { BindMount } from "../../providers/docker/container";

export const CONTENT_LIMIT_BYTES = 1024 * 1024 - 16 * 1024; // the API server's limit, less room for metadata

export interface ContentVolume {
  name: string;
  mountPath: string;
  /** Set for a single-file bind: the file is mounted alone (subPath). */
  subPath?: string;
  items: { key: string; path: string }[];
}

export interface DeploymentContent {
  binaryData: Record<string, string>;
  volumes: ContentVolume[];
  bytes: number;
}

function files(root: string): string[] {
  if (!statSync(root).isDirectory()) return [""];
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const e of readdirSync(path.join(root, rel)).sort()) {
      if (e === "__pycache__" || e === "node_modules") continue;
      const r = rel ? `${rel}/${e}` : e;
      if (statSync(path.join(root, r)).isDirectory()) visit(r);
      else out.push(r);
    }
  };
  visit("");
  return out;
}

/** The ConfigMap data and volumes for the binds, or the problem (what is too big and the fix). */
export function deploymentContent(deployment: string, binds: BindMount[]): DeploymentContent | { problem: string } {
  const binaryData: Record<string, string> = {};
  const volumes: ContentVolume[] = [];
  let bytes = 0;
  let n = 0;
  binds.forEach((b, i) => {
    const isFile = !statSync(b.source).isDirectory();
    const items: ContentVolume["items"] = [];
    for (const rel of files(b.source)) {
      const data = readFileSync(isFile ? b.source : path.join(b.source, rel));
      bytes += data.length;
      const key = `f${n++}`;
      binaryData[key] = data.toString("base64");
      items.push({ key, path: isFile ? path.basename(b.target) : rel });
    }
    volumes.push({ name: `content-${i}`, mountPath: b.target, ...(isFile ? { subPath: path.basename(b.target) } : {}), items });
  });
  // base64 grows the data by a third in the object the API server stores.
  const stored = Math.ceil(bytes / 3) * 4;
  if (stored > CONTENT_LIMIT_BYTES) {
    return { problem: `deployment "${deployment}": its code and model are ${(bytes / 1048576).toFixed(1)} MiB, more than a ConfigMap can carry to its pods (about ${Math.floor((CONTENT_LIMIT_BYTES * 3) / 4 / 1024)} KiB): put the model into the image (environment.image with the model in it) and set modelplane:imageRegistry, or use a smaller model` };
  }
  return { binaryData, volumes, bytes };
}
