import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";

/** Which image a stack needs; each kind has one builder. */
export type ImageKind = "custom-server" | "modelplane-server" | "mlflow-server" | "triton-server" | "byoc";

export interface ImageInputs {
  kind: ImageKind;
  baseImage: string;
  /** custom-server: the environment's conda file; mlflow-server: the model's dependency file (absolute). */
  condaFile?: string;
  /** byoc: `image:<ref>` or `build:<context dir>[#<dockerfile>]` (src/images/byoc.ts); triton-server: `image:<ref>` for an official-layout image, absent for the local CPU build. */
  source?: string;
  /** Hash of everything the build reads, computed by the program: a change means a new image. */
  fingerprint: string;
  /** Stack-owned repository the built image is tagged into, e.g. `modelplane-dev/custom-server`; destroy removes that tag. */
  stackRepository: string;
}
export interface ImageOutputs extends ImageInputs {
  /** `stackRepository:fingerprint12`, what containers run. */
  imageRef: string;
  /** The content-addressed build (shared cache across stacks). */
  builtTag: string;
}

/** sha256 over files (recursively for folders) and extra strings: names and bytes, in a stable order. */
export function fingerprint(paths: string[], extra: string[] = []): string {
  const h = createHash("sha256");
  const visit = (p: string): void => {
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) if (e !== "node_modules" && e !== "__pycache__") visit(path.join(p, e));
    } else {
      h.update(`${p}\0`);
      h.update(readFileSync(p));
    }
  };
  for (const p of paths) visit(p);
  for (const s of extra) h.update(`${s}\0`);
  return h.digest("hex");
}

async function build(i: ImageInputs): Promise<string> {
  const log = (line: string) => pulumi.log.info(line);
  if (i.kind === "custom-server") {
    // Loaded on use: only the provider process needs the builders.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ensureCustomServerImage } = require("../../images/custom-server") as typeof import("../../images/custom-server");
    return (await ensureCustomServerImage({ condaFile: i.condaFile, baseImage: i.baseImage, log })).tag;
  }
  if (i.kind === "mlflow-server") {
    // condaFile carries the MLflow model's own conda.yaml / requirements.txt (src/servers/mlflow.ts).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ensureMlflowServerImage } = require("../../images/mlflow-server") as typeof import("../../images/mlflow-server");
    return (await ensureMlflowServerImage({ requirementsFile: i.condaFile, baseImage: i.baseImage, log })).tag;
  }
  if (i.kind === "triton-server") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ensureTritonServerImage, ensureOfficialTritonImage } = require("../../images/triton-server") as typeof import("../../images/triton-server");
    // source `image:<ref>`: an official-layout image chosen by modelplane:tritonImage (src/servers/triton-image.ts).
    if (i.source?.startsWith("image:")) return (await ensureOfficialTritonImage(i.source.slice("image:".length), log)).tag;
    return (await ensureTritonServerImage({ baseImage: i.baseImage, log })).tag;
  }
  if (i.kind === "byoc") {
    const source = i.source;
    if (!source) throw new Error("a byoc image needs its source (environment.image or environment.build); pass ServerPlan.image.source to StackImage as `source`");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ensureByocImage, decodeByocSource } = require("../../images/byoc") as typeof import("../../images/byoc");
    return (await ensureByocImage({ source: decodeByocSource(source), baseImage: i.baseImage, log })).tag;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildServerImage } = require("../../server/image") as typeof import("../../server/image");
  const staging = mkdtempSync(path.join(tmpdir(), "modelplane-server-"));
  try {
    return (await buildServerImage(staging, { baseImage: i.baseImage, log })).tag;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function buildAndTag(i: ImageInputs): Promise<ImageOutputs> {
  const builtTag = await build(i);
  const imageRef = `${i.stackRepository}:${i.fingerprint.slice(0, 12)}`;
  await execa("docker", ["tag", builtTag, imageRef]);
  return { ...i, imageRef, builtTag };
}

export const imageProvider: pulumi.dynamic.ResourceProvider<ImageInputs, ImageOutputs> = {
  async diff(_id, olds, news) {
    const replaces = (["kind", "baseImage", "condaFile", "source", "fingerprint", "stackRepository"] as const).filter((f) => olds[f] !== news[f]);
    return { changes: replaces.length > 0, replaces };
  },
  async create(inputs) {
    const outs = await buildAndTag(inputs);
    return { id: outs.imageRef, outs };
  },
  async read(id, props) {
      const r = await execa("docker", ["image", "inspect", id], { reject: false });
    return r.exitCode === 0 ? { id, props: props as ImageOutputs } : {};
  },
  async delete(id) {
      // Untags the stack's reference; the content-addressed build stays as a cache for the next up.
    await execa("docker", ["image", "rm", id], { reject: false });
  },
};

/** An image built for a stack from templates/ (content-hashed, so unchanged inputs never rebuild). */
export class StackImage extends pulumi.dynamic.Resource {
  declare readonly imageRef: pulumi.Output<string>;
  constructor(name: string, args: Inputs<ImageInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/images/image.ts", "imageProvider"), name, { ...args, imageRef: undefined, builtTag: undefined }, opts, "modelplane", "Image");
  }
}
