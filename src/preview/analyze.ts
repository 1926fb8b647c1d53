// Turns the steps of `pulumi preview --json --diff` into what changes per endpoint and deployment,
// and the warnings a reviewer needs. Pure: no I/O.
import type { Change, DeploymentChange, EndpointChange, PreviewJson, PreviewStep, PreviewSummary, SummaryOptions } from "./types";

/** Pulumi's placeholder for a value known only after the up. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Variables the deployment's plan sets itself (shown as model and content hash instead). */
const PLAN_ENV = new Set(["MODELPLANE_CONTENT_HASH", "AZUREML_MODEL_DIR", "AZUREML_ENTRY_SCRIPT", "MLFLOW_MODEL_DIR", "MODEL_REPOSITORY"]);

type Inputs = Record<string, unknown>;

/** `Traffic` from `urn:pulumi:s::p::a$b$pulumi-nodejs:dynamic/modelplane:Traffic::name`. */
export function resourceKind(urn: string): string {
  const type = urn.split("::")[2] ?? "";
  const last = type.split("$").pop() ?? "";
  return last.split(":").pop() ?? last;
}

function known<T>(v: unknown, pick: (x: unknown) => T | undefined): T | undefined {
  return v === UNKNOWN ? undefined : pick(v);
}
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const rec = (v: unknown): Inputs | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Inputs) : undefined);

/** Old and new inputs of a step (undefined for the side that does not exist). */
function sides(step: PreviewStep): { old?: Inputs; new?: Inputs } {
  return {
    old: step.op === "create" ? undefined : (step.oldState?.inputs ?? undefined),
    new: step.op === "delete" ? undefined : (step.newState?.inputs ?? undefined),
  };
}

/** `regression:2` from AZUREML_MODEL_DIR `/var/azureml-app/azureml-models/regression/2`, else the registration's model. */
function modelOf(container: Inputs | undefined, registration: Inputs | undefined): string | undefined {
  const dir = str(rec(container?.env)?.AZUREML_MODEL_DIR);
  const m = dir ? /azureml-models\/([^/]+)\/([^/]+)\/?$/.exec(dir) : null;
  if (m) return `${m[1]}:${m[2]}`;
  return known(rec(registration?.spec)?.model, str);
}

interface Parts {
  endpoint: string;
  name: string;
  registration: { op?: string; old?: Inputs; new?: Inputs };
  containers: PreviewStep[];
  image?: PreviewStep;
  parent?: string;
}

function change<T>(before: T | undefined, after: T | undefined): Change<T> {
  return { before, after };
}

function envNames(oldEnv: unknown, newEnv: unknown): { changed: string[]; secret: string[] } {
  const o = rec(oldEnv) ?? {};
  const n = rec(newEnv) ?? {};
  const names = [...new Set([...Object.keys(o), ...Object.keys(n)])].filter((k) => !PLAN_ENV.has(k)).sort();
  const changed: string[] = [];
  const secret: string[] = [];
  for (const k of names) {
    if (o[k] === "[secret]" || n[k] === "[secret]") secret.push(k);
    if (!(k in o)) changed.push(`+${k}`);
    else if (!(k in n)) changed.push(`-${k}`);
    else if (JSON.stringify(o[k]) !== JSON.stringify(n[k]) || n[k] === "[secret]") changed.push(`~${k}`);
  }
  return { changed, secret };
}

function deploymentChange(p: Parts, traffic: { old?: Inputs; new?: Inputs }, allSteps: PreviewStep[]): DeploymentChange {
  const first = (side: "old" | "new"): Inputs | undefined => {
    const cs = p.containers.map((c) => sides(c)[side]).filter((x): x is Inputs => x !== undefined);
    return cs.find((c) => /-0(-[0-9a-f]+)?$/.test(String(c.name ?? ""))) ?? cs[0];
  };
  const oc = first("old");
  const nc = first("new");
  const reg = p.registration;
  const replaced = p.containers.some((c) => c.op === "replace" || c.op === "create-replacement") || reg.op === "replace";
  const replacedUrns = new Set(p.containers.filter((c) => c.op === "replace").map((c) => c.urn));
  const order = allSteps.filter((s) => replacedUrns.has(s.urn)).map((s) => s.op);
  const deleteBeforeReplace = order.includes("delete-replaced") && order.indexOf("delete-replaced") < order.indexOf("create-replacement");
  const ops = [reg.op, ...p.containers.map((c) => c.op), p.image?.op].filter((o): o is string => o !== undefined);
  const op = reg.op === "create" || reg.op === "delete" ? reg.op : replaced ? "replace" : ops.some((o) => o !== "same") ? "update" : "same";
  const share = (side: Inputs | undefined, key: string) => num(rec(side?.[key])?.[p.name]) ?? (side ? 0 : undefined);
  const fp = (s: Inputs | undefined) => known(s?.fingerprint, str)?.slice(0, 12);
  const img = p.image ? sides(p.image) : {};
  const env = envNames(oc?.env, nc?.env);
  return {
    name: p.name,
    op,
    traffic: change(share(traffic.old, "traffic"), share(traffic.new, "traffic")),
    mirror: change(share(traffic.old, "mirror_traffic"), share(traffic.new, "mirror_traffic")),
    model: change(modelOf(oc, reg.old), modelOf(nc, reg.new)),
    image: change(fp(img.old), fp(img.new)),
    content: change(known(rec(oc?.env)?.MODELPLANE_CONTENT_HASH, str), known(rec(nc?.env)?.MODELPLANE_CONTENT_HASH, str)),
    instanceCount: change(known(rec(reg.old?.spec)?.instance_count, num), known(rec(reg.new?.spec)?.instance_count, num)),
    instanceType: change(known(rec(reg.old?.spec)?.instance_type, str), known(rec(reg.new?.spec)?.instance_type, str)),
    envChanged: env.changed,
    envSecret: env.secret,
    replaced,
    deleteBeforeReplace,
  };
}

