import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { isApiNotFound, ManagementApiError, managementRequest, type ManagementAccess, unlessGone } from "./client";

export interface DefaultsInputs extends ManagementAccess {
  endpointName: string;
  /** The deployment a job runs on when its invocation names none. */
  deployment_name: string;
}

function path(endpointName: string): string {
  return `/endpoints/${encodeURIComponent(endpointName)}/defaults`;
}

async function put(i: DefaultsInputs): Promise<DefaultsInputs> {
  await managementRequest(i, "PUT", path(i.endpointName), { deployment_name: i.deployment_name });
  return i;
}

/**
 * A batch endpoint's default deployment, its own resource (as Traffic is for online endpoints):
 * applied once every deployment is registered, and switching it is one in-place update.
 */
export const defaultsProvider: pulumi.dynamic.ResourceProvider<DefaultsInputs, DefaultsInputs> = {
  async diff(_id, olds, news) {
    const replaces = olds.endpointName !== news.endpointName ? ["endpointName"] : [];
    const fields = ["deployment_name", "managementUrl", "managementToken"] as const;
    const changes = replaces.length > 0 || fields.some((f) => olds[f] !== news[f]);
    return { changes, replaces };
  },
  async create(inputs) {
    return { id: inputs.endpointName, outs: await put(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: await put(news) };
  },
  async read(id, props) {
    const p = props as DefaultsInputs;
    try {
      const d = await managementRequest<{ deployment_name: string | null }>(p, "GET", path(p.endpointName));
      if (d.deployment_name === null) return {};
      return { id, props: { ...p, deployment_name: d.deployment_name } };
    } catch (err) {
      if (isApiNotFound(err)) return {};
      throw err;
    }
  },
  async delete(_id, props) {
    // Unset the default so its deployment can be deleted (the endpoint's delete would drop it anyway).
    await unlessGone(managementRequest(props as DefaultsInputs, "PUT", path((props as DefaultsInputs).endpointName), { deployment_name: null }), (err) => err instanceof ManagementApiError && err.status === 400);
  },
};

export class DefaultsResource extends pulumi.dynamic.Resource {
  declare readonly deployment_name: pulumi.Output<string>;
  constructor(name: string, args: Inputs<DefaultsInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/management/defaults.ts", "defaultsProvider"), name, args, { ...opts, additionalSecretOutputs: ["managementToken"] }, "modelplane", "Defaults");
  }
}
