import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { getUnlessGone, managementRequest, type ManagementAccess, unlessGone } from "./client";
import { diffFields } from "./diff-fields";

export interface BatchEndpointInputs extends ManagementAccess {
  name: string;
  /** Batch endpoints take tokens only (Azure's aad_token); the server issues its own (aml_token). */
  auth_mode: "aad_token";
  description?: string;
  tags?: Record<string, string>;
}
export interface BatchEndpointOutputs extends BatchEndpointInputs {
  provisioningState: string;
  primaryKey: string;
  secondaryKey: string;
}
interface EndpointState {
  name: string;
  kind?: string;
  provisioningState: string;
  description?: string;
  tags?: Record<string, string>;
}

function path(name: string): string {
  return `/endpoints/${encodeURIComponent(name)}`;
}

/** The management API body: `kind: batch` (a PUT of another kind on an existing name is 409 kind_mismatch). */
export function batchEndpointBody(i: BatchEndpointInputs): { kind: "batch"; auth_mode: "aml_token"; description?: string; tags: Record<string, string> } {
  return { kind: "batch", auth_mode: "aml_token", ...(i.description !== undefined ? { description: i.description } : {}), tags: i.tags ?? {} };
}

async function apply(i: BatchEndpointInputs): Promise<BatchEndpointOutputs> {
  const e = await managementRequest<EndpointState>(i, "PUT", path(i.name), batchEndpointBody(i));
  const keys = await managementRequest<{ primaryKey: string; secondaryKey: string }>(i, "POST", `${path(i.name)}/keys`);
  return { ...i, provisioningState: e.provisioningState, primaryKey: keys.primaryKey, secondaryKey: keys.secondaryKey };
}

export const BATCH_ENDPOINT_REPLACE_FIELDS = ["name"] as const;

export const batchEndpointProvider: pulumi.dynamic.ResourceProvider<BatchEndpointInputs, BatchEndpointOutputs> = {
  async diff(_id, olds, news) {
    return diffFields(olds, news, BATCH_ENDPOINT_REPLACE_FIELDS, ["auth_mode", "description", "tags", "managementUrl", "managementToken"]);
  },
  async create(inputs) {
    return { id: inputs.name, outs: await apply(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: await apply(news) };
  },
  async read(id, props) {
    const p = props as BatchEndpointOutputs;
    const e = await getUnlessGone<EndpointState>(p, path(id));
    // An online endpoint under this name is not this resource: report it gone, the next up says why.
    if (!e || (e.kind !== undefined && e.kind !== "batch")) return {};
    const out: BatchEndpointOutputs = { ...p, tags: e.tags ?? {}, provisioningState: e.provisioningState };
    if (e.description) out.description = e.description;
    else if (p.description !== undefined) out.description = "";
    else delete out.description;
    return { id, props: out };
  },
  async delete(id, props) {
    await unlessGone(managementRequest(props as BatchEndpointOutputs, "DELETE", path(id)));
  },
};

/** The ARM-like batch endpoint registration: a stable invocation URL with token auth (and keys). */
export class BatchEndpointResource extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly provisioningState: pulumi.Output<string>;
  declare readonly primaryKey: pulumi.Output<string>;
  declare readonly secondaryKey: pulumi.Output<string>;
  constructor(name: string, args: Inputs<BatchEndpointInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("src/providers/management/batch-endpoint.ts", "batchEndpointProvider"),
      name,
      { ...args, provisioningState: undefined, primaryKey: undefined, secondaryKey: undefined },
      { ...opts, additionalSecretOutputs: ["primaryKey", "secondaryKey", "managementToken"] },
      "modelplane",
      "BatchEndpoint",
    );
  }
}
