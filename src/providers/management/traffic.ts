import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { isApiNotFound, managementRequest, type ManagementAccess, unlessGone } from "./client";

export interface TrafficInputs extends ManagementAccess {
  endpointName: string;
  traffic: Record<string, number>;
  mirror_traffic: Record<string, number>;
}

function path(endpointName: string): string {
  return `/endpoints/${encodeURIComponent(endpointName)}/traffic`;
}

async function put(i: TrafficInputs): Promise<TrafficInputs> {
  await managementRequest(i, "PUT", path(i.endpointName), { traffic: i.traffic, mirror_traffic: i.mirror_traffic });
  return i;
}

/**
 * Traffic is its own resource, applied after every deployment it names is ready, and always
 * written whole: re-applying never passes through a zeroed split (the anchor's known bug).
 */
export const trafficProvider: pulumi.dynamic.ResourceProvider<TrafficInputs, TrafficInputs> = {
  async diff(_id, olds, news) {
    const replaces = olds.endpointName !== news.endpointName ? ["endpointName"] : [];
    const fields = ["traffic", "mirror_traffic", "managementUrl", "managementToken"] as const;
    const changes = replaces.length > 0 || fields.some((f) => JSON.stringify(olds[f]) !== JSON.stringify(news[f]));
    return { changes, replaces };
  },
  async create(inputs) {
    return { id: inputs.endpointName, outs: await put(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: await put(news) };
  },
  async read(id, props) {
    const p = props as TrafficInputs;
    try {
      const t = await managementRequest<{ traffic: Record<string, number>; mirror_traffic: Record<string, number> }>(p, "GET", path(p.endpointName));
      return { id, props: { ...p, traffic: t.traffic, mirror_traffic: t.mirror_traffic } };
    } catch (err) {
      if (isApiNotFound(err)) return {};
      throw err;
    }
  },
  async delete(_id, props) {
    // Removing the traffic resource takes live traffic off every deployment, so they can be deleted.
    await unlessGone(managementRequest(props as TrafficInputs, "PUT", path((props as TrafficInputs).endpointName), { traffic: {}, mirror_traffic: {} }));
  },
};

export class TrafficResource extends pulumi.dynamic.Resource {
  declare readonly traffic: pulumi.Output<Record<string, number>>;
  declare readonly mirror_traffic: pulumi.Output<Record<string, number>>;
  constructor(name: string, args: Inputs<TrafficInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/management/traffic.ts", "trafficProvider"), name, args, { ...opts, additionalSecretOutputs: ["managementToken"] }, "modelplane", "Traffic");
  }
}
