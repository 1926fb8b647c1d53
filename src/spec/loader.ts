// Loads spec files and folders. A folder is one set (a stack): the cross-resource rules apply to
// every spec inside it. Every problem becomes a positioned Diagnostic; bad input never throws.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parseBatchDeployment } from "./batch-deployment";
import { parseBatchEndpoint } from "./batch-endpoint";
import { parseComputeCluster } from "./compute-cluster";
import { checkStackSet } from "./cross-rules";
import { parseDataAsset } from "./data-asset";
import { specError, specWarning } from "./issue";
import { detectKind } from "./kind";
import { parseOnlineDeployment } from "./online-deployment";
import { parseOnlineEndpoint } from "./online-endpoint";
import { fillPlaceholders, findTemplateValues } from "./placeholders";
import { loadRegistry, REGISTRY_FILES, type Registry } from "./registry";
import { resolveSpec } from "./resolve";
import { targetWarnings } from "./target-support";
import { clusterId, dataAssetId, deploymentId, endpointId } from "./resource-id";
import { lineCol, locate, parseYaml, textLineCol, type YamlSource } from "./yaml-source";
import type {
  AnySpec,
  BatchDeploymentSpec,
  BatchEndpointSpec,
  ComputeClusterSpec,
  DataAssetSpec,
  Diagnostic,
  LoadedDocument,
  LoadOptions,
  LoadResult,
  OnlineDeploymentSpec,
  OnlineEndpointSpec,
  ParseResult,
  SpecIssue,
  SpecKind,
  StackSpec,
} from "./types";

/** Spec files are small; anything bigger is refused before parsing (bounded memory and time). */
const MAX_FILE_BYTES = 1024 * 1024;

interface LoadedFile {
  document: LoadedDocument;
  diagnostics: Diagnostic[];
  source?: YamlSource;
}

function at(file: string, issue: SpecIssue, pos: { line: number; col: number }): Diagnostic {
  return { ...issue, file, line: pos.line, col: pos.col };
}

function atSource(file: string, source: YamlSource, issue: SpecIssue): Diagnostic {
  return at(file, issue, lineCol(source.lines, locate(source, issue.field)));
}

function parseByKind(kind: SpecKind, raw: unknown): ParseResult<AnySpec> {
  switch (kind) {
    case "online-endpoint":
      return parseOnlineEndpoint(raw);
    case "online-deployment":
      return parseOnlineDeployment(raw);
    case "batch-endpoint":
      return parseBatchEndpoint(raw);
    case "batch-deployment":
      return parseBatchDeployment(raw);
    case "compute-cluster":
      return parseComputeCluster(raw);
    case "data-asset":
      return parseDataAsset(raw);
  }
}

export function resourceIdOf(spec: AnySpec): string {
  switch (spec.kind) {
    case "online-endpoint":
    case "batch-endpoint":
      return endpointId(spec.kind, spec.name);
    case "compute-cluster":
      return clusterId(spec.name);
    case "data-asset":
      return dataAssetId(spec.name, spec.version);
    default:
      return deploymentId(spec.kind, spec.endpoint_name, spec.name);
  }
}

async function loadFile(file: string, opts: LoadOptions, registry: Registry | undefined, inFolder: boolean): Promise<LoadedFile> {
  const document: LoadedDocument = { file, kind: "unknown" };
  const fail = (issue: SpecIssue, pos = { line: 1, col: 1 }): LoadedFile => ({ document, diagnostics: [at(file, issue, pos)] });
  const given = opts.texts?.[path.resolve(file)];
  if (given !== undefined) return loadText(file, given, opts, registry, inFolder);
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > MAX_FILE_BYTES) return fail(specError("file_too_large", "", `file is ${info.size} bytes, larger than the ${MAX_FILE_BYTES}-byte limit for spec files`, "split it, or remove embedded data"));
    text = await readFile(file, "utf8");
  } catch (err) {
    return fail(specError("file_unreadable", "", `cannot read file: ${err instanceof Error ? err.message : String(err)}`, "check the path and its permissions"));
  }
  return loadText(file, text, opts, registry, inFolder);
}

/** Validates one spec's text; exported for tests and for callers that already hold the text. */
export function loadText(file: string, text: string, opts: LoadOptions, registry: Registry | undefined, inFolder = false): LoadedFile {
  const document: LoadedDocument = { file, kind: "unknown" };
  const diagnostics: Diagnostic[] = [];
  const filled = fillPlaceholders(text, opts.set ?? {});
  for (const u of filled.unfilled) diagnostics.push(at(file, u.issue, textLineCol(text, u.offset)));
  const parsed = parseYaml(filled.text);
  if (!parsed.ok) {
    for (const p of parsed.problems) diagnostics.push(at(file, p.issue, textLineCol(filled.text, p.offset)));
    return { document, diagnostics };
  }
  const { source, data } = parsed;
  const detected = detectKind(data);
  if (detected.kind === undefined) {
    const what = detected.schemaName !== undefined ? `$schema names "${detected.schemaName}", which is not an endpoint, deployment, compute cluster or data asset` : "not recognized as an endpoint, deployment, compute cluster or data asset spec";
    const issue = inFolder
      ? specWarning("not_a_spec", "$schema", `${what}; skipped`, "move it out of the stack folder, or add an endpoint/deployment/amlCompute/data $schema")
      : specError("not_a_spec", "$schema", what, "use an online/batch endpoint or deployment, amlCompute or data $schema (see docs/spec-support.md)");
    diagnostics.push(atSource(file, source, issue));
    return { document, diagnostics, source };
  }
  document.kind = detected.kind;
  const r = data as Record<string, unknown>;
  if (typeof r.name === "string") document.name = r.name;
  const templates = findTemplateValues(data);
  for (const issue of templates) diagnostics.push(atSource(file, source, issue));
  const result = parseByKind(detected.kind, data);
  const issues = result.ok ? result.warnings : result.issues;
  for (const issue of issues) diagnostics.push(atSource(file, source, issue));
  if (result.ok) {
    const resolved = resolveSpec(result.value, { baseDir: path.dirname(path.resolve(file)), registry, pathCheck: opts.pathCheck ?? true });
    for (const issue of resolved.issues) diagnostics.push(atSource(file, source, { ...issue, resource: resourceIdOf(result.value) }));
    if (filled.unfilled.length === 0 && templates.length === 0 && resolved.issues.length === 0) {
      document.spec = resolved.spec;
      // Only a spec that would run is told what the target leaves out of it.
      for (const issue of targetWarnings(resolved.spec, r, opts.target ?? "docker")) diagnostics.push(atSource(file, source, issue));
    }
  }
  return { document, diagnostics, source };
}

