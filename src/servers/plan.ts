import type { OnlineDeploymentSpec } from "../spec";
import type { BindMount } from "../providers/docker/container";
import type { ImageKind } from "../providers/images/image";
import { planCustomServer } from "./custom";

/** How one deployment's instances run: which image, what is mounted, which routes the gateway and probes use. */
export interface ServerPlan {
  /** The image to build for the deployment (content-hashed from `fingerprintPaths`). */
  image: { kind: ImageKind; condaFile?: string; fingerprintPaths: string[]; extra?: string[] };
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
    return { ok: false, problems: [`deployment "${spec.name}": environment.inference_config (bring-your-own container) is not supported on the docker target yet; remove it to use the custom scoring server`] };
  }
  if (type !== "custom_model") {
    return { ok: false, problems: [`deployment "${spec.name}": model.type "${type}" is not served on the docker target yet; use a custom_model with code_configuration`] };
  }
  return planCustomServer(spec);
}
