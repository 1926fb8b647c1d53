import { readFileSync } from "node:fs";
import * as path from "node:path";

/** The top-level fields of a model's config.pbtxt that decide which Triton backend must load it. */
export interface TritonModelConfig {
  /** Folder name of the model in the repository. */
  model: string;
  file: string;
  /** `platform: "..."` and its 1-based line, when present. */
  platform?: { value: string; line: number };
  /** `backend: "..."` and its 1-based line, when present. */
  backend?: { value: string; line: number };
}

/** Backends that the CPU image (the nvidia-pytriton wheel's tritonserver) carries. */
export const CPU_IMAGE_BACKENDS: ReadonlySet<string> = new Set(["python"]);
/** Platforms Triton resolves to a backend (Triton's model_configuration docs). */
const PLATFORM_BACKEND: Readonly<Record<string, string>> = {
  onnxruntime_onnx: "onnxruntime",
  tensorrt_plan: "tensorrt",
  pytorch_libtorch: "pytorch",
  tensorflow_graphdef: "tensorflow",
  tensorflow_savedmodel: "tensorflow",
  openvino: "openvino",
  ensemble: "ensemble",
};
/** Scheduling built into the server itself: no backend library to load. */
const BUILT_IN = new Set(["ensemble"]);

/**
 * Reads `platform` and `backend` at the top level of a protobuf text-format config (nested
 * messages such as `input [...]` or `parameters {...}` are skipped by tracking brackets; comments
 * and quoted strings are honoured). Only these two fields are read: Triton itself validates the rest.
 */
export function parseTritonConfig(text: string, model: string, file: string): TritonModelConfig {
  const out: TritonModelConfig = { model, file };
  let depth = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (depth === 0) {
      const m = /^\s*(platform|backend)\s*:\s*"([^"]*)"/.exec(line);
      if (m) out[m[1] as "platform" | "backend"] = { value: m[2]!, line: i + 1 };
    }
    let inString = false;
    for (let j = 0; j < line.length; j++) {
      const ch = line[j];
      if (inString) {
        if (ch === "\\") j++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === "#") break;
      else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") depth = Math.max(0, depth - 1);
    }
  }
  return out;
}

/** The backend a model needs: `backend` wins; else derived from `platform`; undefined when neither is set. */
export function requiredBackend(c: TritonModelConfig): string | undefined {
  if (c.backend) return c.backend.value;
  if (c.platform) return PLATFORM_BACKEND[c.platform.value] ?? c.platform.value;
  return undefined;
}

/**
 * Problems of serving `models` of `repository` with an image that carries only `available`
 * backends, each naming the file, line, field and the fix. Catching this at plan time turns a
 * readiness failure after a build into an immediate, explained error.
 */
export function backendProblems(repository: string, models: readonly string[], available: ReadonlySet<string>, deployment: string): string[] {
  const problems: string[] = [];
  for (const model of models) {
    const file = path.join(repository, model, "config.pbtxt");
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      problems.push(`${file}: cannot read (${(err as Error).message})`);
      continue;
    }
    const c = parseTritonConfig(text, model, file);
    const backend = requiredBackend(c);
    if (backend === undefined) {
      problems.push(`${file}: model "${model}" names neither backend nor platform; add e.g. backend: "python" (deployment "${deployment}")`);
      continue;
    }
    if (BUILT_IN.has(backend) || available.has(backend)) continue;
    const where = c.backend ?? c.platform!;
    const field = c.backend ? "backend" : "platform";
    problems.push(
      `${file}:${where.line}: model "${model}" needs the Triton "${backend}" backend (${field}: "${where.value}"), which the CPU image built from the local base does not carry (it has: ${[...available].join(", ")}) (deployment "${deployment}"). ` +
        `Fix: set the stack config modelplane:tritonImage to an official Triton image (e.g. auto with a reachable nvcr.io, or a mirror of nvcr.io/nvidia/tritonserver), or use a python-backend model.`,
    );
  }
  return problems;
}

/**
 * Plan-time check of a Triton deployment against the image it will run: the official image carries
 * every standard backend; the local CPU build only those in CPU_IMAGE_BACKENDS.
 */
export function tritonImageProblems(layout: "official" | "local", repository: string, models: readonly string[], deployment: string): string[] {
  return layout === "official" ? [] : backendProblems(repository, models, CPU_IMAGE_BACKENDS, deployment);
}
