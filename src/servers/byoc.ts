import type { OnlineDeploymentSpec } from "../spec";
import { encodeByocSource } from "../images/byoc";
import { APP_ROOT, modelMount } from "./custom";
import type { ServerPlanResult } from "./plan";

/**
 * Bring-your-own-container deployment: the environment's image (or a build of its Dockerfile
 * context) with the routes and port of `environment.inference_config`. The model, when given, is
 * mounted read-only where Azure puts it (AZUREML_MODEL_DIR); code_configuration, when given, at
 * /var/azureml-app/code.
 */
export function planByocServer(spec: OnlineDeploymentSpec): ServerPlanResult {
  const env = spec.environment;
  const ic = env?.inference_config;
  const problems: string[] = [];
  const where = `deployment "${spec.name}"`;
  if (!env?.image && !env?.build) problems.push(`${where}: environment.inference_config needs the container: set environment.image, or environment.build.path (a Dockerfile context)`);
  if (env?.image && env?.build) problems.push(`${where}: set environment.image or environment.build, not both`);
  for (const r of ["liveness_route", "readiness_route", "scoring_route"] as const) {
    if (!ic?.[r]) problems.push(`${where}: environment.inference_config.${r} is required for a custom container ({port, path})`);
    else if (!ic[r].path.startsWith("/")) problems.push(`${where}: environment.inference_config.${r}.path "${ic[r].path}" must start with "/"`);
    else if (!(ic[r].port >= 1 && ic[r].port <= 65535)) problems.push(`${where}: environment.inference_config.${r}.port ${ic[r].port} is not a TCP port (1-65535)`);
  }
  if (ic?.scoring_route && ic.liveness_route && ic.readiness_route) {
    const ports = new Set([ic.scoring_route.port, ic.liveness_route.port, ic.readiness_route.port]);
    if (ports.size > 1) problems.push(`${where}: environment.inference_config routes use ports ${[...ports].join(", ")}; the docker target reaches each instance on one port, so serve liveness, readiness and scoring on the scoring_route port`);
  }
  if (problems.length > 0 || !ic?.scoring_route || !ic.liveness_route || !ic.readiness_route) return { ok: false, problems };

  const source = env?.image
    ? encodeByocSource({ image: env.image })
    : encodeByocSource({ context: env!.build!.path, ...(env!.build!.dockerfile_path ? { dockerfile: env!.build!.dockerfile_path } : {}) });
  const binds = [];
  const vars: Record<string, string> = {};
  const contentPaths: string[] = [];
  if (spec.model?.path) {
    const { modelDir, target } = modelMount(spec);
    binds.push({ source: spec.model.path, target, readOnly: true });
    vars.AZUREML_MODEL_DIR = modelDir;
    contentPaths.push(spec.model.path);
  }
  if (spec.code_configuration) {
    binds.push({ source: spec.code_configuration.code, target: `${APP_ROOT}/code`, readOnly: true });
    vars.AZUREML_ENTRY_SCRIPT = `code/${spec.code_configuration.scoring_script}`;
    contentPaths.push(spec.code_configuration.code);
  }
  return {
    ok: true,
    plan: {
      // An image reference is identified by its name; a build by its whole context (files and bytes).
      image: { kind: "byoc", source, fingerprintPaths: env?.image ? [] : [env!.build!.path], extra: [source] },
      port: ic.scoring_route.port,
      binds,
      env: vars,
      routes: { scoring: ic.scoring_route.path, readiness: ic.readiness_route.path, liveness: ic.liveness_route.path },
      modelServer: "custom-container",
      contentPaths,
    },
  };
}
