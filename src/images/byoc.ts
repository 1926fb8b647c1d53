import { promises as fs } from "node:fs";
import * as path from "node:path";
import execa from "execa";
import { ensureImage, ImageBuildError, type ImageBuildResult } from "./build";

/** Repository of images built from a deployment's own Dockerfile context (`environment.build`). */
export const BYOC_REPOSITORY = "modelplane/byoc";

/**
 * Where a bring-your-own-container image comes from: `image:<ref>` (an existing image, pulled when
 * absent) or `build:<absolute context dir>[#<dockerfile relative to it>]` (`environment.build`).
 */
export type ByocSource = { image: string } | { context: string; dockerfile?: string };

export function encodeByocSource(s: ByocSource): string {
  return "image" in s ? `image:${s.image}` : `build:${s.context}${s.dockerfile ? `#${s.dockerfile}` : ""}`;
}

export function decodeByocSource(text: string): ByocSource {
  if (text.startsWith("image:")) return { image: text.slice("image:".length) };
  if (text.startsWith("build:")) {
    const rest = text.slice("build:".length);
    const hash = rest.lastIndexOf("#");
    return hash < 0 ? { context: rest } : { context: rest.slice(0, hash), dockerfile: rest.slice(hash + 1) };
  }
  throw new Error(`bring-your-own-container source "${text}" is neither image:<ref> nor build:<dir>`);
}

export interface ByocImageRequest {
  source: ByocSource;
  /** Passed as build argument BASE_IMAGE (a Dockerfile may use it: `ARG BASE_IMAGE` + `FROM ${BASE_IMAGE}`). */
  baseImage: string;
  log?: (line: string) => void;
}

/**
 * The image a bring-your-own-container deployment runs: the given reference (checked locally, else
 * `docker pull`), or a content-hashed build of the deployment's Dockerfile context.
 */
export async function ensureByocImage(req: ByocImageRequest): Promise<ImageBuildResult> {
  const s = req.source;
  if ("image" in s) {
    const started = Date.now();
    const local = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", s.image], { reject: false });
    if (local.exitCode === 0) return { tag: s.image, built: false, seconds: 0 };
    req.log?.(`pulling ${s.image}`);
    const pulled = await execa("docker", ["pull", s.image], { reject: false, all: true });
    if (pulled.exitCode !== 0) throw new ImageBuildError(s.image, [`environment.image ${s.image} is not on this engine and docker pull failed:`, ...(pulled.all ?? "").split("\n").slice(-10)]);
    return { tag: s.image, built: true, seconds: (Date.now() - started) / 1000 };
  }
  const dockerfile = s.dockerfile ?? "Dockerfile";
  await fs.access(path.join(s.context, dockerfile)).catch(() => {
    throw new ImageBuildError(`${BYOC_REPOSITORY}:?`, [`no ${dockerfile} in the build context ${s.context} (environment.build.path / dockerfile_path)`]);
  });
  return ensureImage({ repository: BYOC_REPOSITORY, contextDir: s.context, dockerfile, buildArgs: { BASE_IMAGE: req.baseImage }, labels: { "modelplane.server": "byoc" }, log: req.log });
}
