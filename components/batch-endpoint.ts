import * as pulumi from "@pulumi/pulumi";
import { clusterNameOf, type BatchDeploymentSpec, type BatchEndpointSpec } from "../src/spec";
import { BatchEndpointResource } from "../src/providers/management/batch-endpoint";
import { DefaultsResource } from "../src/providers/management/defaults";
import type { BatchCluster } from "./batch-cluster";
import { BatchDeployment } from "./batch-deployment";
import type { ControlPlane } from "./control-plane";

export interface BatchEndpointArgs {
  /** The stack's control plane. */
  controlPlane: ControlPlane;
  /** The validated batch endpoint spec (src/spec); `defaults.deployment_name` is applied. */
  spec: BatchEndpointSpec;
  /** Its deployments (at least one; each names this endpoint and a cluster in `clusters`). */
  deployments: BatchDeploymentSpec[];
  /** The stack's clusters, which the deployments' `compute` names. */
  clusters: BatchCluster[];
  /** Image the worker images build FROM. @default "modelplane/base:bookworm" */
  baseImage?: string;
}

/** The default deployment: `defaults.deployment_name`, else the first deployment given (Azure: the first one created). */
export function defaultDeploymentOf(spec: BatchEndpointSpec, deployments: BatchDeploymentSpec[]): string | undefined {
  return spec.default_deployment ?? deployments[0]?.name;
}

/** Pure validation: the rules a batch endpoint component relies on, as messages with the fix. */
export function validateBatchEndpointArgs(spec: BatchEndpointSpec, deployments: BatchDeploymentSpec[], clusterNames: string[]): string[] {
  const problems: string[] = [];
  if (deployments.length === 0) {
    problems.push(`batch endpoint "${spec.name}" has no deployment: add at least one batch deployment whose endpoint_name is "${spec.name}" (and compute: azureml:<cluster>)`);
  }
  const names = deployments.map((d) => d.name);
  for (const d of deployments) {
    if (d.endpoint_name !== spec.name) problems.push(`batch deployment "${d.name}" has endpoint_name "${d.endpoint_name}", not "${spec.name}": fix endpoint_name or pass it to the right endpoint`);
    if (d.type === "pipeline") {
      problems.push(`batch deployment "${d.name}" is type pipeline, which does not run on the docker target: deploy a model (type: model)`);
      continue;
    }
    const known = clusterNames.join(", ") || "none";
    if (d.compute === undefined) problems.push(`batch deployment "${d.name}" names no compute cluster: add compute: azureml:<cluster> (clusters here: ${known})`);
    else if (!clusterNames.some((c) => c.toLowerCase() === clusterNameOf(d.compute!).toLowerCase())) {
      problems.push(`batch deployment "${d.name}": compute "${d.compute}" names no cluster of this stack (clusters here: ${known}): add an amlCompute YAML named "${clusterNameOf(d.compute)}" or fix compute`);
    }
  }
  if (spec.default_deployment !== undefined && deployments.length > 0 && !names.includes(spec.default_deployment)) {
    problems.push(`batch endpoint "${spec.name}": defaults.deployment_name "${spec.default_deployment}" is not one of its deployments (${names.join(", ")}): name one of them, or add that deployment`);
  }
  return problems;
}

/**
 * A batch endpoint: its registration (a stable invocation URL, token auth), its deployments
 * (images built, nothing started) and its default deployment, set once every deployment is
 * registered. Switching the default is one in-place update of the Defaults resource.
 */
export class BatchEndpoint extends pulumi.ComponentResource {
  /** `POST` here (with a token of the endpoint) starts a job: `<gateway>/endpoints/<name>/jobs`. */
  readonly invocationUri: pulumi.Output<string>;
  readonly defaultDeployment: string;
  readonly authMode = "aad_token" as const;
  readonly primaryKey: pulumi.Output<string>;
  readonly secondaryKey: pulumi.Output<string>;
  readonly deployments: BatchDeployment[];

  constructor(name: string, args: BatchEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:BatchEndpoint", name, {}, opts);
    const problems = validateBatchEndpointArgs(args.spec, args.deployments, args.clusters.map((c) => c.clusterName));
    if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
    const cp = args.controlPlane;
    const spec = args.spec;
    const endpoint = new BatchEndpointResource(
      `${name}-endpoint`,
      { managementUrl: cp.managementUrl, managementToken: cp.managementToken, name: spec.name, auth_mode: spec.auth_mode, description: spec.description, tags: spec.tags },
      { parent: this, dependsOn: [cp.server] },
    );
    this.deployments = args.deployments.map((d) => {
      const cluster = args.clusters.find((c) => c.clusterName.toLowerCase() === clusterNameOf(d.type === "model" ? (d.compute ?? "") : "").toLowerCase())!;
      return new BatchDeployment(`${name}-${d.name}`, { controlPlane: cp, endpointName: endpoint.name, spec: d, cluster, baseImage: args.baseImage }, { parent: this });
    });
    this.defaultDeployment = defaultDeploymentOf(spec, args.deployments)!;
    new DefaultsResource(
      `${name}-defaults`,
      { managementUrl: cp.managementUrl, managementToken: cp.managementToken, endpointName: endpoint.name, deployment_name: this.defaultDeployment },
      { parent: this, dependsOn: [cp.server, ...this.deployments.map((d) => d.registration)] },
    );
    this.invocationUri = pulumi.interpolate`${cp.gatewayUrl}/endpoints/${endpoint.name}/jobs`;
    this.primaryKey = pulumi.secret(endpoint.primaryKey);
    this.secondaryKey = pulumi.secret(endpoint.secondaryKey);
    this.registerOutputs({ invocationUri: this.invocationUri, defaultDeployment: this.defaultDeployment, primaryKey: this.primaryKey, secondaryKey: this.secondaryKey });
  }
}
