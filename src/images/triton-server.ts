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
