// A stack's `registry.yml`: the local stand-in for the Azure ML model/environment/component
// registry, so `azureml:name:version` references resolve to local files.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { AssetRef } from "./asset-ref";
import { ciEnum, inferenceRoute, stringish } from "./schema-fields";
import { runSchema } from "./schema-run";
import { parseYaml } from "./yaml-source";
import type { SpecIssue } from "./types";

export const REGISTRY_FILES = ["registry.yml", "registry.yaml"];

const registrySchema = z.strictObject({
  models: z
    .array(
      z.strictObject({
        name: z.string(),
        version: stringish,
        path: z.string(),
        type: ciEnum(["custom_model", "mlflow_model", "triton_model"]).default("custom_model"),
        description: z.string().optional(),
      }),
    )
    .default([]),
  environments: z
    .array(
      z.strictObject({
        name: z.string(),
        version: stringish,
        description: z.string().optional(),
        image: z.string().optional(),
        conda_file: z.string().optional(),
        build: z.strictObject({ path: z.string(), dockerfile_path: z.string().optional() }).optional(),
        inference_config: z
          .strictObject({ liveness_route: inferenceRoute.optional(), readiness_route: inferenceRoute.optional(), scoring_route: inferenceRoute.optional() })
          .optional(),
      }),
    )
    .default([]),
  components: z.array(z.strictObject({ name: z.string(), version: stringish, path: z.string() })).default([]),
});

export type RegistryKind = "models" | "environments" | "components";

export interface Registry {
  file: string;
  entries: Record<RegistryKind, Array<Record<string, unknown> & { name: string; version: string }>>;
}

export interface RegistryLoad {
  registry?: Registry;
  issues: SpecIssue[];
}

/** Reads `registry.yml` from a folder; absent is fine (references then report "not supported"). */
export async function loadRegistry(dir: string): Promise<RegistryLoad> {
  const file = REGISTRY_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (file === undefined) return { issues: [] };
  const parsed = parseYaml(await readFile(file, "utf8"));
  if (!parsed.ok) return { issues: parsed.problems.map((p) => ({ ...p.issue, resource: file })) };
  const run = runSchema(registrySchema, parsed.data ?? {}, file);
  if (!run.value) return { issues: run.errors };
  return { registry: { file, entries: run.value as Registry["entries"] }, issues: run.warnings };
}

function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
}

/** Finds the entry for a reference; a label (e.g. @latest) picks the highest version. */
export function findInRegistry(registry: Registry, kind: RegistryKind, ref: AssetRef): (Record<string, unknown> & { name: string; version: string }) | undefined {
  const candidates = registry.entries[kind].filter((e) => e.name === ref.name);
  if (ref.version !== undefined) return candidates.find((e) => e.version === ref.version);
  return [...candidates].sort((a, b) => compareVersions(b.version, a.version))[0];
}
