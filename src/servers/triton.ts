import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import type { OnlineDeploymentSpec } from "../spec";
import { TRITON_SERVER_TEMPLATE_DIR } from "../images/triton-server";
import { modelMount } from "./custom";
import type { ServerPlanResult } from "./plan";

/** HTTP port of the Triton image (templates/servers/triton). */
export const TRITON_HTTP_PORT = 8000;

/** Models of a Triton repository: the sub-folders holding a config.pbtxt, sorted. */
export function tritonModels(repository: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(repository).sort();
  } catch {
    return [];
  }
  return entries.filter((e) => {
    try {
      return statSync(path.join(repository, e, "config.pbtxt")).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * Triton deployment: tritonserver serving the mounted model repository (`<model>/config.pbtxt` +
 * version folders). `/score` on the gateway is the Open Inference Protocol infer call of the
 * repository's model (the first one, by name, when there are several).
 */
export function planTritonServer(spec: OnlineDeploymentSpec): ServerPlanResult {
  const repo = spec.model?.path;
  if (!repo) return { ok: false, problems: [`deployment "${spec.name}": model.path is required for a triton_model on the docker target (the model repository folder)`] };
  const models = tritonModels(repo);
  const problems: string[] = [];
  if (models.length === 0) problems.push(`deployment "${spec.name}": model.path ${repo} is not a Triton model repository (no <model>/config.pbtxt in it)`);
  if (spec.code_configuration) problems.push(`deployment "${spec.name}": a triton_model deploys without code; remove code_configuration`);
  const first = models[0];
  if (problems.length > 0 || first === undefined) return { ok: false, problems };
  const { modelDir, target } = modelMount(spec);
  return {
    ok: true,
    plan: {
      image: { kind: "triton-server", fingerprintPaths: [TRITON_SERVER_TEMPLATE_DIR] },
      port: TRITON_HTTP_PORT,
      binds: [{ source: repo, target, readOnly: true }],
      env: { MODEL_REPOSITORY: target, AZUREML_MODEL_DIR: modelDir },
      routes: { scoring: `/v2/models/${encodeURIComponent(first)}/infer`, readiness: "/v2/health/ready", liveness: "/v2/health/live" },
      modelServer: "tritonserver",
      contentPaths: [repo],
    },
  };
}
