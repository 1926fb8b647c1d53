import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { isApiNotFound, ManagementApiError, managementRequest, type ManagementAccess } from "./client";
import { diffFields } from "./diff-fields";
import { deploymentRoute, type DeploymentState, readDeploymentRegistration } from "./deployment-registration";

export interface BatchJobSettings {
  max_concurrency_per_instance: number;
  mini_batch_size: number;
  output_action: "append_row" | "summary_only";
  output_file_name: string;
  retry_settings: { max_retries: number; timeout: number };
  error_threshold: number;
  logging_level: "debug" | "info" | "warning";
  environment_variables: Record<string, string>;
}

/** The management API's batch deployment body (docs/batch-api.md), plus where to reach the API. */
export interface BatchDeploymentInputs extends ManagementAccess {
  endpointName: string;
  name: string;
  /** The worker image (a stack image: `<stack prefix>/<kind>-<name>:<fingerprint>`). */
  image: string;
  /** Name of a cluster of the control plane. */
  cluster: string;
  model_server: "mlflow" | "custom";
  /** Container path of AZUREML_MODEL_DIR. */
  model_dir: string;
  code_dir?: string;
  scoring_script?: string;
  /** Model and code, mounted read-only into each worker. */
  binds: { source: string; target: string }[];
  /** Kubernetes: model and code as ConfigMap volumes of the worker pods (binds are then empty). @default none */
  pod_volumes?: { config_map: string; mount_path: string; sub_path?: string; items: { key: string; path: string }[] }[];
  instance_count: number;
  settings: BatchJobSettings;
  environment_variables: Record<string, string>;
  /** Shown by `GET`; `content_hash` makes a model or code change an update in the preview. */
  spec?: Record<string, unknown>;
}
export interface BatchDeploymentOutputs extends BatchDeploymentInputs {
  provisioningState: string;
}

/** The PUT body: the inputs without the access fields and the ids in the path. */
export function batchDeploymentBody(i: BatchDeploymentInputs): Record<string, unknown> {
  const { managementUrl: _u, managementToken: _t, endpointName: _e, name: _n, ...rest } = i;
  return { kind: "batch", ...rest };
}

async function apply(i: BatchDeploymentInputs): Promise<BatchDeploymentOutputs> {
  let d = await managementRequest<DeploymentState>(i, "PUT", deploymentRoute(i), batchDeploymentBody(i));
  // A batch deployment consumes nothing until a job runs: the server answers Succeeded at once;
  // anything else is waited for briefly.
  for (let tries = 0; d.provisioningState !== "Succeeded" && d.provisioningState !== "Failed" && tries < 60; tries++) {
    await new Promise((r) => setTimeout(r, 250));
    d = await managementRequest<DeploymentState>(i, "GET", deploymentRoute(i));
  }
  if (d.provisioningState !== "Succeeded") {
    throw new Error(`batch deployment "${i.name}" of endpoint "${i.endpointName}" is ${d.provisioningState}: ${d.failureReason ?? "no reason given"}. Fix the deployment spec and run \`pulumi up\` again.`);
  }
  return { ...i, provisioningState: d.provisioningState };
}

export const BATCH_DEPLOYMENT_REPLACE_FIELDS = ["endpointName", "name"] as const;
const UPDATE_FIELDS = ["image", "cluster", "model_server", "model_dir", "code_dir", "scoring_script", "binds", "pod_volumes", "instance_count", "settings", "environment_variables", "spec", "managementUrl", "managementToken"] as const;

export const batchDeploymentProvider: pulumi.dynamic.ResourceProvider<BatchDeploymentInputs, BatchDeploymentOutputs> = {
  async diff(_id, olds, news) {
    return diffFields(olds, news, BATCH_DEPLOYMENT_REPLACE_FIELDS, UPDATE_FIELDS);
  },
  async create(inputs) {
    return { id: `${inputs.endpointName}/${inputs.name}`, outs: await apply(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: await apply(news) };
  },
  async read(id, props) {
    return readDeploymentRegistration(id, props as BatchDeploymentOutputs);
  },
  async delete(_id, props) {
    const p = props as BatchDeploymentOutputs;
    // The default deployment cannot go while others exist (409); when the whole endpoint goes,
    // the others are deleted alongside, so the default's delete is retried until they are gone.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await managementRequest(p, "DELETE", deploymentRoute(p));
        return;
      } catch (err) {
        if (isApiNotFound(err)) return;
        if (!(err instanceof ManagementApiError && err.status === 409) || Date.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  },
};

/** Registers a batch deployment (image, cluster, settings) with the control plane; starts no container. */
export class BatchDeploymentResource extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly provisioningState: pulumi.Output<string>;
  constructor(name: string, args: Inputs<BatchDeploymentInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("src/providers/management/batch-deployment.ts", "batchDeploymentProvider"),
      name,
      { ...args, provisioningState: undefined },
      { ...opts, additionalSecretOutputs: ["managementToken"] },
      "modelplane",
      "BatchDeployment",
    );
  }
}
