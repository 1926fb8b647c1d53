// Load-time resolution of a parsed spec: `azureml:` references against the stack registry, and
// relative paths against the YAML file's folder (checked to exist unless pathCheck is off).
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { isAssetRef, parseAssetRef } from "./asset-ref";
import { quoteValue, specError } from "./issue";
import { findInRegistry, type Registry, type RegistryKind } from "./registry";
import type { AnySpec, EnvironmentSpec, ModelSpec, SpecIssue } from "./types";

export interface ResolveContext {
  /** Folder of the YAML file. */
  baseDir: string;
  registry?: Registry;
  pathCheck: boolean;
}

function unsupportedRef(field: string, ref: string, kind: RegistryKind, ctx: ResolveContext): SpecIssue {
  const where = ctx.registry?.file ?? path.join(ctx.baseDir, "registry.yml");
  const what = ctx.registry === undefined ? "registry references are not supported here (no registry.yml)" : `it is not listed in ${where}`;
  return specError("registry_ref", field, `${field} ${quoteValue(ref)} cannot be resolved: ${what}`, `add it to ${where} under ${kind}: (name, version, ${kind === "environments" ? "image/conda_file" : "path"}), or write the ${field} inline`);
}

function lookup(field: string, ref: string, kind: RegistryKind, ctx: ResolveContext): { entry?: Record<string, unknown>; issue?: SpecIssue } {
  const parsed = parseAssetRef(ref);
  if (parsed === undefined) {
    return { issue: specError("registry_ref", field, `${field} ${quoteValue(ref)} is not a reference this tool understands`, "use azureml:<name>:<version>, azureml:<name>@latest, or an inline definition") };
  }
  const entry = ctx.registry === undefined ? undefined : findInRegistry(ctx.registry, kind, parsed);
  return entry === undefined ? { issue: unsupportedRef(field, ref, kind, ctx) } : { entry };
}

/** Makes `p` absolute (relative to `base`) and, with pathCheck, reports it when missing. */
function resolvePath(p: string, base: string, field: string, ctx: ResolveContext, issues: SpecIssue[]): string {
  const abs = path.resolve(base, p);
  if (ctx.pathCheck && !existsSync(abs)) {
    issues.push(specError("path_missing", field, `${field} ${quoteValue(p)} does not exist (looked for ${abs})`, "create it, or fix the path (relative to the folder of the YAML file)"));
  }
  return abs;
}

function resolveModel(model: ModelSpec, field: string, ctx: ResolveContext, issues: SpecIssue[]): ModelSpec {
  if (model.reference === undefined) {
    return model.path === undefined ? model : { ...model, path: resolvePath(model.path, ctx.baseDir, `${field}.path`, ctx, issues) };
  }
  const { entry, issue } = lookup(field, model.reference, "models", ctx);
  if (issue !== undefined || entry === undefined || ctx.registry === undefined) {
    if (issue) issues.push(issue);
    return model;
  }
  const regDir = path.dirname(ctx.registry.file);
  return {
    name: String(entry.name),
    version: String(entry.version),
    path: resolvePath(String(entry.path), regDir, `${field}.path`, ctx, issues),
    type: entry.type as ModelSpec["type"],
    reference: model.reference,
  };
}

function resolveEnvironment(env: EnvironmentSpec, field: string, ctx: ResolveContext, issues: SpecIssue[]): EnvironmentSpec {
  let out: EnvironmentSpec = { ...env };
  let base = ctx.baseDir;
  if (env.reference !== undefined) {
    const { entry, issue } = lookup(field, env.reference, "environments", ctx);
    if (issue !== undefined || entry === undefined || ctx.registry === undefined) {
      if (issue) issues.push(issue);
      return env;
    }
    base = path.dirname(ctx.registry.file);
    out = { ...(entry as EnvironmentSpec), reference: env.reference };
    delete (out as Record<string, unknown>).description;
  }
  if (out.conda_file !== undefined) out.conda_file = resolvePath(out.conda_file, base, `${field}.conda_file`, ctx, issues);
  if (out.build !== undefined) out.build = { ...out.build, path: resolvePath(out.build.path, base, `${field}.build.path`, ctx, issues) };
  return out;
}

function resolveCode(code: { code: string; scoring_script: string }, ctx: ResolveContext, issues: SpecIssue[]): { code: string; scoring_script: string } {
  const before = issues.length;
  const abs = resolvePath(code.code, ctx.baseDir, "code_configuration.code", ctx, issues);
  if (ctx.pathCheck && issues.length === before && !existsSync(path.join(abs, code.scoring_script))) {
    issues.push(specError("path_missing", "code_configuration.scoring_script", `code_configuration.scoring_script ${quoteValue(code.scoring_script)} does not exist in ${abs}`, "create the scoring script there, or fix scoring_script (relative to code)"));
  }
  return { code: abs, scoring_script: code.scoring_script };
}

/** A data asset's path, absolute; with pathCheck, a uri_folder must be a folder and a uri_file a file. */
function resolveDataPath(p: string, type: "uri_folder" | "uri_file", ctx: ResolveContext, issues: SpecIssue[]): string {
  const before = issues.length;
  const abs = resolvePath(p, ctx.baseDir, "path", ctx, issues);
  if (!ctx.pathCheck || issues.length > before) return abs;
  const isDir = statSync(abs).isDirectory();
  if (type === "uri_folder" && !isDir) issues.push(specError("data_path_kind", "path", `path ${quoteValue(p)} is a file, but type is uri_folder`, "set type: uri_file, or point path at a folder"));
  if (type === "uri_file" && isDir) issues.push(specError("data_path_kind", "path", `path ${quoteValue(p)} is a folder, but type is uri_file`, "set type: uri_folder, or point path at a file"));
  return abs;
}

/** Returns a resolved copy of the spec plus any problems (references, missing paths). */
export function resolveSpec(spec: AnySpec, ctx: ResolveContext): { spec: AnySpec; issues: SpecIssue[] } {
  const issues: SpecIssue[] = [];
  if (spec.kind === "online-endpoint" || spec.kind === "batch-endpoint" || spec.kind === "compute-cluster") return { spec, issues };
  if (spec.kind === "data-asset") return { spec: { ...spec, path: resolveDataPath(spec.path, spec.type, ctx, issues) }, issues };
  if (spec.kind === "batch-deployment" && spec.type === "pipeline") {
    let component = spec.component;
    if (isAssetRef(component)) {
      const { entry, issue } = lookup("component", component, "components", ctx);
      if (issue) issues.push(issue);
      if (entry && ctx.registry) component = resolvePath(String(entry.path), path.dirname(ctx.registry.file), "component", ctx, issues);
    } else {
      component = resolvePath(component, ctx.baseDir, "component", ctx, issues);
    }
    return { spec: { ...spec, component }, issues };
  }
  const out = { ...spec };
  if (out.model !== undefined) out.model = resolveModel(out.model, "model", ctx, issues);
  if (out.environment !== undefined) out.environment = resolveEnvironment(out.environment, "environment", ctx, issues);
  if (out.code_configuration !== undefined) out.code_configuration = resolveCode(out.code_configuration, ctx, issues);
  return { spec: out as AnySpec, issues };
}
