// What a local folder or file is, as the datastore stores it: each file's path (relative, `/`
// separated) and sha256. The same bytes always give the same manifest, so an upload can skip
// every blob the datastore already holds (docs/batch-api.md, "Datastore").
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as path from "node:path";

export interface LocalFile {
  /** Relative to the uploaded folder, `/`-separated. */
  path: string;
  /** Absolute path on this machine. */
  source: string;
  sha256: string;
  size: number;
}

/** sha256 of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const piece of createReadStream(file)) h.update(piece as Buffer);
  return h.digest("hex");
}

/** Regular files under `dir` (and links to them), sorted by path; dot-folders like .git are skipped. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!e.name.startsWith(".")) await walk(r);
      } else if (e.isFile()) out.push(r);
      else if (e.isSymbolicLink() && (await fs.stat(path.join(dir, r)).catch(() => undefined))?.isFile()) out.push(r);
    }
  };
  await walk("");
  return out.sort();
}

/**
 * The manifest of a folder, or of one file (then its single entry is the file's name). Throws an
 * Error naming the path when it is missing or (for a folder) empty.
 */
export async function localManifest(target: string): Promise<LocalFile[]> {
  const abs = path.resolve(target);
  const info = await fs.stat(abs).catch(() => undefined);
  if (!info) throw new Error(`${abs} does not exist`);
  const rels = info.isDirectory() ? await filesUnder(abs) : [path.basename(abs)];
  if (rels.length === 0) throw new Error(`${abs} holds no files`);
  const root = info.isDirectory() ? abs : path.dirname(abs);
  const out: LocalFile[] = [];
  for (const rel of rels) {
    const source = path.join(root, ...rel.split("/"));
    out.push({ path: rel, source, sha256: await sha256File(source), size: (await fs.stat(source)).size });
  }
  return out;
}

/** One hash over a manifest's paths and digests: a change of any file's name or bytes changes it. */
export function manifestDigest(files: readonly Pick<LocalFile, "path" | "sha256">[]): string {
  return createHash("sha256").update(JSON.stringify(files.map((f) => [f.path, f.sha256]))).digest("hex");
}
