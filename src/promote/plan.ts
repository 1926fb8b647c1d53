// What `modelplane promote` writes: each promoted deployment's YAML in the target stack's spec
// folder with what the deployment *runs* taken from the source (model, code, environment,
// environment variables, probes, ...) and what belongs to the target kept (instances, scale and
// request settings, tags, secret placeholders, traffic). Pure: texts in, texts out; comments kept.
import path from "node:path";
import { isMap, isScalar, parseDocument, type Document, type Node, type YAMLMap } from "yaml";
import { formatSplit, rewriteSplit, type Split } from "../cli/commands/traffic-edit";

/** One spec file of a stack as the loader classified it. */
export interface SpecFile {
  file: string;
  /** `online-endpoint`, `online-deployment`, ... */
  kind: string;
  name?: string;
  text: string;
}

export interface PromotionInput {
  source: SpecFile[];
  target: SpecFile[];
  /** The target stack's spec folder (new deployments' files go here). */
  targetDir: string;
  /** Only these deployments (default: every online deployment of the source). */
  deployments?: string[];
  /** Set the target endpoint's split to this (deployments left out get 0). */
  traffic?: Split;
}

export interface PlannedFile {
  file: string;
  text: string;
  /** The file's text before (undefined for a new file). */
  before?: string;
}

export interface PromotionPlan {
  files: PlannedFile[];
  /** One line per promoted deployment and per traffic change. */
  summary: string[];
  /** endpoint/deployment pairs promoted (for the live-state and verification gates). */
  promoted: Array<{ endpoint: string; deployment: string }>;
}

/** A promotion the input does not allow; the message says why and how to fix it. */
export class PromotionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromotionError";
  }
}

/** What a deployment runs: taken from the source. */
export const CARRIED = ["model", "model_mount_path", "code_configuration", "environment", "environment_variables", "type", "app_insights_enabled", "liveness_probe", "readiness_probe", "data_collector", "egress_public_network_access"] as const;
/** What the target decides: left as the target has it; a new deployment takes its sibling's. */
export const TARGET_OWNED = ["instance_count", "instance_type", "scale_settings", "request_settings", "resources", "tags"] as const;
/** Paths inside carried fields, relative to the file that holds them. */
const PATH_FIELDS: Array<string[]> = [["model", "path"], ["code_configuration", "code"], ["environment", "conda_file"], ["environment", "build", "path"]];

function isRelativePath(v: string): boolean {
  return v !== "" && !path.isAbsolute(v) && !/^[a-z][a-z0-9+.-]*:/i.test(v);
}

/** `v` (relative to `fromDir`) made relative to `toDir`, trailing slash kept. */
export function rebase(v: string, fromDir: string, toDir: string): string {
  if (!isRelativePath(v)) return v;
  const rel = path.relative(toDir, path.resolve(fromDir, v)) || ".";
  return v.endsWith("/") && !rel.endsWith("/") ? `${rel}/` : rel;
}