async function listSpecFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name) && !REGISTRY_FILES.includes(e.name.toLowerCase()))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** Applies the cross-resource rules to one folder's files, placing each issue in its resource's file. */
function checkSet(files: LoadedFile[]): Diagnostic[] {
  const byResource = new Map<string, LoadedFile>();
  const specs = files.flatMap((f) => (f.document.spec ? [f.document.spec] : []));
  for (const f of files) if (f.document.spec) byResource.set(resourceIdOf(f.document.spec), f);
  const issues = checkStackSet(
    specs.filter((s): s is OnlineEndpointSpec => s.kind === "online-endpoint"),
    specs.filter((s): s is OnlineDeploymentSpec => s.kind === "online-deployment"),
    specs.filter((s): s is BatchEndpointSpec => s.kind === "batch-endpoint"),
    specs.filter((s): s is BatchDeploymentSpec => s.kind === "batch-deployment"),
    specs.filter((s): s is ComputeClusterSpec => s.kind === "compute-cluster"),
    specs.filter((s): s is DataAssetSpec => s.kind === "data-asset"),
  );
  return issues.map((issue) => {
    const owner = issue.resource === undefined ? undefined : byResource.get(issue.resource);
    if (owner?.source === undefined) return at(owner?.document.file ?? "", issue, { line: 1, col: 1 });
    return atSource(owner.document.file, owner.source, issue);
  });
}

async function loadFolder(dir: string, opts: LoadOptions): Promise<{ files: LoadedFile[]; diagnostics: Diagnostic[] }> {
  const reg = await loadRegistry(dir);
  const regFile = reg.registry?.file ?? path.join(dir, "registry.yml");
  const regDiagnostics = reg.issues.map((i) => at(regFile, i, { line: 1, col: 1 }));
  const files: LoadedFile[] = [];
  for (const file of await listSpecFiles(dir)) files.push(await loadFile(file, opts, reg.registry, true));
  // With a broken member (one that failed to parse, or parsed with errors), set rules would only
  // report knock-on errors (e.g. "no deployment", "names endpoint ..., which is not in this
  // stack"); skip them. A file skipped as not-a-spec (a warning) does not count.
  const incomplete = files.some((f) => f.document.spec === undefined && f.diagnostics.some((d) => d.severity === "error"));
  const setDiagnostics = incomplete ? [] : checkSet(files.filter((f) => f.document.spec));
  return { files, diagnostics: [...regDiagnostics, ...files.flatMap((f) => f.diagnostics), ...setDiagnostics] };
}

export async function loadSpecs(paths: string[], opts: LoadOptions = {}): Promise<LoadResult> {
  const documents: LoadedDocument[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch {
      diagnostics.push(at(p, specError("path_missing", "", `no such file or folder: ${p}`, "pass an existing spec file or stack folder"), { line: 1, col: 1 }));
      continue;
    }
    if (isDir) {
      const folder = await loadFolder(p, opts);
      documents.push(...folder.files.map((f) => f.document));
      diagnostics.push(...folder.diagnostics);
    } else {
      const reg = await loadRegistry(path.dirname(p));
      const loaded = await loadFile(p, opts, reg.registry, false);
      documents.push(loaded.document);
      diagnostics.push(...loaded.diagnostics);
    }
  }
  return { documents, diagnostics };
}

export async function loadStack(dir: string, opts: LoadOptions = {}): Promise<StackSpec> {
  const { documents, diagnostics } = await loadSpecs([dir], opts);
  const specs = documents.flatMap((d) => (d.spec ? [d.spec] : []));
  return {
    dir: path.resolve(dir),
    endpoints: specs.filter((s): s is OnlineEndpointSpec => s.kind === "online-endpoint"),
    deployments: specs.filter((s): s is OnlineDeploymentSpec => s.kind === "online-deployment"),
    batchEndpoints: specs.filter((s): s is BatchEndpointSpec => s.kind === "batch-endpoint"),
    batchDeployments: specs.filter((s): s is BatchDeploymentSpec => s.kind === "batch-deployment"),
    clusters: specs.filter((s): s is ComputeClusterSpec => s.kind === "compute-cluster"),
    dataAssets: specs.filter((s): s is DataAssetSpec => s.kind === "data-asset"),
    diagnostics,
  };
}
