import type { BatchDeploymentSpec } from "../spec";
import type { BindMount } from "../providers/docker/container";
import { APP_ROOT, planCustomServer } from "./custom";
import { planMlflowServer } from "./mlflow";
import type { ServerPlan } from "./plan";

/**
 * What a batch deployment's workers run: the image of the online plan for the same model (the
 * MLflow server image for an MLflow model without code, the custom server image for a scoring
 * script), with model and code mounted read-only at the same places, so AZUREML_MODEL_DIR reads
 * the same in batch as online. No container is started for it: the server starts workers per job.
 */
export interface BatchServerPlan {
  image: ServerPlan["image"];
  /** The management API's `model_server` of a batch deployment. */
  modelServer: "mlflow" | "custom";
  binds: BindMount[];
  /** Container path of AZUREML_MODEL_DIR. */
  modelDir: string;
  /** Container path of the code folder and the script in it (custom scoring only). */
  codeDir?: string;
  scoringScript?: string;
  /** Variables the online plan sets (AZUREML_MODEL_DIR, MLFLOW_MODEL_DIR, ...), given to every worker. */
  env: Record<string, string>;
  /** Files whose content is the deployment's identity. */
  contentPaths: string[];
}

export type BatchServerPlanResult = { ok: true; plan: BatchServerPlan } | { ok: false; problems: string[] };

/** Picks the image and mounts of a batch deployment from its model type and code. */
export function planBatchServer(spec: BatchDeploymentSpec): BatchServerPlanResult {
  if (spec.type === "pipeline") {
    return { ok: false, problems: [`batch deployment "${spec.name}": type pipeline (a pipeline component) does not run on the docker target; deploy a model instead (type: model, with model: and, unless it is an MLflow model, code_configuration)`] };
  }
  const type = spec.model.type;
  if (type === "triton_model") return { ok: false, problems: [`batch deployment "${spec.name}": model.type triton_model is for online endpoints; a batch deployment takes an mlflow_model, or a custom_model with code_configuration (scoring_script with init() and run(mini_batch))`] };
  if (spec.environment?.inference_config) return { ok: false, problems: [`batch deployment "${spec.name}": environment.inference_config (a custom container) is for online deployments; remove it, batch workers run your scoring script with init() and run(mini_batch)`] };
  if (type === "mlflow_model" && !spec.code_configuration) {
    const r = planMlflowServer(spec);
    if (!r.ok) return r;
    const modelDir = r.plan.env.AZUREML_MODEL_DIR!;
    return { ok: true, plan: { image: r.plan.image, modelServer: "mlflow", binds: r.plan.binds, modelDir, env: r.plan.env, contentPaths: r.plan.contentPaths } };
  }
  const r = planCustomServer(spec);
  if (!r.ok) return r;
  return {
    ok: true,
    plan: {
      image: r.plan.image,
      modelServer: "custom",
      binds: r.plan.binds,
      modelDir: r.plan.env.AZUREML_MODEL_DIR!,
      codeDir: `${APP_ROOT}/code`,
      scoringScript: spec.code_configuration!.scoring_script,
      env: r.plan.env,
      contentPaths: r.plan.contentPaths,
    },
  };
}
