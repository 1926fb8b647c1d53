import * as path from "node:path";
import type { OnlineDeploymentSpec } from "../spec";
import type { ServerPlanResult } from "./plan";

/** Where the custom-scoring server image expects code and models (templates/servers/custom/README.md). */
export const APP_ROOT = "/var/azureml-app";
const TEMPLATE_DIR = path.resolve(__dirname, "../../templates/servers/custom");

/** What the custom and MLflow plans read of a deployment: online and batch model deployments both have it. */
export type ServedModel = Pick<OnlineDeploymentSpec, "name" | "model" | "code_configuration" | "environment">;

/** Azure's layout: AZUREML_MODEL_DIR is .../azureml-models/<name>/<version>; the model folder sits inside it. */
export function modelMount(spec: Pick<ServedModel, "name" | "model">): { modelDir: string; target: string } {
  const modelDir = `${APP_ROOT}/azureml-models/${spec.model?.name ?? spec.name}/${spec.model?.version ?? "1"}`;
  return { modelDir, target: `${modelDir}/${path.basename(spec.model?.path ?? "model")}` };
}

/** azureml-inference-server-http running the deployment's score.py (init/run), code and model mounted read-only. */
export function planCustomServer(spec: ServedModel): ServerPlanResult {
  const problems: string[] = [];
  const code = spec.code_configuration;
  const modelPath = spec.model?.path;
  if (!code) problems.push(`deployment "${spec.name}": code_configuration is required for a custom_model (add code: <folder> and scoring_script: score.py)`);
  if (!modelPath) problems.push(`deployment "${spec.name}": model.path is required on the docker target (a local folder or file)`);
  if (!code || !modelPath) return { ok: false, problems };
  const condaFile = spec.environment?.conda_file;
  const { modelDir, target } = modelMount(spec);
  return {
    ok: true,
    plan: {
      image: { kind: "custom-server", condaFile, fingerprintPaths: [TEMPLATE_DIR, ...(condaFile ? [condaFile] : [])] },
      port: 5001,
      binds: [
        { source: code.code, target: `${APP_ROOT}/code`, readOnly: true },
        { source: modelPath, target, readOnly: true },
      ],
      env: { AZUREML_ENTRY_SCRIPT: `code/${code.scoring_script}`, AZUREML_MODEL_DIR: modelDir },
      // The server answers GET / only once init() has succeeded: it is both liveness and readiness.
      routes: { scoring: "/score", readiness: "/", liveness: "/", swagger: "/swagger.json" },
      modelServer: "azureml-inference-server-http",
      contentPaths: [code.code, modelPath],
    },
  };
}
