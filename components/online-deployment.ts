import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { OnlineDeploymentSpec } from "../src/spec";
import { DockerContainer } from "../src/providers/docker/container";
import { LABELS, stackLabels } from "../src/providers/docker/labels";
import { fingerprint, StackImage } from "../src/providers/images/image";
import { DeploymentResource } from "../src/providers/management/deployment";
import type { ControlPlane } from "./control-plane";

export interface OnlineDeploymentArgs {
  /** The stack's control plane (network, management API). */
  controlPlane: ControlPlane;
  /** Name of the endpoint this deployment belongs to (its EndpointResource's name). */
  endpointName: pulumi.Input<string>;
  /** The validated deployment spec (src/spec), with paths resolved to absolute ones. */
  spec: OnlineDeploymentSpec;
  /** Image the server images build FROM. @default "modelplane/base:bookworm" */
  baseImage?: string;
}

/** Where the custom-scoring server image expects code and model (templates/servers/custom/README.md). */
const APP_ROOT = "/var/azureml-app";
const SERVER_PORT = 5001;
const CUSTOM_SERVER_TEMPLATE = path.resolve(__dirname, "../templates/servers/custom");

/** Pure check of what the docker target can run today; messages name the field and the fix. */
export function validateDeploymentForDocker(spec: OnlineDeploymentSpec): string[] {
  const problems: string[] = [];
  const type = spec.model?.type ?? "custom_model";
  if (type !== "custom_model") problems.push(`deployment "${spec.name}": model.type "${type}" is not served on the docker target yet; use a custom_model with code_configuration`);
  if (!spec.code_configuration) problems.push(`deployment "${spec.name}": code_configuration is required for a custom_model (add code: <folder> and scoring_script: score.py)`);
  if (spec.environment?.inference_config) problems.push(`deployment "${spec.name}": environment.inference_config (bring-your-own container) is not supported on the docker target yet; remove it to use the custom scoring server`);
  if (!spec.model?.path) problems.push(`deployment "${spec.name}": model.path is required on the docker target (a local folder or file)`);
  return problems;
}

/** Azure's layout: AZUREML_MODEL_DIR is .../azureml-models/<name>/<version>, the model folder sits inside it. */
export function modelMount(spec: OnlineDeploymentSpec): { modelDir: string; target: string } {
  const modelDir = `${APP_ROOT}/azureml-models/${spec.model?.name ?? spec.name}/${spec.model?.version ?? "1"}`;
  return { modelDir, target: `${modelDir}/${path.basename(spec.model?.path ?? "model")}` };
}

/**
 * One online deployment on Docker: the custom-scoring server image for its environment,
 * `instance_count` containers with code and model mounted read-only, and its registration with
 * the control plane, which waits for readiness.
 */
export class OnlineDeployment extends pulumi.ComponentResource {
  readonly deploymentName: string;
  readonly provisioningState: pulumi.Output<string>;
  readonly containerNames: pulumi.Output<string[]>;
  /** The registration resource: traffic depends on it. */
  readonly registration: DeploymentResource;

  constructor(name: string, args: OnlineDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:OnlineDeployment", name, {}, opts);
    const spec = args.spec;
    const problems = validateDeploymentForDocker(spec);
    if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
    const cp = args.controlPlane;
    const stack = cp.stack;
    const baseImage = args.baseImage ?? "modelplane/base:bookworm";
    const condaFile = spec.environment?.conda_file;

    const image = new StackImage(
      `${name}-image`,
      {
        kind: "custom-server",
        baseImage,
        condaFile,
        fingerprint: fingerprint([CUSTOM_SERVER_TEMPLATE, ...(condaFile ? [condaFile] : [])], [baseImage]),
        stackRepository: `modelplane-${stack}/custom-server`,
      },
      { parent: this },
    );

    const code = spec.code_configuration!;
    const { modelDir, target } = modelMount(spec);
    // Code and model are part of each container's identity: a change replaces the instances
    // (create-before-delete), the registration then swaps to the new ones.
    const contentHash = fingerprint([code.code, spec.model!.path!]).slice(0, 12);
    const containers: DockerContainer[] = [];
    for (let i = 0; i < spec.instance_count; i++) {
      containers.push(
        new DockerContainer(
          `${name}-${i}`,
          {
            name: pulumi.interpolate`modelplane-${stack}-${args.endpointName}-${spec.name}-${i}`,
            image: image.imageRef,
            env: {
              ...spec.environment_variables,
              AZUREML_ENTRY_SCRIPT: `code/${code.scoring_script}`,
              AZUREML_MODEL_DIR: modelDir,
              MODELPLANE_CONTENT_HASH: contentHash,
            },
            labels: pulumi.output(args.endpointName).apply((e) =>
              stackLabels(stack, { [LABELS.role]: "instance", [LABELS.endpoint]: e, [LABELS.deployment]: spec.name }),
            ),
            binds: [
              { source: code.code, target: `${APP_ROOT}/code`, readOnly: true },
              { source: spec.model!.path!, target, readOnly: true },
            ],
            network: cp.networkName,
          },
          { parent: this },
        ),
      );
    }

    const rs = spec.request_settings;
    this.registration = new DeploymentResource(
      `${name}-registration`,
      {
        managementUrl: cp.managementUrl,
        managementToken: cp.managementToken,
        endpointName: args.endpointName,
        name: spec.name,
        instances: pulumi.all(containers.map((c) => c.containerName)).apply((names) => names.map((n, i) => ({ id: `${spec.name}-${i}`, url: `http://${n}:${SERVER_PORT}` }))),
        routes: { scoring: "/score", readiness: "/", liveness: "/", swagger: "/swagger.json" },
        request_settings: { request_timeout_ms: rs.request_timeout_ms, max_concurrent_requests_per_instance: rs.max_concurrent_requests_per_instance, max_queue_wait_ms: rs.max_queue_wait_ms },
        readiness_probe: spec.readiness_probe,
        liveness_probe: spec.liveness_probe,
        model_server: "azureml-inference-server-http",
        spec: { model: spec.model?.name ?? path.basename(spec.model?.path ?? ""), instance_type: spec.instance_type, instance_count: spec.instance_count, tags: spec.tags },
        containerNames: pulumi.all(containers.map((c) => c.containerName)),
      },
      { parent: this, dependsOn: containers },
    );

    this.deploymentName = spec.name;
    this.provisioningState = this.registration.provisioningState;
    this.containerNames = pulumi.all(containers.map((c) => c.containerName));
    this.registerOutputs({ provisioningState: this.provisioningState, containerNames: this.containerNames });
  }
}
