/**
 * The stack's datastore: a folder the server owns (a Docker volume in a stack), read-only in every
 * worker at /datastore. Uploads are content-addressed blobs (blobs/<sha256>) assembled into folders
 * named by the hash of their manifest (folders/<hash>/...), so the same upload twice is one copy;
 * http(s) inputs are downloaded into downloads/<sha256>/; job outputs go to jobs/<id>/.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, promises as fs } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError } from "../management/errors";
import { byPath, datastoreRel } from "./inputs";

/** Where workers see the datastore. */
export const WORKER_DATASTORE = "/datastore";

const SHA256 = /^[0-9a-f]{64}$/;

export interface ManifestEntry {
  path: string;
  sha256: string;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** Files under a folder (recursive, regular files and links to them), as sorted relative paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
      else if (e.isSymbolicLink()) {
        const st = await fs.stat(path.join(dir, r)).catch(() => undefined);
        if (st?.isFile()) out.push(r);
      }
    }
  };
  await walk("");
  return out.sort(byPath);
}

/** The manifest's canonical text and its hash: the folder's name. */
export function manifestHash(files: readonly ManifestEntry[]): { hash: string; text: string } {
  const sorted = [...files].sort((a, b) => byPath(a.path, b.path));
  const text = JSON.stringify(sorted.map((f) => [f.path, f.sha256]));
  return { hash: createHash("sha256").update(text).digest("hex"), text };
}

/** Checks a folder manifest: relative paths without traversal, no duplicates, sha256 hex digests. */
export function checkManifest(raw: unknown): ManifestEntry[] {
  const files = (raw as { files?: unknown } | null)?.files;
  if (!Array.isArray(files) || files.length === 0) throw new ApiError(400, "invalid_body", `files: give the folder's files, e.g. {"files": [{"path": "a.csv", "sha256": "<hex>"}]}`, "files");
  const seen = new Set<string>();
  return files.map((f: unknown, i) => {
    const e = f as { path?: unknown; sha256?: unknown };
    const field = `files.${i}`;
    if (typeof e?.path !== "string" || e.path === "" || e.path.startsWith("/")) throw new ApiError(400, "invalid_body", `${field}.path: ${JSON.stringify(e?.path)} must be a relative path like "a/b.csv"`, `${field}.path`);
    const rel = datastoreRel(e.path, `${field}.path`);
    if (rel === "" || seen.has(rel)) throw new ApiError(400, "invalid_body", `${field}.path: ${JSON.stringify(e.path)} is empty or given twice`, `${field}.path`);
    seen.add(rel);
    if (typeof e.sha256 !== "string" || !SHA256.test(e.sha256)) throw new ApiError(400, "invalid_body", `${field}.sha256: ${JSON.stringify(e.sha256)} must be a lower-case sha256 hex digest`, `${field}.sha256`);
    return { path: rel, sha256: e.sha256 };
  });
}

export class Datastore {
  constructor(readonly root: string) {}

  async init(): Promise<void> {
    for (const d of ["blobs", "folders", "downloads", "jobs", "tmp"]) await fs.mkdir(path.join(this.root, d), { recursive: true, mode: 0o755 });
    // Workers run as another user and read the datastore through a read-only mount.
    await fs.chmod(this.root, 0o755).catch(() => undefined);
  }

  /** Server-side path of a datastore-relative path (already normalized by datastoreRel). */
  local(rel: string): string {
    return rel === "" ? this.root : path.join(this.root, ...rel.split("/"));
  }

  /** The path a worker sees. */
  worker(rel: string): string {
    return rel === "" ? WORKER_DATASTORE : `${WORKER_DATASTORE}/${rel}`;
  }

  blobPath(sha256: string): string {
    return path.join(this.root, "blobs", sha256);
  }

  hasBlob(sha256: string): Promise<boolean> {
    return SHA256.test(sha256) ? exists(this.blobPath(sha256)) : Promise.resolve(false);
  }

  private tmp(): string {
    return path.join(this.root, "tmp", `${Date.now()}-${randomBytes(6).toString("hex")}`);
  }

