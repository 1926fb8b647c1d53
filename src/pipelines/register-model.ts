// `registerModel`: a new model version in a stack's registry.yml (src/spec/registry.ts), the
// local stand-in for the Azure ML model registry, so specs can name it `azureml:<name>:<version>`.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isMap, isSeq, parseDocument, YAMLSeq } from "yaml";
import { stackSpecDir } from "../cli/commands/stack-config";
import { REPO_ROOT } from "../cli/commands/toolchain-env";
import { loadRegistry, REGISTRY_FILES } from "../spec/registry";
import { PipelineError, type PipelineOptions } from "./workspace";

export interface RegisterModelArgs {
  /** The stack whose registry.yml gets the entry (its spec folder's). */
  stack: string;
  name: string;
  /** @default one more than the highest numeric version of `name` (1 for a new name) */
  version?: string | number;
  /** The model folder (absolute, or relative to the working directory). */
  path: string;
  /** @default custom_model */
  type?: "custom_model" | "mlflow_model" | "triton_model";
  description?: string;
}

export interface RegisteredModel {
  name: string;
  version: string;
  /** `azureml:<name>:<version>`, for a deployment's `model:`. */
  reference: string;
  /** The registry file written. */
  file: string;
  /** False when the same name, version and path were already registered. */
  added: boolean;
}

interface Entry {
  name?: unknown;
  version?: unknown;
  path?: unknown;
}

/** The version a new entry of `name` gets: one more than the highest numeric one. Pure. */
export function nextVersion(entries: Entry[], name: string): string {
  const versions = entries.filter((e) => e.name === name).map((e) => Number(e.version)).filter((n) => Number.isInteger(n));
  return String(versions.length ? Math.max(...versions) + 1 : 1);
}

/** The registry text with the model entry appended (comments kept); throws PipelineError on a conflicting entry. Pure. */
export function addModelEntry(text: string, file: string, entry: { name: string; version: string; path: string; type: string; description?: string }): { text: string; added: boolean } {
  const doc = parseDocument(text === "" ? "{}\n" : text);
  if (doc.errors.length > 0 || (doc.contents !== null && !isMap(doc.contents))) throw new PipelineError(`${file} does not parse as a YAML map (${doc.errors[0]?.message.split("\n")[0] ?? "not a map"}): fix it (\`modelplane validate\`) before registering a model`);
  const models = doc.get("models", true);
  if (models !== undefined && !isSeq(models)) throw new PipelineError(`${file}: models is not a list: write it as \`models:\` followed by \`- name: ...\` entries`);
  const existing = ((doc.toJS() as { models?: Entry[] } | null)?.models ?? []).find((e) => e.name === entry.name && String(e.version) === entry.version);
  if (existing) {
    if (existing.path === entry.path) return { text, added: false };
    throw new PipelineError(`${file}: model ${entry.name} version ${entry.version} is already registered with path ${JSON.stringify(existing.path)}, not ${JSON.stringify(entry.path)}: registered versions do not change; register a new version (leave the version out to get the next one)`);
  }
  const item: Record<string, string> = { name: entry.name, version: entry.version, path: entry.path, type: entry.type };
  if (entry.description) item.description = entry.description;
  if (models === undefined) doc.set("models", doc.createNode([item]));
  else (models as YAMLSeq).add(doc.createNode(item));
  return { text: doc.toString(), added: true };
}

/** Adds a model version to the stack's registry.yml (created when the stack has none) and checks the result loads. */
export async function registerModel(args: RegisterModelArgs, opts: PipelineOptions = {}): Promise<RegisteredModel> {
  const root = opts.root ?? REPO_ROOT;
  const { dir } = stackSpecDir(args.stack, root);
  if (!existsSync(dir)) throw new PipelineError(`stack "${args.stack}" has no spec folder ${dir}: create it, or set modelplane:specDir in its stack config file`);
  const modelDir = path.resolve(args.path);
  if (!existsSync(modelDir)) throw new PipelineError(`model path ${modelDir} does not exist: save the trained model there first (registerModel path)`);
  const file = REGISTRY_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f)) ?? path.join(dir, REGISTRY_FILES[0]!);
  const existed = existsSync(file);
  const before = existed ? readFileSync(file, "utf8") : "";
  const current = ((parseDocument(before).toJS() as { models?: Entry[] } | null)?.models ?? []) as Entry[];
  const version = args.version === undefined ? nextVersion(current, args.name) : String(args.version);
  const rel = path.relative(dir, modelDir) || ".";
  const { text, added } = addModelEntry(before, file, { name: args.name, version, path: rel, type: args.type ?? "custom_model", description: args.description });
  if (added) {
    const tmp = `${file}.modelplane-${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    const check = await loadRegistry(dir);
    const errors = check.issues.filter((i) => i.severity === "error");
    if (!check.registry || errors.length > 0) {
      if (existed) writeFileSync(file, before);
      else rmSync(file, { force: true });
      throw new PipelineError(`${file} did not load after adding ${args.name}:${version} (${errors.map((e) => e.message).join("; ") || "no registry"}); it was put back: fix the entry`);
    }
  }
  opts.onOutput?.(`${added ? "registered" : "already registered"} model ${args.name}:${version} (${rel}) in ${path.relative(process.cwd(), file) || file}`);
  return { name: args.name, version, reference: `azureml:${args.name}:${version}`, file, added };
}
