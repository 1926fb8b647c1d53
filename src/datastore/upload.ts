// Uploads local files to a stack's datastore through the management API's content-addressed
// routes: HEAD /datastore/blobs/<sha256> (skip what is there), PUT the rest, then POST
// /datastore/folders with the manifest, which answers the folder's `datastore://` URI.
// Used by the DataAsset provider and by `modelplane batch invoke --input ./folder`.
import { readFile } from "node:fs/promises";
import { httpCall } from "../api-client/http-call";
import type { LocalFile } from "./manifest";

export interface DatastoreAccess {
  managementUrl: string;
  managementToken: string;
}

export interface UploadProgress {
  /** Files handled so far (uploaded or found already there) of `totalFiles`. */
  files: number;
  totalFiles: number;
  /** Bytes of the handled files (skipped ones count too) of `totalBytes`. */
  bytes: number;
  totalBytes: number;
  /** Files the datastore already held. */
  skipped: number;
  uploaded: number;
}

export interface UploadResult {
  /** `datastore://folders/<hash>`: the uploaded folder. */
  uri: string;
  uploaded: number;
  skipped: number;
  bytesSent: number;
}

/** A refused datastore call, with the API's status and code. */
export class DatastoreError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "DatastoreError";
  }
}

async function call(access: DatastoreAccess, method: string, route: string, body?: Buffer | string, contentType?: string): Promise<{ status: number; text: string }> {
  const url = `${access.managementUrl.replace(/\/+$/, "")}${route}`;
  const headers: Record<string, string> = { authorization: `Bearer ${access.managementToken}` };
  if (contentType) headers["content-type"] = contentType;
  let res;
  try {
    res = await httpCall(url, { method, headers, ...(body !== undefined ? { body } : {}), timeoutMs: 300_000 });
  } catch (err) {
    throw new DatastoreError(0, (err as { code?: string }).code ?? "unreachable", `${method} ${route}: the management API at ${access.managementUrl} did not answer (${(err as Error).message}); is the stack up?`);
  }
  const text = await res.text();
  return { status: res.status, text };
}

function refused(method: string, route: string, status: number, text: string): DatastoreError {
  let code = `http_${status}`;
  let message = text.slice(0, 300);
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e?.code) code = e.code;
    if (e?.message) message = e.message;
  } catch {
    // not JSON: keep the text
  }
  return new DatastoreError(status, code, `${method} ${route}: ${status} ${code}: ${message}`);
}

/**
 * Uploads the files (at most `concurrency` at a time) whose blobs the datastore lacks, then makes
 * the folder. `onProgress` is called after each file.
 */
export async function uploadFolder(access: DatastoreAccess, files: readonly LocalFile[], onProgress?: (p: UploadProgress) => void, concurrency = 4): Promise<UploadResult> {
  const progress: UploadProgress = { files: 0, totalFiles: files.length, bytes: 0, totalBytes: files.reduce((s, f) => s + f.size, 0), skipped: 0, uploaded: 0 };
  let bytesSent = 0;
  // The same bytes under two names are one blob: send each digest once.
  const pending = new Map<string, Promise<void>>();
  const sendBlob = async (f: LocalFile): Promise<boolean> => {
    const route = `/datastore/blobs/${f.sha256}`;
    const head = await call(access, "HEAD", route);
    if (head.status === 200) return false;
    if (head.status !== 404) throw refused("HEAD", route, head.status, head.text);
    const bytes = await readFile(f.source);
    const put = await call(access, "PUT", route, bytes, "application/octet-stream");
    if (put.status !== 200 && put.status !== 201) throw refused("PUT", route, put.status, put.text);
    bytesSent += bytes.length;
    return put.status === 201;
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const f = files[next++]!;
      let sent = false;
      const running = pending.get(f.sha256);
      if (running) await running;
      else {
        const p = sendBlob(f).then((s) => {
          sent = s;
        });
        pending.set(f.sha256, p);
        await p;
      }
      progress.files++;
      progress.bytes += f.size;
      if (sent) progress.uploaded++;
      else progress.skipped++;
      onProgress?.({ ...progress });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, () => worker()));
  const body = JSON.stringify({ files: files.map((f) => ({ path: f.path, sha256: f.sha256 })) });
  const made = await call(access, "POST", "/datastore/folders", body, "application/json");
  if (made.status !== 200 && made.status !== 201) throw refused("POST", "/datastore/folders", made.status, made.text);
  const uri = (JSON.parse(made.text) as { uri?: unknown }).uri;
  if (typeof uri !== "string") throw new DatastoreError(made.status, "bad_answer", `POST /datastore/folders answered no uri: ${made.text.slice(0, 200)}`);
  return { uri, uploaded: progress.uploaded, skipped: progress.skipped, bytesSent };
}
