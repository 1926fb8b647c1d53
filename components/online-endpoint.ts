import * as pulumi from "@pulumi/pulumi";
import { checkTraffic, type OnlineDeploymentSpec, type OnlineEndpointSpec } from "../src/spec";
import { EndpointResource } from "../src/providers/management/endpoint";
import { TrafficResource } from "../src/providers/management/traffic";
import type { ControlPlane } from "./control-plane";
import { OnlineDeployment, type OnlineDeploymentArgs } from "./online-deployment";

export interface OnlineEndpointArgs {
  /** The stack's control plane. */
  controlPlane: ControlPlane;
  /** The validated endpoint spec (src/spec); its `traffic` and `mirror_traffic` are applied. */
  spec: OnlineEndpointSpec;
  /** Its deployments (at least one; each names this endpoint). */
  deployments: OnlineDeploymentSpec[];
  /** Image the server images build FROM. @default "modelplane/base:bookworm" */
  baseImage?: string;
  /** Passed to each OnlineDeployment (`modelplane:tritonImage`, resolved). */
  tritonImage?: OnlineDeploymentArgs["tritonImage"];
  /** Passed to each OnlineDeployment (`modelplane:gpus`). @default "off" */
  gpus?: OnlineDeploymentArgs["gpus"];
}

/** Pure validation: the ARM rules an endpoint component relies on, as messages with the fix. */
export function validateOnlineEndpointArgs(spec: OnlineEndpointSpec, deployments: OnlineDeploymentSpec[]): string[] {
  const problems: string[] = [];
  if (deployments.length === 0) problems.push(`endpoint "${spec.name}" has no deployment: add at least one deployment whose endpoint_name is "${spec.name}"`);
  for (const d of deployments) {
    if (d.endpoint_name !== spec.name) problems.push(`deployment "${d.name}" has endpoint_name "${d.endpoint_name}", not "${spec.name}": fix endpoint_name or pass it to the right endpoint`);
  }
  for (const issue of checkTraffic(spec, deployments.map((d) => d.name))) {
    if (issue.severity === "error") problems.push(`${issue.message} (${issue.field}) - ${issue.fix}`);
  }
  return problems;
}

/**
 * An online endpoint: its ARM-like registration (name, auth, keys), its deployments, and the
 * traffic/mirror split, applied only once every deployment it names is ready.
 */
export class OnlineEndpoint extends pulumi.ComponentResource {
  readonly scoringUri: pulumi.Output<string>;
  readonly swaggerUri: pulumi.Output<string>;
  readonly authMode: string;
  readonly primaryKey: pulumi.Output<string>;
  readonly secondaryKey: pulumi.Output<string>;
  readonly deployments: OnlineDeployment[];

  constructor(name: string, args: OnlineEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:OnlineEndpoint", name, {}, opts);
    const problems = validateOnlineEndpointArgs(args.spec, args.deployments);
    if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
    const cp = args.controlPlane;
    const spec = args.spec;

    const endpoint = new EndpointResource(
      `${name}-endpoint`,
      { managementUrl: cp.managementUrl, managementToken: cp.managementToken, name: spec.name, auth_mode: spec.auth_mode, description: spec.description, tags: spec.tags },
      { parent: this, dependsOn: [cp.server] },
    );
    this.deployments = args.deployments.map(
      (d) => new OnlineDeployment(`${name}-${d.name}`, { controlPlane: cp, endpointName: endpoint.name, spec: d, baseImage: args.baseImage, tritonImage: args.tritonImage, gpus: args.gpus }, { parent: this }),
    );
    new TrafficResource(
      `${name}-traffic`,
      { managementUrl: cp.managementUrl, managementToken: cp.managementToken, endpointName: endpoint.name, traffic: spec.traffic, mirror_traffic: spec.mirror_traffic },
      { parent: this, dependsOn: [cp.server, ...this.deployments.map((d) => d.registration)] },
    );

    this.scoringUri = pulumi.interpolate`${cp.gatewayUrl}/endpoints/${endpoint.name}/score`;
    this.swaggerUri = pulumi.interpolate`${cp.gatewayUrl}/endpoints/${endpoint.name}/swagger.json`;
    this.authMode = spec.auth_mode;
    this.primaryKey = pulumi.secret(endpoint.primaryKey);
    this.secondaryKey = pulumi.secret(endpoint.secondaryKey);
    this.registerOutputs({ scoringUri: this.scoringUri, swaggerUri: this.swaggerUri, primaryKey: this.primaryKey, secondaryKey: this.secondaryKey });
  }
}
