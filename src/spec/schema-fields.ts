// Reusable zod building blocks for Azure ML YAML fields (case-insensitive enums, string maps...).
import { z } from "zod";

/** Enum whose values are matched case-insensitively (`Key` = `key`), as Azure does. */
export function ciEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess((v) => (typeof v === "string" ? v.toLowerCase() : v), z.enum(values));
}

/** Scalars in YAML maps (tags, environment variables, versions) are stringified like the Azure CLI does. */
export const stringish = z.preprocess(
  (v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v),
  z.string(),
);

export const stringMap = z.record(z.string(), stringish);

export const nonNegativeInt = z.number().int().min(0);

export const inferenceRoute = z.strictObject({ port: z.number().int(), path: z.string() });

/** `model:` is inline `{path, name, version, type}` or an `azureml:` reference string. */
export const modelField = z.preprocess(
  (v) => (typeof v === "string" ? { reference: v } : v),
  z.strictObject({
    name: stringish.optional(),
    version: stringish.optional(),
    path: z.string().optional(),
    type: ciEnum(["custom_model", "mlflow_model", "triton_model"]).default("custom_model"),
    reference: z.string().optional(),
    description: z.string().optional(),
    tags: stringMap.optional(),
  }),
);

export const codeConfigurationField = z.strictObject({ code: z.string(), scoring_script: z.string() });

/** `environment:` is inline `{image, conda_file, build, inference_config}` or an `azureml:` reference. */
export const environmentField = z.preprocess(
  (v) => (typeof v === "string" ? { reference: v } : v),
  z.strictObject({
    name: stringish.optional(),
    version: stringish.optional(),
    description: z.string().optional(),
    tags: stringMap.optional(),
    image: z.string().optional(),
    conda_file: z.string().optional(),
    build: z.strictObject({ path: z.string(), dockerfile_path: z.string().optional() }).optional(),
    inference_config: z
      .strictObject({
        liveness_route: inferenceRoute.optional(),
        readiness_route: inferenceRoute.optional(),
        scoring_route: inferenceRoute.optional(),
      })
      .optional(),
    os_type: ciEnum(["linux", "windows"]).optional(),
    reference: z.string().optional(),
  }),
);

export type ModelField = z.output<typeof modelField>;
export type EnvironmentField = z.output<typeof environmentField>;
