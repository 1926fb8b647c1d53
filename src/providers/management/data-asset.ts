import * as pulumi from "@pulumi/pulumi";
import * as nodePath from "node:path";
import { localManifest, manifestDigest } from "../../datastore/manifest";
import { uploadFolder } from "../../datastore/upload";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { getUnlessGone, ManagementApiError, managementRequest, type ManagementAccess, unlessGone } from "./client";
import { diffFields } from "./diff-fields";

export interface DataAssetInputs extends ManagementAccess {
  name: string;
  version: string;
  type: "uri_folder" | "uri_file";
  /** Absolute host path of the folder or file. */
  localPath: string;
  /** manifestDigest of its files (computed by the program): changed bytes or names are an update. */
  contentDigest: string;
}
export interface DataAssetOutputs extends DataAssetInputs {
  /** Where the datastore holds it: `datastore://folders/<hash>` (uri_file: `.../<file name>`). */
  path: string;
}

function route(i: Pick<DataAssetInputs, "name" | "version">): string {
  return `/data/${encodeURIComponent(i.name)}/versions/${encodeURIComponent(i.version)}`;
}

/** Uploads the files the datastore lacks (content-addressed), then registers the version on that folder. */
async function apply(i: DataAssetInputs): Promise<DataAssetOutputs> {
  const files = await localManifest(i.localPath).catch((err: Error) => {
    throw new Error(`data asset "${i.name}" version ${i.version}: ${err.message}; fix path in its YAML file`);
  });
  const digest = manifestDigest(files);
  if (digest !== i.contentDigest) throw new Error(`data asset "${i.name}" version ${i.version}: ${i.localPath} changed while \`pulumi up\` ran; run it again`);
  const uploaded = await uploadFolder(i, files);
  pulumi.log.info(`data asset ${i.name}:${i.version}: ${files.length} file(s), ${uploaded.uploaded} uploaded, ${uploaded.skipped} already in the datastore -> ${uploaded.uri}`);
  const path = i.type === "uri_file" ? `${uploaded.uri}/${nodePath.basename(i.localPath)}` : uploaded.uri;
  await managementRequest(i, "PUT", route(i), { type: i.type, path });
  return { ...i, path };
}

export const DATA_ASSET_REPLACE_FIELDS = ["name", "version"] as const;

export const dataAssetProvider: pulumi.dynamic.ResourceProvider<DataAssetInputs, DataAssetOutputs> = {
  async diff(_id, olds, news) {
    return diffFields(olds, news, DATA_ASSET_REPLACE_FIELDS, ["type", "localPath", "contentDigest", "managementUrl", "managementToken"]);
  },
  async create(inputs) {
    return { id: `${inputs.name}:${inputs.version}`, outs: await apply(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: await apply(news) };
  },
  async read(id, props) {
    const p = props as DataAssetOutputs;
    const d = await getUnlessGone<{ type: DataAssetInputs["type"]; path: string }>(p, route(p));
    return d ? { id, props: { ...p, type: d.type, path: d.path } } : {};
  },
  async delete(_id, props) {
    // The blobs stay in the datastore (other folders may share them); the version goes where the API allows it.
    await unlessGone(managementRequest(props as DataAssetOutputs, "DELETE", route(props as DataAssetOutputs)), (err) => err instanceof ManagementApiError && err.status === 405);
  },
};

/** A data asset version in the control plane, its files uploaded to the stack's datastore. */
export class DataAssetResource extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  constructor(name: string, args: Inputs<DataAssetInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/management/data-asset.ts", "dataAssetProvider"), name, { ...args, path: undefined }, { ...opts, additionalSecretOutputs: ["managementToken"] }, "modelplane", "DataAsset");
  }
}