function parse(f: SpecFile): Document.Parsed {
  const doc = parseDocument(f.text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new PromotionError(`${f.file} does not parse as a YAML map (${doc.errors[0]?.message.split("\n")[0] ?? "not a map"}): fix it first (\`modelplane validate\`)`);
  return doc;
}

/** A copy of the source's `field` node with its relative paths rebased to the target file. */
function carriedNode(src: Document.Parsed, field: string, fromDir: string, toDir: string): Node | undefined {
  const node = src.get(field, true) as Node | undefined;
  if (node === undefined) return undefined;
  const copy = node.clone() as Node;
  if (isScalar(copy) && typeof copy.value === "string" && field === "model") copy.value = rebase(copy.value, fromDir, toDir);
  for (const p of PATH_FIELDS) {
    if (p[0] !== field) continue;
    let at: unknown = copy;
    for (const k of p.slice(1, -1)) at = isMap(at) ? (at as YAMLMap).get(k, true) : undefined;
    const leaf = isMap(at) ? (at as YAMLMap).get(p.at(-1)!, true) : undefined;
    if (isScalar(leaf) && typeof leaf.value === "string") leaf.value = rebase(leaf.value, fromDir, toDir);
  }
  return copy;
}

/** Environment variables: the source's, except values the target fills from its own secrets/config (`{{NAME}}`, `${...}`). */
function mergedEnv(src: Document.Parsed, tgt: Document.Parsed | undefined): Node | undefined {
  const s = src.get("environment_variables", true) as Node | undefined;
  if (!tgt || !isMap(s)) return undefined;
  const t = tgt.get("environment_variables", true);
  if (!isMap(t)) return undefined;
  const copy = s.clone() as YAMLMap;
  let kept = false;
  for (const item of (t as YAMLMap).items) {
    const key = isScalar(item.key) ? String(item.key.value) : undefined;
    const value = isScalar(item.value) ? String(item.value.value) : undefined;
    if (key && value !== undefined && /\{\{|\$\{/.test(value)) {
      copy.set(item.key, item.value);
      kept = true;
    }
  }
  return kept ? copy : undefined;
}

function describeChange(name: string, endpoint: string, before: Document.Parsed | undefined, after: Document.Parsed): string {
  const show = (d: Document.Parsed | undefined, f: string) => {
    const v: unknown = (d?.toJS() as Record<string, unknown> | undefined)?.[f];
    const m = f === "model" && v !== null && typeof v === "object" ? (v as { name?: unknown; version?: unknown; path?: unknown }) : undefined;
    if (m && typeof m.name === "string") return `${m.name}${m.version !== undefined ? `:${String(m.version)}` : ""}`;
    if (m && typeof m.path === "string") return m.path;
    return v === undefined ? "-" : typeof v === "string" ? v : JSON.stringify(v);
  };
  if (!before) return `${endpoint}/${name}: new in the target (model ${show(after, "model")}), instances as its siblings there`;
  const changed = CARRIED.filter((f) => show(before, f) !== show(after, f));
  if (changed.length === 0) return `${endpoint}/${name}: already runs what the source runs`;
  return `${endpoint}/${name}: ${changed.map((f) => (f === "model" ? `model ${show(before, f)} -> ${show(after, f)}` : f)).join(", ")} from the source; kept ${TARGET_OWNED.filter((f) => show(after, f) !== "-").join(", ") || "the defaults"}`;
}

export function planPromotion(input: PromotionInput): PromotionPlan {
  const sourceDeps = input.source.filter((f) => f.kind === "online-deployment");
  const wanted = input.deployments ?? sourceDeps.map((f) => f.name ?? "");
  const files = new Map<string, PlannedFile>();
  const textOf = (f: SpecFile) => files.get(f.file)?.text ?? f.text;
  const summary: string[] = [];
  const promoted: PromotionPlan["promoted"] = [];
  const newByEndpoint = new Map<string, string[]>();

  for (const name of wanted) {
    const matches = sourceDeps.filter((f) => f.name === name);
    if (matches.length === 0) throw new PromotionError(`the source stack has no online deployment "${name}" (it has: ${sourceDeps.map((f) => f.name).join(", ") || "none"}): check --deployment`);
    for (const sf of matches) {
      const src = parse(sf);
      const endpoint = String(src.get("endpoint_name") ?? "");
      const targetEndpoint = input.target.find((f) => f.kind === "online-endpoint" && f.name === endpoint);
      if (!targetEndpoint) throw new PromotionError(`the target stack has no online endpoint "${endpoint}" (needed by deployment "${name}"): add its endpoint.yml to ${input.targetDir} first (promote carries deployments, not endpoints)`);
      const siblings = input.target.filter((f) => f.kind === "online-deployment" && String(parse(f).get("endpoint_name")) === endpoint);
      const tf = siblings.find((f) => f.name === name);
      const before = tf ? parse(tf) : undefined;
      let out: Document.Parsed;
      let file: string;
      if (tf) {
        file = tf.file;
        out = parse({ ...tf, text: textOf(tf) });
        const toDir = path.dirname(file);
        for (const field of CARRIED) {
          const node = field === "environment_variables" ? (mergedEnv(src, out) ?? carriedNode(src, field, path.dirname(sf.file), toDir)) : carriedNode(src, field, path.dirname(sf.file), toDir);
          if (node === undefined) out.delete(field);
          else out.set(field, node);
        }
      } else {
        const base = path.join(input.targetDir, path.basename(sf.file));
        file = input.target.some((f) => f.file === base) ? path.join(input.targetDir, `${endpoint}-${name}-deployment.yml`) : base;
        out = parseDocument(sf.text);
        for (const field of CARRIED) {
          const node = carriedNode(src, field, path.dirname(sf.file), path.dirname(file));
          if (node !== undefined) out.set(field, node);
        }
        const sibling = siblings[0] ? parse(siblings[0]) : undefined;
        if (sibling) {
          for (const field of TARGET_OWNED) {
            const node = sibling.get(field, true) as Node | undefined;
            if (node === undefined) out.delete(field);
            else out.set(field, (node as Node).clone());
          }
        }
        newByEndpoint.set(targetEndpoint.file, [...(newByEndpoint.get(targetEndpoint.file) ?? []), name]);
      }
      const text = out.toString();
      const original = tf?.text;
      if (text !== (original ?? "")) files.set(file, { file, text, before: original });
      else files.delete(file);
      summary.push(describeChange(name, endpoint, before, out));
      promoted.push({ endpoint, deployment: name });
    }
  }

  // Traffic: the target's own, a new deployment at 0 %, unless --traffic says otherwise.
  for (const ef of input.target.filter((f) => f.kind === "online-endpoint")) {
    const news = newByEndpoint.get(ef.file) ?? [];
    const touched = promoted.some((p) => p.endpoint === ef.name);
    if (!touched) continue;
    const current = (parseDocument(ef.text).toJS() as { traffic?: Split } | null)?.traffic ?? {};
    const split: Split | undefined = input.traffic ? input.traffic : news.some((n) => !(n in current)) ? { ...current, ...Object.fromEntries(news.filter((n) => !(n in current)).map((n) => [n, 0])) } : undefined;
    if (!split) continue;
    const edit = rewriteSplit(ef.text, split);
    if (edit.text !== ef.text) {
      files.set(ef.file, { file: ef.file, text: edit.text, before: ef.text });
      summary.push(`${ef.name}: traffic ${formatSplit(edit.before.traffic)} -> ${formatSplit(edit.after.traffic)}`);
    }
  }
  return { files: [...files.values()], summary, promoted };
}
