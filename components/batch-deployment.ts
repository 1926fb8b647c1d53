import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { clusterNameOf, type BatchDeploymentSpec } from "../src/spec";
import { planBatchServer } from "../src/servers/batch";
import { stackObjectNames } from "../src/providers/docker/names";
import { fingerprint, StackImage } from "../src/providers/images/image";
import { BatchDeploymentResource } from "../src/providers/management/batch-deployment";
import type { BatchCluster } from "./batch-cluster";
import type { ControlPlane } from "./control-plane";

export interface BatchDeploymentArgs {
  /** The stack's control plane (management API). */
  controlPlane: ControlPlane;
  /** Name of the batch endpoint this deployment belongs to (its BatchEndpointResource's name). */
  endpointName: pulumi.Input<string>;
  /** The validated batch deployment spec (src/spec), `type: model`, paths absolute. */
  spec: BatchDeploymentSpec;
  /** The cluster its `compute` names. */
  cluster: BatchCluster;
  /** Image the worker image builds FROM. @default "modelplane/base:bookworm" */
  baseImage?: string;
}

/**
 * One batch deployment: its worker image, built exactly as an online deployment's of the same
 * model (src/servers/batch.ts: the MLflow server image for an MLflow model, the custom server
 * image for a scoring script; content-hashed and cached), and its registration with the control
 * plane. No container is started: the server starts workers per job, on the deployment's cluster.
 */
export class BatchDeployment extends pulumi.ComponentResource {
  readonly deploymentName: string;
  readonly provisioningState: pulumi.Output<string>;
  readonly imageRef: pulumi.Output<string>;
  /** The registration resource: the endpoint's Defaults depends on it. */
  readonly registration: BatchDeploymentResource;

  constructor(name: string, args: BatchDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:BatchDeployment", name, {}, opts);
    const spec = args.spec;
    const planned = planBatchServer(spec);
    if (!planned.ok) throw new pulumi.ResourceError(planned.problems.join("\n"), this);
    if (spec.type !== "model") throw new pulumi.ResourceError(`batch deployment "${spec.name}": only type model runs here`, this); // not reached: the plan refuses pipelines
    const computeName = spec.compute === undefined ? undefined : clusterNameOf(spec.compute);
    if (computeName?.toLowerCase() !== args.cluster.clusterName.toLowerCase()) {
      throw new pulumi.ResourceError(`batch deployment "${spec.name}": compute ${JSON.stringify(spec.compute ?? null)} does not name cluster "${args.cluster.clusterName}" it was given: pass the cluster its compute names`, this);
    }
    const plan = planned.plan;
    const cp = args.controlPlane;
    const stack = cp.stack;
    const baseImage = args.baseImage ?? "modelplane/base:bookworm";
    const image = new StackImage(
      `${name}-image`,
      {
        kind: plan.image.kind,
        baseImage,
        condaFile: plan.image.condaFile,
        source: plan.image.source,
        fingerprint: fingerprint(plan.image.fingerprintPaths, [baseImage, ...(plan.image.extra ?? [])]),
        // One tag per deployment, under the stack's prefix: the only images the server may start workers from.
        stackRepository: cp.stackId.apply((id) => stackObjectNames(stack, id).imageRepository(`${plan.image.kind}-${name.toLowerCase()}`)),
      },
      { parent: this },
    );
    const workers = cp.target.batchWorkers({ name, parent: this, stack, deployment: spec.name, imageRef: image.imageRef, binds: plan.binds.map((b) => ({ source: b.source, target: b.target })) });
    const s = spec.settings;
    this.registration = new BatchDeploymentResource(
      `${name}-registration`,
      {
        managementUrl: cp.managementUrl,
        managementToken: cp.managementToken,
        endpointName: args.endpointName,
        name: spec.name,
        image: workers.image,
        cluster: args.cluster.clusterName,
        model_server: plan.modelServer,
        model_dir: plan.modelDir,
        ...(plan.codeDir !== undefined ? { code_dir: plan.codeDir } : {}),
        ...(plan.scoringScript !== undefined ? { scoring_script: plan.scoringScript } : {}),
        binds: workers.binds,
        ...(workers.podVolumes ? { pod_volumes: workers.podVolumes } : {}),
        instance_count: spec.resources.instance_count,
        settings: {
          max_concurrency_per_instance: s.max_concurrency_per_instance,
          mini_batch_size: s.mini_batch_size,
          output_action: s.output_action,
          output_file_name: s.output_file_name,
          retry_settings: { max_retries: s.retry_settings.max_retries, timeout: s.retry_settings.timeout },
          error_threshold: s.error_threshold,
          logging_level: s.logging_level,
          environment_variables: s.environment_variables,
        },
        environment_variables: plan.env,
        spec: {
          model: spec.model.name ?? path.basename(spec.model.path ?? ""),
          ...(spec.model.version !== undefined ? { model_version: spec.model.version } : {}),
          ...(spec.description !== undefined ? { description: spec.description } : {}),
          tags: spec.tags,
          // Model and code are read by the workers from the host: a change of their bytes is an update.
          content_hash: fingerprint(plan.contentPaths).slice(0, 12),
        },
      },
      { parent: this, dependsOn: [cp.server, args.cluster.registration, ...workers.dependsOn] },
    );
    this.deploymentName = spec.name;
    this.provisioningState = this.registration.provisioningState;
    this.imageRef = image.imageRef;
    this.registerOutputs({ provisioningState: this.provisioningState, imageRef: this.imageRef });
  }
}
