import { statSync } from "node:fs";
import * as path from "node:path";
import { mlflowRequirementsFile, MLFLOW_SERVER_TEMPLATE_DIR } from "../images/mlflow-server";
import { modelMount, type ServedModel } from "./custom";
import type { ServerPlanResult } from "./plan";

/** Port of the MLflow server image (templates/servers/mlflow). */
export const MLFLOW_PORT = 5001;

/**
 * MLflow no-code deployment: MLflow's scoring server (uvicorn) serving the mounted MLmodel folder,
 * with the model's own requirements installed in the image. The gateway scores through `/score`
 * (MLflow's formats and Azure's `input_data`); `/invocations` is served too.
 */
export function planMlflowServer(spec: ServedModel): ServerPlanResult {
  const modelPath = spec.model?.path;
  const problems: string[] = [];
  if (!modelPath) problems.push(`deployment "${spec.name}": model.path is required for an mlflow_model on the docker target (the folder holding MLmodel)`);
  else {
    let isMlmodelFolder: boolean;
    try {
      isMlmodelFolder = statSync(path.join(modelPath, "MLmodel")).isFile();
    } catch {
      isMlmodelFolder = false;
    }
    if (!isMlmodelFolder) problems.push(`deployment "${spec.name}": model.path ${modelPath} has no MLmodel file; an mlflow_model is the folder MLflow saved (MLmodel, model files, conda.yaml/requirements.txt)`);
  }
  if (spec.code_configuration) problems.push(`deployment "${spec.name}": an mlflow_model deploys without code; remove code_configuration, or make the model a custom_model with a scoring script`);
  if (problems.length > 0 || !modelPath) return { ok: false, problems };
  const requirementsFile = mlflowRequirementsFile(modelPath);
  const { modelDir, target } = modelMount(spec);
  return {
    ok: true,
    plan: {
      image: { kind: "mlflow-server", condaFile: requirementsFile, fingerprintPaths: [MLFLOW_SERVER_TEMPLATE_DIR, ...(requirementsFile ? [requirementsFile] : [])] },
      port: MLFLOW_PORT,
      binds: [{ source: modelPath, target, readOnly: true }],
      env: { MLFLOW_MODEL_DIR: target, AZUREML_MODEL_DIR: modelDir },
      // The model loads before uvicorn binds the port: /ping answering 200 means ready.
      routes: { scoring: "/score", readiness: "/ping", liveness: "/health" },
      modelServer: "mlflow",
      contentPaths: [modelPath],
    },
  };
}
