/**
 * Job invocation bodies, pure: modelplane's shape and Azure's REST shape to one JobRequest, and
 * input references to what they name. Every refusal says the field, the value and the fix.
 */
import * as path from "node:path";
import { ApiError } from "../management/errors";
import type { DataAssetType } from "./types";

export interface JobRequest {
  input: { uri: string; type?: DataAssetType };
  deployment?: string;
  mini_batch_size?: number;
  instance_count?: number;
  output_file_name?: string;
  environment_variables?: Record<string, string>;
}

export type InputRef =
  | { kind: "datastore"; rel: string }
  | { kind: "host"; path: string }
  | { kind: "url"; url: string }
  | { kind: "asset"; name: string; version: string | "latest" };

const EXAMPLE = `{"input": "datastore://folders/<hash>"} or {"input": "azureml:my-data@latest"}`;

function bad(field: string, message: string): ApiError {
  return new ApiError(400, "invalid_body", `${field}: ${message}`, field);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A key of `o` matched case-insensitively (Azure's REST bodies come in both casings). */
function pick(o: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : o[key];
}

function inputType(raw: unknown, field: string): DataAssetType | undefined {
  if (raw === undefined) return undefined;
  const t = typeof raw === "string" ? raw.toLowerCase().replace(/_/g, "") : "";
  if (t === "urifolder") return "uri_folder";
  if (t === "urifile") return "uri_file";
  throw bad(field, `${JSON.stringify(raw)} is not an input type; use uri_folder (UriFolder) or uri_file (UriFile)`);
}

function positiveInt(raw: unknown, field: string, max: number): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 1 || raw > max) throw bad(field, `${JSON.stringify(raw)} is not a whole number from 1 to ${max}; e.g. "${field}": 10`);
  return raw;
}

/** output_file_name: a plain file name (it lands in the job's output folder). */
export function checkOutputFileName(raw: unknown, field = "output_file_name"): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(raw) || raw === "summary.json") {
    throw bad(field, `${JSON.stringify(raw)} is not a plain file name (letters, digits, '.', '_', '-'; not summary.json); e.g. "predictions.csv"`);
  }
  return raw;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envMap(raw: unknown, field: string): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) throw bad(field, `must be an object of NAME: "value" pairs`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!ENV_NAME.test(k)) throw bad(`${field}.${k}`, `${JSON.stringify(k)} is not an environment variable name (letters, digits, '_', not starting with a digit)`);
    if (k.startsWith("MODELPLANE_")) throw bad(`${field}.${k}`, "MODELPLANE_* variables are set by the server; choose another name");
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") throw bad(`${field}.${k}`, "values must be strings");
    out[k] = String(v);
  }
  return out;
}

/** The input of Azure's REST body: `properties.InputData.<name>` (or the older `properties.InputDatasets`). */
function azureInput(props: Record<string, unknown>): JobRequest["input"] {
  const data = pick(props, "InputData") ?? pick(props, "InputDatasets");
  if (!isRecord(data) || Object.keys(data).length === 0) throw bad("properties.InputData", `must name one input, e.g. {"properties": {"InputData": {"heart": {"JobInputType": "UriFolder", "Uri": "azureml:heart-data@latest"}}}}`);
  const names = Object.keys(data);
  if (names.length > 1) throw bad("properties.InputData", `has ${names.length} inputs (${names.join(", ")}); a model deployment takes exactly one`);
  const name = names[0]!;
  const entry = data[name];
  const field = `properties.InputData.${name}`;
  if (!isRecord(entry)) throw bad(field, `must be {"JobInputType": "UriFolder", "Uri": "..."}`);
  const uri = pick(entry, "Uri") ?? pick(entry, "Path");
  if (typeof uri !== "string" || uri === "") throw bad(`${field}.Uri`, "is missing; give the folder, file, URL or data asset to score");
  const type = inputType(pick(entry, "JobInputType"), `${field}.JobInputType`);
  return type ? { uri, type } : { uri };
}

