import execa from "execa";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureImage, type ImageBuildResult } from "./build";
import { stagePipCaBundle } from "./pip-ca";

/** Repository of the CPU Triton server images. */
export const TRITON_SERVER_REPOSITORY = "modelplane/triton-server";
/** nvidia-pytriton wheel whose `tritonserver` binary and Python backend the image uses (PyPI, 2025). */
export const DEFAULT_PYTRITON_VERSION = "0.7.0";
/** Template folder (README.md there documents the contract). */
export const TRITON_SERVER_TEMPLATE_DIR = path.resolve(__dirname, "../../templates/servers/triton");
const TEMPLATE_FILES = ["Dockerfile", "serve.sh"] as const;

export interface TritonServerImageRequest {
  baseImage: string;
  /** @default DEFAULT_PYTRITON_VERSION */
  pytritonVersion?: string;
  /** @default $MODELPLANE_BUILD_CA_BUNDLE, else $PIP_CERT, else the host pip config's `cert`, else none (src/images/pip-ca.ts) */
  pipCaBundle?: string;
  log?: (line: string) => void;
}

/** Ensures the CPU Triton image (one per base image and wheel version; model repositories are mounted). */
export async function ensureTritonServerImage(req: TritonServerImageRequest): Promise<ImageBuildResult> {
  const version = req.pytritonVersion ?? DEFAULT_PYTRITON_VERSION;
  const contextDir = await fs.mkdtemp(path.join(os.tmpdir(), "modelplane-triton-server-"));
  try {
    for (const f of TEMPLATE_FILES) await fs.copyFile(path.join(TRITON_SERVER_TEMPLATE_DIR, f), path.join(contextDir, f));
    await fs.chmod(path.join(contextDir, "serve.sh"), 0o755);
    await stagePipCaBundle(contextDir, req.pipCaBundle);
    return await ensureImage({
      repository: TRITON_SERVER_REPOSITORY,
      contextDir,
      buildArgs: { BASE_IMAGE: req.baseImage, PYTRITON_VERSION: version },
      labels: { "modelplane.server": "tritonserver", "modelplane.server.version": `nvidia-pytriton-${version}` },
      log: req.log,
    });
  } finally {
    await fs.rm(contextDir, { recursive: true, force: true });
  }
}

/**
 * An official-layout Triton image (modelplane:tritonImage): used as it is when the engine has it,
 * else pulled. The program normally pulled it already while choosing (src/servers/triton-image.ts);
 * this covers an image removed between the program run and the create.
 */
export async function ensureOfficialTritonImage(ref: string, log?: (line: string) => void): Promise<ImageBuildResult> {
  const started = Date.now();
  const local = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { reject: false });
  if (local.exitCode === 0) return { tag: ref, built: false, seconds: 0 };
  log?.(`pulling ${ref}`);
  const pulled = await execa("docker", ["pull", "-q", ref], { reject: false, all: true });
  if (pulled.exitCode !== 0) {
    throw new Error(`modelplane:tritonImage: the engine has no ${ref} and docker pull failed: ${(pulled.all ?? "").trim().split("\n").slice(-3).join(" ")}; fix: make the image pullable or set modelplane:tritonImage to local`);
  }
  return { tag: ref, built: true, seconds: (Date.now() - started) / 1000 };
}
