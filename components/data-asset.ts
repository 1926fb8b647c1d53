import * as pulumi from "@pulumi/pulumi";
import type { DataAssetSpec } from "../src/spec";
import { localManifest, manifestDigest } from "../src/datastore/manifest";
import { DataAssetResource } from "../src/providers/management/data-asset";
import type { ControlPlane } from "./control-plane";

export interface DataAssetArgs {
  /** The stack's control plane (its datastore holds the files). */
  controlPlane: ControlPlane;
  /** The validated data asset spec (src/spec, Azure's data YAML), its path absolute. */
  spec: DataAssetSpec;
}

/**
 * A data asset version: its folder or file uploaded to the stack's datastore (content-addressed:
 * unchanged files are not sent again) and registered, so a job can take `azureml:<name>@latest`
 * or `azureml:<name>:<version>` as input. A change of the files' names or bytes is an update.
 */
export class DataAsset extends pulumi.ComponentResource {
  /** `azureml:<name>:<version>`: what a job's input names. */
  readonly reference: string;
  /** Where the datastore holds the files (`datastore://...`). */
  readonly datastorePath: pulumi.Output<string>;

  constructor(name: string, args: DataAssetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:DataAsset", name, {}, opts);
    const cp = args.controlPlane;
    const s = args.spec;
    const digest = pulumi.output(
      localManifest(s.path).then(manifestDigest, (err: Error) => {
        throw new pulumi.ResourceError(`data asset "${s.name}" version ${s.version}: ${err.message}; fix path in its YAML file`, this);
      }),
    );
    const asset = new DataAssetResource(
      `${name}-data`,
      { managementUrl: cp.managementUrl, managementToken: cp.managementToken, name: s.name, version: s.version, type: s.type, localPath: s.path, contentDigest: digest },
      { parent: this, dependsOn: [cp.server] },
    );
    this.reference = `azureml:${s.name}:${s.version}`;
    this.datastorePath = asset.path;
    this.registerOutputs({ datastorePath: this.datastorePath });
  }
}
