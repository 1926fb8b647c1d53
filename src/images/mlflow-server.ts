import { promises as fs, readFileSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { ensureImage, type ImageBuildResult } from "./build";
import { condaToRequirements } from "./conda";
import { renderRequirements } from "./custom-server";
import { stagePipCaBundle } from "./pip-ca";
import { raiseUnbuildablePins } from "./wheel-pins";

/** Repository of the MLflow no-code server images. */
export const MLFLOW_SERVER_REPOSITORY = "modelplane/mlflow-server";
/** mlflow-skinny version installed when the model does not pin `mlflow==X` (PyPI, 2025). */
export const DEFAULT_MLFLOW_VERSION = "3.17.2";
/** Template folder (README.md there documents the contract). */
export const MLFLOW_SERVER_TEMPLATE_DIR = path.resolve(__dirname, "../../templates/servers/mlflow");
const TEMPLATE_FILES = ["Dockerfile", "serve.sh", "modelplane_mlflow.py"] as const;

/**
 * Packages of Azure's own serving stack that MLflow models list but this server does not use
 * (azureml-inference-server-http is replaced by MLflow's scoring server; the data collector is
 * only called from scoring scripts).
 */
const AZURE_SERVING_PACKAGES = /^(azureml[-_.]inference[-_.]server[-_.]http|azureml[-_.]ai[-_.]monitoring)\b/i;

/**
 * The file holding an MLflow model's dependencies, as MLflow itself picks it: the
 * `python_function.env` of MLmodel (a conda file, or `{conda, virtualenv}`), else `conda.yaml`,
 * else `requirements.txt`. Undefined when the folder has none.
 */
export function mlflowRequirementsFile(modelDir: string): string | undefined {
  const exists = (f: string) => {
    try {
      return statSync(path.join(modelDir, f)).isFile();
    } catch {
      return false;
    }
  };
  const candidates: string[] = [];
  try {
    const mlmodel = parseYaml(readFileSync(path.join(modelDir, "MLmodel"), "utf8")) as { flavors?: { python_function?: { env?: unknown } } } | null;
    const env = mlmodel?.flavors?.python_function?.env;
    if (typeof env === "string") candidates.push(env);
    else if (env && typeof env === "object" && typeof (env as { conda?: unknown }).conda === "string") candidates.push((env as { conda: string }).conda);
  } catch {
    // No or unreadable MLmodel: fall back to the conventional file names.
  }
  candidates.push("conda.yaml", "requirements.txt");
  for (const c of candidates) if (exists(c)) return path.join(modelDir, c);
  return undefined;
}

/**
 * Splits `mlflow` out of the model's requirement lines: `mlflow==X` / `mlflow-skinny==X` picks the
 * server version, other mentions are dropped (the image installs a pinned mlflow-skinny; full mlflow
 * only adds the tracking server and UI). Azure serving packages are dropped too.
 */
export function splitMlflowRequirement(lines: readonly string[]): { mlflowVersion?: string; requirements: string[]; dropped: string[] } {
  const requirements: string[] = [];
  const dropped: string[] = [];
  let mlflowVersion: string | undefined;
  for (const line of lines) {
    const t = line.trim();
    const m = /^mlflow(?:[-_.]skinny)?\s*(\[[^\]]*\])?\s*([^;#]*)/i.exec(t);
    if (m && !/^mlflow[-_.](?!skinny)/i.test(t)) {
      const pin = /^==\s*([0-9][0-9A-Za-z.+-]*)$/.exec((m[2] ?? "").trim());
      if (pin) mlflowVersion = pin[1];
      else if ((m[2] ?? "").trim()) dropped.push(t);
      continue;
    }
    if (AZURE_SERVING_PACKAGES.test(t)) {
      dropped.push(t);
      continue;
    }
    requirements.push(line);
  }
  return mlflowVersion !== undefined ? { mlflowVersion, requirements, dropped } : { requirements, dropped };
}

/** Requirement lines of a conda file or a pip requirements file (comments and blanks dropped). */
export async function readModelRequirements(file: string, log?: (line: string) => void): Promise<string[]> {
  const text = await fs.readFile(file, "utf8");
  if (/\.ya?ml$/i.test(file)) {
    const conv = condaToRequirements(text, { file, targetPython: "3.11" });
    for (const w of conv.warnings) log?.(`warning: ${w}`);
    return conv.requirements;
  }
  return text.split(/\r?\n/).map((l) => l.replace(/(^|\s)#.*$/, "").trim()).filter((l) => l.length > 0);
}

export interface MlflowServerImageRequest {
  /** The model's requirements: its conda.yaml or requirements.txt (see mlflowRequirementsFile). */
  requirementsFile?: string;
  baseImage: string;
  /** @default $MODELPLANE_BUILD_CA_BUNDLE, else $PIP_CERT, else the host pip config's `cert`, else none (src/images/pip-ca.ts) */
  pipCaBundle?: string;
  log?: (line: string) => void;
}

/** Ensures the MLflow server image for a model's requirements (content-hashed; unchanged inputs reuse the image). */
export async function ensureMlflowServerImage(req: MlflowServerImageRequest): Promise<ImageBuildResult> {
  const lines = req.requirementsFile ? await readModelRequirements(req.requirementsFile, req.log) : [];
  const { mlflowVersion = DEFAULT_MLFLOW_VERSION, requirements, dropped } = splitMlflowRequirement(lines);
  for (const d of dropped) req.log?.(`note: "${d}" not installed (the image serves with mlflow-skinny==${mlflowVersion})`);
  // Old exact pins without wheels for the image's Python would be built from source (and fail): raised, said.
  const installable = raiseUnbuildablePins(requirements);
  for (const n of installable.notes) req.log?.(`note: ${n}`);
  const contextDir = await fs.mkdtemp(path.join(os.tmpdir(), "modelplane-mlflow-server-"));
  try {
    for (const f of TEMPLATE_FILES) await fs.copyFile(path.join(MLFLOW_SERVER_TEMPLATE_DIR, f), path.join(contextDir, f));
    await fs.chmod(path.join(contextDir, "serve.sh"), 0o755);
    await fs.writeFile(path.join(contextDir, "requirements.txt"), renderRequirements(installable.requirements));
    await stagePipCaBundle(contextDir, req.pipCaBundle);
    return await ensureImage({
      repository: MLFLOW_SERVER_REPOSITORY,
      contextDir,
      buildArgs: { BASE_IMAGE: req.baseImage, MLFLOW_VERSION: mlflowVersion },
      labels: { "modelplane.server": "mlflow", "modelplane.server.version": mlflowVersion },
      log: req.log,
    });
  } finally {
    await fs.rm(contextDir, { recursive: true, force: true });
  }
}
