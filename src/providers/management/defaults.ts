import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { ManagementApiError } from "./client";
import { endpointSettingProvider, type EndpointSettingInputs } from "./endpoint-setting";

export interface DefaultsInputs extends EndpointSettingInputs {
  /** The deployment a job runs on when its invocation names none. */
  deployment_name: string;
}

/**
 * A batch endpoint's default deployment, its own resource (as Traffic is for online endpoints):
 * applied once every deployment is registered, and switching it is one in-place update.
 */
export const defaultsProvider: pulumi.dynamic.ResourceProvider<DefaultsInputs, DefaultsInputs> = endpointSettingProvider<DefaultsInputs, "deployment_name">({
  route: "defaults",
  fields: ["deployment_name"],
  isUnset: (d) => d.deployment_name === null,
  // Unset the default so its deployment can be deleted (the endpoint's delete would drop it anyway).
  unset: { deployment_name: null },
  alsoUnset: (err) => err instanceof ManagementApiError && err.status === 400,
});

export class DefaultsResource extends pulumi.dynamic.Resource {
  declare readonly deployment_name: pulumi.Output<string>;
  constructor(name: string, args: Inputs<DefaultsInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/management/defaults.ts", "defaultsProvider"), name, args, { ...opts, additionalSecretOutputs: ["managementToken"] }, "modelplane", "Defaults");
  }
}