/** Reads an invocation body: modelplane's `{input, ...}` or Azure's `{properties: {InputData: ...}}`. */
export function parseJobRequest(raw: unknown): JobRequest {
  if (!isRecord(raw)) throw bad("(body)", `must be a JSON object, e.g. ${EXAMPLE}`);
  const props = pick(raw, "properties");
  let input: JobRequest["input"];
  if (isRecord(props) && raw.input === undefined) {
    input = azureInput(props);
  } else {
    const given = raw.input;
    if (typeof given === "string" && given !== "") input = { uri: given };
    else if (isRecord(given) && typeof given.path === "string" && given.path !== "") {
      const type = inputType(given.type, "input.type");
      input = type ? { uri: given.path, type } : { uri: given.path };
    } else throw bad("input", `is missing or empty; give the data to score, e.g. ${EXAMPLE}`);
  }
  const req: JobRequest = { input };
  const deployment = raw.deployment ?? raw.deployment_name;
  if (deployment !== undefined) {
    if (typeof deployment !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(deployment)) throw bad("deployment", `${JSON.stringify(deployment)} is not a deployment name`);
    req.deployment = deployment;
  }
  const mbs = positiveInt(raw.mini_batch_size, "mini_batch_size", 1_000_000);
  if (mbs !== undefined) req.mini_batch_size = mbs;
  const ic = positiveInt(raw.instance_count, "instance_count", 1000);
  if (ic !== undefined) req.instance_count = ic;
  const out = checkOutputFileName(raw.output_file_name);
  if (out !== undefined) req.output_file_name = out;
  const env = envMap(raw.environment_variables, "environment_variables");
  if (env !== undefined) req.environment_variables = env;
  return req;
}

/** A relative path inside the datastore, normalized; refuses traversal and absolute paths. */
export function datastoreRel(rel: string, field = "input"): string {
  const parts = rel.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === ".." || p.includes("\\") || p.includes("\0"))) throw bad(field, `${JSON.stringify(rel)} leaves the datastore; use a path inside it, e.g. datastore://folders/<hash>`);
  return parts.join("/");
}

/** What an input string names. */
export function classifyInput(uri: string, field = "input"): InputRef {
  if (uri.startsWith("datastore://")) return { kind: "datastore", rel: datastoreRel(uri.slice("datastore://".length), field) };
  // Azure's own datastore URIs name paths of the workspace's datastore; here that is the stack's.
  const az = /^azureml:\/\/(?:.*\/)?datastores\/[^/]+\/paths\/(.*)$/.exec(uri);
  if (az) return { kind: "datastore", rel: datastoreRel(az[1]!, field) };
  if (/^https?:\/\//i.test(uri)) {
    try {
      const u = new URL(uri);
      if (u.username || u.password) throw bad(field, "URLs with credentials are refused; put the data where it can be fetched without them");
      return { kind: "url", url: u.href };
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw bad(field, `${JSON.stringify(uri)} is not a valid URL`);
    }
  }
  if (uri.startsWith("azureml:")) {
    const ref = uri.slice("azureml:".length);
    const at = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,254})@latest$/.exec(ref);
    if (at) return { kind: "asset", name: at[1]!, version: "latest" };
    const colon = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,254}):([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/.exec(ref);
    if (colon) return { kind: "asset", name: colon[1]!, version: colon[2]! };
    throw bad(field, `${JSON.stringify(uri)} is not a data asset reference; write azureml:<name>@latest or azureml:<name>:<version>`);
  }
  if (path.isAbsolute(uri)) return { kind: "host", path: path.resolve(uri) };
  throw bad(field, `${JSON.stringify(uri)} is not an input this server can read; give datastore://<path>, an absolute host folder under an allowed root, an http(s) URL or azureml:<data>@latest`);
}

/** Whether `p` (absolute, normalized) is one of `roots` or inside one. */
export function underRoots(p: string, roots: readonly string[]): boolean {
  return roots.some((r) => p === r || p.startsWith(r.endsWith("/") ? r : `${r}/`));
}

/** The 403 for a host path outside the roots, naming them and the fix. */
export function notAllowed(p: string, roots: readonly string[]): ApiError {
  const where = roots.length ? `the allowed roots are ${roots.join(", ")}` : "this stack allows no host folders (MODELPLANE_INPUT_ROOTS is empty)";
  return new ApiError(403, "input_not_allowed", `input ${p} is outside the host folders jobs may read: ${where}; move the data under one of them, add a root to the stack's config, or upload it to the datastore`, "input");
}

/** The highest version of a data asset (numeric versions compare as numbers). */
export function latestVersion(versions: readonly string[]): string | undefined {
  return [...versions].sort((a, b) => {
    const na = /^\d+$/.test(a) ? Number(a) : NaN;
    const nb = /^\d+$/.test(b) ? Number(b) : NaN;
    if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
    if (!Number.isNaN(na)) return -1;
    if (!Number.isNaN(nb)) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  })[versions.length - 1];
}

/** Files into mini-batches of `size`, in order. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Code-point order, the same on every machine and locale (mini-batches go over this order). */
export function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
