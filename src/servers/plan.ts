import type { OnlineDeploymentSpec } from "../spec";
import type { BindMount } from "../providers/docker/container";
import type { ImageKind } from "../providers/images/image";
import { planByocServer } from "./byoc";
import { planCustomServer } from "./custom";
import { planMlflowServer } from "./mlflow";
import { planTritonServer } from "./triton";

/** How one deployment's instances run: which image, what is mounted, which routes the gateway and probes use. */
export interface ServerPlan {
  /** The image to build for the deployment (content-hashed from `fingerprintPaths`). */
  image: {
    kind: ImageKind;
    condaFile?: string;
    fingerprintPaths: string[];
    extra?: string[];
    /**
     * What the builder builds from, when not a template: for `byoc`, `image:<ref>` or
     * `build:<context dir>[#<dockerfile>]` (src/images/byoc.ts). Must reach ImageInputs.source.
     */
    source?: string;
  };
  /** Port the server listens on inside the container. */
  port: number;
  binds: BindMount[];
  env: Record<string, string>;
  routes: { scoring: string; readiness: string; liveness: string; swagger?: string };
  /** Name shown in the management API (`model_server`). */
  modelServer: string;
  /** Files whose content is part of each instance's identity (a change replaces instances). */
  contentPaths: string[];
}

/** A plan, or the problems (field, value, fix) that keep the deployment from running on Docker. */
export type ServerPlanResult = { ok: true; plan: ServerPlan } | { ok: false; problems: string[] };

/** Picks the inference server for a deployment from its model type and environment. */
export function planServer(spec: OnlineDeploymentSpec): ServerPlanResult {
  const type = spec.model?.type ?? "custom_model";
  if (spec.environment?.inference_config) {
    if (type !== "custom_model") return { ok: false, problems: [`deployment "${spec.name}": environment.inference_config (a custom container) goes with model.type custom_model, not "${type}"; remove inference_config to use the ${type === "mlflow_model" ? "MLflow" : "Triton"} server`] };
    return planByocServer(spec);
  }
  if (type === "mlflow_model") return planMlflowServer(spec);
  if (type === "triton_model") return planTritonServer(spec);
  return planCustomServer(spec);
}
