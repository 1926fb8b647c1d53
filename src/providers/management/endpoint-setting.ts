import type * as pulumi from "@pulumi/pulumi";
import { getUnlessGone, managementRequest, type ManagementAccess, unlessGone } from "./client";
import { diffFields } from "./diff-fields";

/** A setting an endpoint holds at `/endpoints/<endpointName>/<route>` (an online endpoint's traffic, a batch endpoint's defaults). */
export interface EndpointSettingInputs extends ManagementAccess {
  endpointName: string;
}

export interface EndpointSetting<T extends EndpointSettingInputs, K extends keyof T & string> {
  /** The last segment of its route. */
  route: string;
  /** The setting's fields: PUT whole by create and update, compared by diff, read back by read. */
  fields: readonly K[];
  /** What GET answers when the setting is not set: read reports it gone. */
  isUnset?: (answer: Record<K, unknown>) => boolean;
  /** The body delete PUTs to unset it, so that what it names can be deleted. */
  unset: Record<string, unknown>;
  /** Answers to that PUT besides 404 that mean there is nothing left to unset. */
  alsoUnset?: (err: unknown) => boolean;
}

/**
 * The provider of an endpoint setting, its own resource with the endpoint's name as id: written
 * whole (re-applying never passes through a partial value), updated in place, replaced only
 * with another endpoint.
 */
export function endpointSettingProvider<T extends EndpointSettingInputs, K extends keyof T & string>(s: EndpointSetting<T, K>): pulumi.dynamic.ResourceProvider<T, T> {
  const path = (endpointName: string): string => `/endpoints/${encodeURIComponent(endpointName)}/${s.route}`;
  const put = async (i: T): Promise<T> => {
    await managementRequest(i, "PUT", path(i.endpointName), Object.fromEntries(s.fields.map((f) => [f, i[f]])));
    return i;
  };
  const updateFields = [...s.fields, "managementUrl", "managementToken"] as const;
  return {
    async diff(_id, olds, news) {
      return diffFields(olds, news, ["endpointName"], updateFields);
    },
    async create(inputs) {
      return { id: inputs.endpointName, outs: await put(inputs) };
    },
    async update(_id, _olds, news) {
      return { outs: await put(news) };
    },
    async read(id, props) {
      const p = props as T;
      const answer = await getUnlessGone<Record<K, unknown>>(p, path(p.endpointName));
      if (!answer || s.isUnset?.(answer)) return {};
      return { id, props: { ...p, ...Object.fromEntries(s.fields.map((f) => [f, answer[f]])) } };
    },
    async delete(_id, props) {
      await unlessGone(managementRequest(props as T, "PUT", path((props as T).endpointName), s.unset), s.alsoUnset);
    },
  };
}
