import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { endpointSettingProvider, type EndpointSettingInputs } from "./endpoint-setting";

export interface TrafficInputs extends EndpointSettingInputs {
  traffic: Record<string, number>;
  mirror_traffic: Record<string, number>;
}

/**
 * Traffic is its own resource, applied after every deployment it names is ready, and always
 * written whole: re-applying never passes through a zeroed split (the anchor's known bug).
 */
export const trafficProvider: pulumi.dynamic.ResourceProvider<TrafficInputs, TrafficInputs> = endpointSettingProvider<TrafficInputs, "traffic" | "mirror_traffic">({
  route: "traffic",
  fields: ["traffic", "mirror_traffic"],
  // Removing the traffic resource takes live traffic off every deployment, so they can be deleted.
  unset: { traffic: {}, mirror_traffic: {} },
});

export class TrafficResource extends pulumi.dynamic.Resource {
  declare readonly traffic: pulumi.Output<Record<string, number>>;
  declare readonly mirror_traffic: pulumi.Output<Record<string, number>>;
  constructor(name: string, args: Inputs<TrafficInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/management/traffic.ts", "trafficProvider"), name, args, { ...opts, additionalSecretOutputs: ["managementToken"] }, "modelplane", "Traffic");
  }
}
