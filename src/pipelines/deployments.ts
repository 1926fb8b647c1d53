// Spec edits a pipeline makes in a stack's folder: a new deployment (a copy of a sibling running
// another model) at 0 %, and traffic shifts. Files are edited in place, comments kept.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isMap, parseDocument } from "yaml";
import { stackConfigValue, stackSpecDir } from "../cli/commands/stack-config";
import { REPO_ROOT } from "../cli/commands/toolchain-env";
import { formatSplit, rewriteSplit, type Split } from "../cli/commands/traffic-edit";
import { loadSpecs } from "../spec";
import { PipelineError, type PipelineOptions } from "./workspace";

export interface AddDeploymentArgs {
  stack: string;
  endpoint: string;
  /** The new deployment's name. */
  name: string;
  /** The deployment whose file is copied (code, environment, instances, probes). */
  copyOf: string;
  /** The new deployment's model: `azureml:<name>:<version>` (registerModel's `reference`). */
  model: string;
}

export interface SpecEdit {
  /** Files written (absolute). */
  files: string[];
  /** The endpoint's traffic after the edit. */
  traffic: Split;
}

interface StackFiles {
  dir: string;
  endpointFile: string;
  deployments: Map<string, string>;
}

async function stackFiles(stack: string, endpoint: string, root: string): Promise<StackFiles> {
  const { dir } = stackSpecDir(stack, root);
  if (!existsSync(dir)) throw new PipelineError(`stack "${stack}" has no spec folder ${dir}: create it, or set modelplane:specDir in its stack config file`);
  const set = (stackConfigValue(stack, root, "modelplane:placeholders") ?? {}) as Record<string, string>;
  const loaded = await loadSpecs([dir], { set });
  const ep = loaded.documents.find((d) => d.kind === "online-endpoint" && d.name === endpoint);
  if (!ep) throw new PipelineError(`stack "${stack}" has no online endpoint "${endpoint}" in ${dir} (it has: ${loaded.documents.filter((d) => d.kind === "online-endpoint").map((d) => d.name).join(", ") || "none"}): check the endpoint name`);
  const deployments = new Map<string, string>();
  for (const d of loaded.documents) {
    if (d.kind !== "online-deployment" || !d.name) continue;
    const doc = parseDocument(readFileSync(d.file, "utf8"));
    if (String(doc.get("endpoint_name")) === endpoint) deployments.set(d.name, path.resolve(d.file));
  }
  return { dir, endpointFile: path.resolve(ep.file), deployments };
}

function write(file: string, text: string): void {
  const tmp = `${file}.modelplane-${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function currentSplit(endpointText: string): Split {
  const t = (parseDocument(endpointText).toJS() as { traffic?: unknown } | null)?.traffic;
  return t !== null && typeof t === "object" && !Array.isArray(t) ? (t as Split) : {};
}

/** The deployment YAML `text` renamed to `name` and running `model`; every other field kept. Pure. */
export function copyDeployment(text: string, file: string, name: string, model: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new PipelineError(`${file} does not parse as a YAML map: fix it (\`modelplane validate\`) before copying it`);
  doc.set("name", name);
  doc.set("model", model);
  return doc.toString();
}

/** Adds deployment `name` (a copy of `copyOf` running `model`) to the endpoint at 0 % traffic; a deployment already there with that model is left as it is. */
export async function addDeployment(args: AddDeploymentArgs, opts: PipelineOptions = {}): Promise<SpecEdit> {
  const root = opts.root ?? REPO_ROOT;
  const s = await stackFiles(args.stack, args.endpoint, root);
  const files: string[] = [];
  const existing = s.deployments.get(args.name);
  if (existing) {
    const model = (parseDocument(readFileSync(existing, "utf8")).toJS() as { model?: unknown } | null)?.model;
    if (model !== args.model) throw new PipelineError(`stack "${args.stack}" already has deployment ${args.endpoint}/${args.name} (${existing}) running ${JSON.stringify(model)}, not ${args.model}: pick another name, or edit that file`);
  } else {
    const src = s.deployments.get(args.copyOf);
    if (!src) throw new PipelineError(`endpoint ${args.endpoint} of stack "${args.stack}" has no deployment "${args.copyOf}" to copy (it has: ${[...s.deployments.keys()].join(", ") || "none"}): check copyOf`);
    const file = path.join(path.dirname(src), `${args.name}-deployment.yml`);
    if (existsSync(file)) throw new PipelineError(`${file} exists but is not deployment ${args.endpoint}/${args.name}: move it, or pick another name`);
    write(file, copyDeployment(readFileSync(src, "utf8"), src, args.name, args.model));
    files.push(file);
  }
  const text = readFileSync(s.endpointFile, "utf8");
  const split = currentSplit(text);
  if (!(args.name in split)) {
    write(s.endpointFile, rewriteSplit(text, { ...split, [args.name]: 0 }).text);
    files.push(s.endpointFile);
  }
  opts.onOutput?.(`deployment ${args.endpoint}/${args.name} (${args.model}) in stack ${args.stack}: ${files.length ? files.map((f) => path.relative(process.cwd(), f)).join(", ") : "already there"}`);
  return { files, traffic: { ...split, [args.name]: split[args.name] ?? 0 } };
}

/** `split` with `to` at `percent`, the difference taken from (or given to) the others, largest first. Pure. */
export function shiftSplit(split: Split, to: string, percent: number): Split {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new PipelineError(`traffic percent ${percent} for "${to}" is not a whole number from 0 to 100: pass e.g. 10`);
  const out: Split = { ...split, [to]: split[to] ?? 0 };
  let delta = percent - out[to]!;
  out[to] = percent;
  const others = Object.keys(out).filter((k) => k !== to).sort((a, b) => out[b]! - out[a]! || a.localeCompare(b));
  if (others.length === 0 && percent !== 100) throw new PipelineError(`"${to}" is the endpoint's only deployment: its traffic can only be 100, not ${percent}`);
  for (const k of others) {
    if (delta === 0) break;
    const take = delta > 0 ? Math.min(delta, out[k]!) : delta;
    out[k] = out[k]! - take;
    delta -= take;
  }
  return out;
}

/** Moves the endpoint's traffic so `deployment` gets `percent` (taken from the others, largest first). */
export async function shiftTraffic(args: { stack: string; endpoint: string; deployment: string; percent: number }, opts: PipelineOptions = {}): Promise<SpecEdit> {
  const root = opts.root ?? REPO_ROOT;
  const s = await stackFiles(args.stack, args.endpoint, root);
  if (!s.deployments.has(args.deployment)) throw new PipelineError(`endpoint ${args.endpoint} of stack "${args.stack}" has no deployment "${args.deployment}" (it has: ${[...s.deployments.keys()].join(", ") || "none"}): add it first (addDeployment)`);
  const text = readFileSync(s.endpointFile, "utf8");
  const before = currentSplit(text);
  const split = shiftSplit(before, args.deployment, args.percent);
  const edit = rewriteSplit(text, split);
  const files = edit.text === text ? [] : [s.endpointFile];
  if (files.length) write(s.endpointFile, edit.text);
  opts.onOutput?.(`traffic of ${args.endpoint} in stack ${args.stack}: ${formatSplit(before)} -> ${formatSplit(edit.after.traffic)}`);
  return { files, traffic: edit.after.traffic };
}