function sum(m: Inputs | undefined): number {
  return Object.values(m ?? {}).reduce<number>((a, v) => a + (typeof v === "number" ? v : 0), 0);
}

/** Steps by operation, without `same` (Pulumi's changeSummary when it printed one). */
function countOps(json: PreviewJson): Record<string, number> {
  const counts: Record<string, number> = {};
  if (json.changeSummary) {
    for (const [op, n] of Object.entries(json.changeSummary)) if (op !== "same" && n > 0) counts[op] = n;
    return counts;
  }
  for (const s of json.steps ?? []) {
    const op = s.op === "create-replacement" || s.op === "delete-replaced" ? undefined : s.op;
    if (op && op !== "same") counts[op] = (counts[op] ?? 0) + 1;
  }
  return counts;
}

function stripPaths(text: string, prefixes: string[]): string {
  let out = text;
  for (const p of prefixes) if (p) out = out.split(p.endsWith("/") ? p : `${p}/`).join("");
  return out;
}

/** What the preview of `stack` changes, per endpoint, with its warnings and errors. */
export function summarizePreview(stack: string, json: PreviewJson, opts: SummaryOptions = {}): PreviewSummary {
  const listed = (json.steps ?? []).filter((s) => s.op !== "create-replacement" && s.op !== "delete-replaced");
  // Pulumi's JSON leaves unchanged resources out; the live state supplies them as `same` steps.
  const seen = new Set(listed.map((s) => s.urn));
  const unchanged: PreviewStep[] = (opts.state ?? [])
    .filter((r) => !seen.has(r.urn))
    .map((r) => ({ op: "same", urn: r.urn, oldState: { parent: r.parent, inputs: r.inputs }, newState: { parent: r.parent, inputs: r.inputs } }));
  const steps = [...listed, ...unchanged];
  const all = json.steps ?? [];
  const trafficBy = new Map<string, { op: string; old?: Inputs; new?: Inputs }>();
  const endpointOps = new Map<string, string>();
  const parts = new Map<string, Parts>();
  const key = (e: string, d: string) => `${e}\u0000${d}`;
  const byParent = new Map<string, Parts>();

  for (const s of steps) {
    const kind = resourceKind(s.urn);
    const io = sides(s);
    const inputs = io.new ?? io.old ?? {};
    if (kind === "Traffic") trafficBy.set(String(inputs.endpointName), { op: s.op, ...io });
    else if (kind === "Endpoint") endpointOps.set(String(inputs.name), s.op);
    else if (kind === "Deployment") {
      const e = String(inputs.endpointName);
      const d = String(inputs.name);
      const p: Parts = parts.get(key(e, d)) ?? { endpoint: e, name: d, registration: {}, containers: [] };
      p.registration = { op: s.op, ...io };
      p.parent = (s.newState ?? s.oldState)?.parent;
      parts.set(key(e, d), p);
      if (p.parent) byParent.set(p.parent, p);
    }
  }
  const others: PreviewSummary["others"] = [];
  let serverWarning: string | undefined;
  const other = (s: PreviewStep, kind: string) => {
    if (s.op !== "same" && s.op !== "read" && !/^(Stack|OnlineEndpoint|OnlineDeployment)$/.test(kind)) others.push({ name: s.urn.split("::").pop() ?? s.urn, kind, op: s.op });
  };
  for (const s of steps) {
    const kind = resourceKind(s.urn);
    const io = sides(s);
    const inputs = io.new ?? io.old ?? {};
    if (kind === "Traffic" || kind === "Endpoint" || kind === "Deployment") continue;
    if (kind === "DockerContainer") {
      const labels = rec(inputs.labels) ?? {};
      if (labels["modelplane.role"] !== "instance") {
        other(s, kind);
        if (labels["modelplane.role"] === "control-plane" && (s.op === "replace" || s.op === "delete")) serverWarning = `the modelplane server (gateway and management API) is ${s.op === "replace" ? "replaced" : "deleted"}: every endpoint of the stack answers nothing while it ${s.op === "replace" ? "restarts" : "is gone"}`;
        continue;
      }
      const e = str(labels["modelplane.endpoint"]);
      const d = str(labels["modelplane.deployment"]);
      if (!e || !d) continue;
      const p: Parts = parts.get(key(e, d)) ?? { endpoint: e, name: d, registration: {}, containers: [] };
      p.containers.push(s);
      parts.set(key(e, d), p);
    } else if (kind === "Image" && byParent.has((s.newState ?? s.oldState)?.parent ?? "")) {
      byParent.get((s.newState ?? s.oldState)?.parent ?? "")!.image = s;
    } else other(s, kind);
  }

  const names = [...new Set([...trafficBy.keys(), ...endpointOps.keys(), ...[...parts.values()].map((p) => p.endpoint)])].sort();
  const endpoints: EndpointChange[] = [];
  const warnings: string[] = [];
  const prod = (opts.prodStacks ?? ["prod"]).includes(stack);
  const threshold = opts.shiftThreshold ?? 20;
  for (const e of names) {
    const traffic: { old?: Inputs; new?: Inputs } = trafficBy.get(e) ?? {};
    // The JSON lists unchanged resources not at all: deployments only the split names get a row too.
    const splitNames = [traffic.old, traffic.new].flatMap((side) => [...Object.keys(rec(side?.traffic) ?? {}), ...Object.keys(rec(side?.mirror_traffic) ?? {})]);
    for (const d of splitNames) if (!parts.has(key(e, d))) parts.set(key(e, d), { endpoint: e, name: d, registration: {}, containers: [] });
    const deployments = [...parts.values()].filter((p) => p.endpoint === e).map((p) => deploymentChange(p, traffic, all));
    deployments.sort((a, b) => a.name.localeCompare(b.name));
    const epOp = endpointOps.get(e) ?? "same";
    const touched = epOp !== "same" || (trafficBy.get(e)?.op ?? "same") !== "same" || deployments.some((d) => d.op !== "same");
    if (!touched) continue;
    endpoints.push({ name: e, op: epOp, deployments });

    for (const d of deployments) {
      const serving = (d.traffic.before ?? 0) > 0 || (d.mirror.before ?? 0) > 0;
      if (d.op === "replace" && serving) {
        warnings.push(
          d.deleteBeforeReplace
            ? `${e}/${d.name} serves ${d.traffic.before ?? 0}% and will be replaced delete-before-create: it answers nothing until its new instances pass readiness`
            : `${e}/${d.name} serves ${d.traffic.before ?? 0}% and will be replaced create-before-delete: the new instances take over once ready, so it keeps serving`,
        );
      }
      if (d.op === "create" && epOp !== "create" && ((d.traffic.after ?? 0) > 0 || (d.mirror.after ?? 0) > 0)) {
        warnings.push(`traffic moves to ${e}/${d.name} (${d.traffic.after ?? 0}%${d.mirror.after ? `, mirror ${d.mirror.after}%` : ""}), which does not exist yet: the split applies only if it passes readiness; consider adding it at 0% first`);
      }
      const moved = Math.abs((d.traffic.after ?? 0) - (d.traffic.before ?? 0));
      if (prod && moved > threshold && d.op !== "delete") {
        warnings.push(`**flag**: prod traffic of ${e}/${d.name} moves ${moved} points (${d.traffic.before ?? 0}% -> ${d.traffic.after ?? 0}%), more than the ${threshold}-point threshold`);
      }
    }
    if (epOp === "delete" && sum(rec(traffic.old?.traffic)) > 0) {
      warnings.push(`endpoint ${e} is deleted while it serves traffic (${Object.entries(rec(traffic.old?.traffic) ?? {}).map(([k, v]) => `${k} ${String(v)}%`).join(", ")}): its clients get 404 after the up`);
    }
  }

  if (serverWarning) warnings.push(serverWarning);
  const strip = opts.stripPrefixes ?? [];
  const errors = (json.diagnostics ?? [])
    .filter((d) => d.severity === "error")
    .map((d) => stripPaths(d.message.replace(/^error: /, "").trimEnd(), strip));
  return { stack, counts: countOps(json), endpoints, others, warnings, errors };
}
