import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { getUnlessGone, managementRequest, type ManagementAccess, unlessGone } from "./client";
import { diffFields } from "./diff-fields";

export interface EndpointInputs extends ManagementAccess {
  name: string;
  auth_mode: "key" | "aml_token" | "aad_token";
  description?: string;
  tags?: Record<string, string>;
}
export interface EndpointOutputs extends EndpointInputs {
  provisioningState: string;
  primaryKey: string;
  secondaryKey: string;
}
interface EndpointState {
  name: string;
  provisioningState: string;
  auth_mode: string;
  description?: string;
  tags?: Record<string, string>;
}

/** Fields whose change makes a different endpoint (its URL and keys): replace, never patch. */
export const ENDPOINT_REPLACE_FIELDS = ["name"] as const;

function body(i: EndpointInputs) {
  // aad_token has no identity provider here: the server issues its own signed tokens for it.
  return { auth_mode: i.auth_mode === "key" ? "key" : "aml_token", description: i.description, tags: i.tags ?? {} };
}

async function apply(i: EndpointInputs): Promise<EndpointOutputs> {
  const e = await managementRequest<EndpointState>(i, "PUT", `/endpoints/${encodeURIComponent(i.name)}`, body(i));
  const keys = await managementRequest<{ primaryKey: string; secondaryKey: string }>(i, "POST", `/endpoints/${encodeURIComponent(i.name)}/keys`);
  return { ...i, provisioningState: e.provisioningState, primaryKey: keys.primaryKey, secondaryKey: keys.secondaryKey };
}

export const endpointProvider: pulumi.dynamic.ResourceProvider<EndpointInputs, EndpointOutputs> = {
  async diff(_id, olds, news) {
    return diffFields(olds, news, ENDPOINT_REPLACE_FIELDS, ["auth_mode", "description", "tags", "managementUrl", "managementToken"]);
  },
  async create(inputs) {
    const outs = await apply(inputs);
    return { id: inputs.name, outs };
  },
  async update(_id, _olds, news) {
    return { outs: await apply(news) };
  },
  async read(id, props) {
    const p = props as EndpointOutputs;
    const e = await getUnlessGone<EndpointState>(p, `/endpoints/${encodeURIComponent(id)}`);
    if (!e) return {};
    // Drift in user-set fields shows up in the next diff (complaint 6: updates must not drop tags).
    // Map the server's view back to input terms, so a refresh without drift shows no change:
    // aad_token is served as aml_token, and an absent description is stored as "".
    const authMode = e.auth_mode === body(p).auth_mode ? p.auth_mode : (e.auth_mode as EndpointInputs["auth_mode"]);
    const out: EndpointOutputs = { ...p, auth_mode: authMode, tags: e.tags ?? {}, provisioningState: e.provisioningState };
    // Protobuf structs cannot carry `undefined`: leave the key out instead.
    if (e.description) out.description = e.description;
    else if (p.description !== undefined) out.description = "";
    else delete out.description;
    return { id, props: out };
  },
  async delete(id, props) {
    await unlessGone(managementRequest(props as EndpointOutputs, "DELETE", `/endpoints/${encodeURIComponent(id)}`));
  },
};

/** The ARM-like endpoint registration: a stable name, auth mode and keys in the control plane. */
export class EndpointResource extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly provisioningState: pulumi.Output<string>;
  declare readonly primaryKey: pulumi.Output<string>;
  declare readonly secondaryKey: pulumi.Output<string>;

  constructor(name: string, args: Inputs<EndpointInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("src/providers/management/endpoint.ts", "endpointProvider"),
      name,
      { ...args, provisioningState: undefined, primaryKey: undefined, secondaryKey: undefined },
      { ...opts, additionalSecretOutputs: ["primaryKey", "secondaryKey", "managementToken"] },
      "modelplane",
      "Endpoint",
    );
  }
}