  /** Stores bytes under their sha256 (written aside, checked, then renamed); false when it was there already. */
  async putBlob(sha256: string, body: Readable, limitBytes: number): Promise<{ created: boolean; size: number }> {
    if (!SHA256.test(sha256)) throw new ApiError(400, "invalid_sha256", `${JSON.stringify(sha256)} is not a lower-case sha256 hex digest`, "sha256");
    if (await this.hasBlob(sha256)) {
      body.resume();
      return { created: false, size: (await fs.stat(this.blobPath(sha256))).size };
    }
    const tmp = this.tmp();
    const h = createHash("sha256");
    let size = 0;
    body.on("data", (c: Buffer) => {
      size += c.length;
      h.update(c);
      if (size > limitBytes) body.destroy(new ApiError(413, "payload_too_large", `blob exceeds ${limitBytes} bytes`));
    });
    try {
      await pipeline(body, createWriteStream(tmp, { mode: 0o644 }));
      const got = h.digest("hex");
      if (got !== sha256) throw new ApiError(400, "sha256_mismatch", `the uploaded bytes hash to ${got}, not ${sha256}; upload the file again`, "sha256");
      await fs.rename(tmp, this.blobPath(sha256));
      return { created: true, size };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Materializes a folder from stored blobs (hard links; copies across file systems); the same manifest is the same folder. */
  async makeFolder(files: readonly ManifestEntry[]): Promise<{ hash: string; text: string; rel: string }> {
    const { hash, text } = manifestHash(files);
    const rel = `folders/${hash}`;
    const dest = this.local(rel);
    if (await exists(dest)) return { hash, text, rel };
    const missing: string[] = [];
    for (const f of files) if (!(await this.hasBlob(f.sha256))) missing.push(`${f.path} (${f.sha256})`);
    if (missing.length) throw new ApiError(409, "blob_not_found", `the datastore has no blob for ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}; PUT /datastore/blobs/<sha256> each file first`, "files");
    const tmp = this.tmp();
    try {
      for (const f of files) {
        const target = path.join(tmp, ...f.path.split("/"));
        await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
        await fs.link(this.blobPath(f.sha256), target).catch(() => fs.copyFile(this.blobPath(f.sha256), target));
      }
      await fs.rename(tmp, dest).catch(async (err: unknown) => {
        // Another request made the same folder meanwhile: same content, keep theirs.
        if (!(await exists(dest))) throw err;
      });
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
    return { hash, text, rel };
  }

  /** Downloads an http(s) file into downloads/<sha256>/<name>; returns its datastore-relative path. */
  async download(url: string, limitBytes: number, timeoutMs = 120_000): Promise<string> {
    let res: Response;
    try {
      res = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new ApiError(400, "input_not_found", `input ${url} could not be downloaded: ${(err as Error).message}; check the URL and that the server can reach it`, "input");
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new ApiError(400, "input_not_found", `input ${url} answered HTTP ${res.status}; give a URL that serves the file`, "input");
    }
    const declared = Number(res.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > limitBytes) {
      await res.body.cancel().catch(() => undefined);
      throw new ApiError(400, "input_too_large", `input ${url} is ${declared} bytes, over the download limit of ${limitBytes}; upload it to the datastore instead`, "input");
    }
    const tmp = this.tmp();
    const h = createHash("sha256");
    let size = 0;
    const out = createWriteStream(tmp, { mode: 0o644 });
    try {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > limitBytes) {
          await reader.cancel();
          throw new ApiError(400, "input_too_large", `input ${url} is over the download limit of ${limitBytes} bytes; upload it to the datastore instead`, "input");
        }
        h.update(value);
        if (!out.write(value)) await new Promise<void>((r) => out.once("drain", () => r()));
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      const name = safeName(decodeURIComponent(new URL(res.url || url).pathname.split("/").pop() ?? "")) || "data";
      const rel = `downloads/${h.digest("hex")}`;
      const dir = this.local(rel);
      await fs.mkdir(dir, { recursive: true, mode: 0o755 });
      const final = path.join(dir, name);
      if (await exists(final)) await fs.rm(tmp, { force: true });
      else await fs.rename(tmp, final);
      return `${rel}/${name}`;
    } finally {
      out.destroy();
      await fs.rm(tmp, { force: true });
    }
  }

  jobDir(id: string): string {
    return path.join(this.root, "jobs", id);
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "").slice(0, 128);
}
