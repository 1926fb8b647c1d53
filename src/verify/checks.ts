// The verification requests a stack keeps in `stacks/<stack>/verify/*.yml` (docs/cli.md,
// "modelplane verify"), read with their source positions so every problem says file:line:col.
import { readFileSync } from "node:fs";
import path from "node:path";
import { isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";

/** One request to score and what must come back. */
export interface VerifyCheck {
  /** `name` from the file, unique per stack. */
  name: string;
  endpoint: string;
  /** Score this deployment directly (azureml-model-deployment); undefined = through the split. */
  deployment?: string;
  /** The request body (the file's bytes, or the inline `request` as JSON). */
  body: string;
  /** The JSON answer expected. */
  expect: unknown;
  /** Numbers may differ from `expect` by at most this much (absolute). @default 0 */
  tolerance: number;
  /** @default 200 */
  status: number;
  /** `file:line:col` of the request's entry. */
  where: string;
}

const TOP = new Set(["endpoint", "requests"]);
const ENTRY = new Set(["name", "deployment", "deployments", "request", "request_file", "expect", "tolerance", "status"]);

/** The checks of one verify file, or its problems (each `file:line:col: error: what - fix`). */
export function parseVerifyFile(file: string, text: string, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): { checks: VerifyCheck[]; problems: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) return { checks: [], problems: doc.errors.map((e) => `${at(e.pos[0])}: error: YAML syntax error: ${e.message.split("\n")[0]} - fix the YAML at this position`) };
  const pos = (keys: Array<string | number>): string => {
    for (let n = keys.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return `${file}:1:1`;
  };
  /** Where a key itself is written (an unknown field points at its name, not its value). */
  const keyPos = (keys: Array<string | number>): string => {
    const parent = keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((i) => isScalar(i.key) && String(i.key.value) === String(keys.at(-1))) : undefined;
    return isNode(pair?.key) && pair.key.range ? at(pair.key.range[0]) : pos(keys);
  };
  const problems: string[] = [];
  const unknown = (keys: Array<string | number>, allowed: Set<string>) =>
    problems.push(`${keyPos(keys)}: error: unknown field "${String(keys.at(-1))}" (${keys.join(".")}) - use only ${[...allowed].join(", ")}`);
  const problem = (keys: Array<string | number>, what: string, fix: string) => problems.push(`${pos(keys)}: error: ${what} (${keys.join(".") || "document"}) - ${fix}`);
  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    problem([], "a verify file is a map", "write `endpoint: <name>` and `requests:` (see docs/cli.md, modelplane verify)");
    return { checks: [], problems };
  }
  const top = data as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!TOP.has(k)) unknown([k], TOP);
  const endpoint = top.endpoint;
  if (typeof endpoint !== "string" || endpoint === "") problem(["endpoint"], `endpoint is ${JSON.stringify(endpoint)}`, "name the online endpoint these requests score, e.g. `endpoint: my-endpoint`");
  const requests = top.requests;
  if (!Array.isArray(requests) || requests.length === 0) {
    problem(["requests"], "requests is missing or empty", "list at least one request: `- name: ..., request_file: ..., expect: ...`");
    return { checks: [], problems };
  }
  const checks: VerifyCheck[] = [];
  requests.forEach((raw, i) => {
    const k = (...rest: string[]) => ["requests", i, ...rest];
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return problem(k(), "a request is a map", "give it name, request_file (or request) and expect");
    const r = raw as Record<string, unknown>;
    for (const f of Object.keys(r)) if (!ENTRY.has(f)) unknown(k(f), ENTRY);
    const name = typeof r.name === "string" && r.name !== "" ? r.name : undefined;
    if (!name) problem(k("name"), `name is ${JSON.stringify(r.name)}`, "give each request a name (it is printed when it fails), e.g. `name: sample-prediction`");
    let body: string | undefined;
    if ((r.request === undefined) === (r.request_file === undefined)) problem(k(), "a request needs exactly one of request_file and request", "set request_file: <path relative to this file>, or request: <inline JSON body>");
    else if (r.request_file !== undefined) {
      if (typeof r.request_file !== "string") problem(k("request_file"), `request_file is ${JSON.stringify(r.request_file)}`, "give a path relative to this file");
      else {
        const p = path.resolve(path.dirname(file), r.request_file);
        try {
          body = readFile(p);
        } catch (err) {
          problem(k("request_file"), `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, "fix the path (relative to this file)");
        }
      }
    } else body = JSON.stringify(r.request);
    if (!("expect" in r)) problem(k(), "expect is missing", "write the JSON answer the request must get, e.g. `expect: [1.5, 2.5]`");
    const tolerance = r.tolerance ?? 0;
    if (typeof tolerance !== "number" || !(tolerance >= 0)) problem(k("tolerance"), `tolerance is ${JSON.stringify(r.tolerance)}`, "give a number >= 0 (how far each number of the answer may be from expect)");
    const status = r.status ?? 200;
    if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) problem(k("status"), `status is ${JSON.stringify(r.status)}`, "give an HTTP status, e.g. 200");
    const deployments = r.deployments ?? (r.deployment === undefined ? [undefined] : [r.deployment]);
    if (r.deployment !== undefined && r.deployments !== undefined) problem(k("deployments"), "both deployment and deployments are set", "keep one of them");
    if (!Array.isArray(deployments) || deployments.some((d) => d !== undefined && (typeof d !== "string" || d === ""))) {
      problem(k(r.deployments !== undefined ? "deployments" : "deployment"), `deployment(s) ${JSON.stringify(r.deployments ?? r.deployment)}`, "name deployments of the endpoint, e.g. `deployments: [blue, green]`");
      return;
    }
    if (!name || body === undefined || typeof endpoint !== "string" || typeof tolerance !== "number" || typeof status !== "number" || !("expect" in r)) return;
    for (const d of deployments as Array<string | undefined>) checks.push({ name, endpoint, deployment: d, body, expect: r.expect, tolerance, status, where: pos(k()) });
  });
  return { checks, problems };
}

/** Every check of a stack's verify folder (sorted by file); throws nothing, returns the problems. */
export function loadVerifyDir(dir: string, list: (d: string) => string[], readFile: (p: string) => string): { checks: VerifyCheck[]; problems: string[]; files: string[] } {
  const files = list(dir).filter((f) => /\.ya?ml$/i.test(f)).sort().map((f) => path.join(dir, f));
  const checks: VerifyCheck[] = [];
  const problems: string[] = [];
  for (const f of files) {
    const r = parseVerifyFile(f, readFile(f), readFile);
    checks.push(...r.checks);
    problems.push(...r.problems);
  }
  const seen = new Map<string, string>();
  for (const c of checks) {
    const key = `${c.name}\u0000${c.deployment ?? ""}`;
    const first = seen.get(key);
    if (first && first !== c.where) problems.push(`${c.where}: error: request name "${c.name}" is used twice (also at ${first}) - give each request its own name`);
    seen.set(key, first ?? c.where);
  }
  return { checks, problems, files };
}
