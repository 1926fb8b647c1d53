// Data assets (Azure's data YAML): a named, versioned `uri_folder` or `uri_file` with a local path.
// `pulumi up` uploads it to the stack's datastore; jobs take it as input with `azureml:<name>@latest`.
import { z } from "zod";
import { quoteValue, specError } from "./issue";
import { dataAssetId } from "./resource-id";
import { runSchema } from "./schema-run";
import { ciEnum, stringMap, stringish } from "./schema-fields";
import type { DataAssetSpec, ParseResult, SpecIssue } from "./types";

/** Azure's asset names and versions: letters, digits, `-`, `_`, `.`; starting with a letter or digit. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

const dataSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string(),
  version: stringish.default("1"),
  description: z.string().optional(),
  tags: stringMap.default({}),
  type: ciEnum(["uri_folder", "uri_file"]).default("uri_folder"),
  path: z.string(),
});

export function parseDataAsset(raw: unknown): ParseResult<DataAssetSpec> {
  const r = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  const resource = dataAssetId(typeof r.name === "string" ? r.name : "?", typeof r.version === "string" || typeof r.version === "number" ? String(r.version) : "1");
  const run = runSchema(dataSchema, raw, resource);
  if (!run.value) return { ok: false, issues: [...run.errors, ...run.warnings] };
  const v = run.value;
  const errors: SpecIssue[] = [];
  if (!ASSET_NAME.test(v.name)) errors.push(specError("invalid_name", "name", `data asset name ${quoteValue(v.name)} has characters Azure does not allow`, "use letters, digits, '-', '_' or '.', starting with a letter or digit", resource));
  if (!ASSET_NAME.test(v.version)) errors.push(specError("invalid_name", "version", `data asset version ${quoteValue(v.version)} has characters Azure does not allow`, "use a number such as 1, or letters, digits, '-', '_' or '.'", resource));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v.path) || /^azureml:/i.test(v.path)) {
    errors.push(specError("data_path_remote", "path", `path ${quoteValue(v.path)} is not a local path`, "give a folder or file relative to this YAML file; remote data can be passed to a job directly (modelplane batch invoke --input <url>)", resource));
  }
  const spec: DataAssetSpec = { kind: "data-asset", name: v.name, version: v.version, type: v.type, tags: v.tags, path: v.path, extra: run.unknown };
  if (v.description !== undefined) spec.description = v.description;
  return errors.length > 0 ? { ok: false, issues: [...errors, ...run.warnings] } : { ok: true, value: spec, warnings: run.warnings };
}
