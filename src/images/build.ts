import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";

import execa from "execa";

/** What to build: a Docker build context and the inputs that decide the image's identity. */
export interface ImageBuildRequest {
  /** Repository part of the tag, e.g. `modelplane/custom-server`. */
  repository: string;
  /** Folder sent to the builder. Every file in it is part of the content hash. */
  contextDir: string;
  /** Dockerfile path relative to contextDir. @default "Dockerfile" */
  dockerfile?: string;
  /** Build arguments; part of the content hash. */
  buildArgs?: Record<string, string>;
  /** Labels stamped on the image (not part of the hash). */
  labels?: Record<string, string>;
  /** Progress lines go here (e.g. `console.error`). @default no output */
  log?: (line: string) => void;
}

export interface ImageBuildResult {
  /** `repository:hash12`, identical for identical inputs. */
  tag: string;
  /** False when an image with that tag already existed. */
  built: boolean;
  seconds: number;
}

/** A failed `docker build`, with the builder's last lines. */
export class ImageBuildError extends Error {
  constructor(
    readonly tag: string,
    readonly lastLines: string[],
  ) {
    super(`docker build of ${tag} failed; last lines of the builder:\n${lastLines.join("\n")}`);
    this.name = "ImageBuildError";
  }
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries = await fs.readdir(path.join(dir, prefix), { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** Content hash of a build: file names and bytes of the context, the Dockerfile name and build args. */
export async function buildContentHash(req: Pick<ImageBuildRequest, "contextDir" | "dockerfile" | "buildArgs">): Promise<string> {
  const h = createHash("sha256");
  h.update(`dockerfile=${req.dockerfile ?? "Dockerfile"}\0`);
  for (const [k, v] of Object.entries(req.buildArgs ?? {}).sort(([a], [b]) => a.localeCompare(b))) h.update(`arg:${k}=${v}\0`);
  for (const rel of await listFiles(req.contextDir)) {
    h.update(`file:${rel}\0`);
    h.update(await fs.readFile(path.join(req.contextDir, rel)));
    h.update("\0");
  }
  return h.digest("hex");
}

// The classic builder colours the build steps' stderr; error messages keep plain text.
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;]*m/g;

async function imageExists(tag: string): Promise<boolean> {
  const r = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", tag], { reject: false });
  return r.exitCode === 0;
}

/**
 * Builds an image unless one with the same content hash exists. The builder runs with host
 * networking so package installs (pip) reach the registries; its output is kept for errors.
 */
export async function ensureImage(req: ImageBuildRequest): Promise<ImageBuildResult> {
  const started = Date.now();
  const tag = `${req.repository}:${(await buildContentHash(req)).slice(0, 12)}`;
  if (await imageExists(tag)) return { tag, built: false, seconds: 0 };
  req.log?.(`building image ${tag} from ${req.contextDir}`);
  // --force-rm: a failed step leaves no intermediate container behind (classic builder).
  const args = ["build", "--force-rm", "--network", "host", "-t", tag, "-f", path.join(req.contextDir, req.dockerfile ?? "Dockerfile")];
  for (const [k, v] of Object.entries(req.buildArgs ?? {})) args.push("--build-arg", `${k}=${v}`);
  for (const [k, v] of Object.entries({ "modelplane.managed": "true", ...req.labels })) args.push("--label", `${k}=${v}`);
  args.push(req.contextDir);
  const lines: string[] = [];
  const child = execa("docker", args, { reject: false, all: true, env: { DOCKER_BUILDKIT: "0" } });
  child.all?.on("data", (chunk: Buffer) => {
    for (const raw of chunk.toString().split("\n")) {
      const line = raw.replace(ANSI_ESCAPE, "");
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > 200) lines.shift();
      if (/^Step \d+\/\d+/.test(line)) req.log?.(`  ${line}`);
    }
  });
  const result = await child;
  if (result.exitCode !== 0) throw new ImageBuildError(tag, lines.slice(-30));
  return { tag, built: true, seconds: (Date.now() - started) / 1000 };
}
