// Rewrites an endpoint YAML's `traffic` / `mirror_traffic` in place. The yaml package's Document
// API finds each value's exact source range and only those bytes change: comments, quoting,
// blank lines and indentation stay as they were. A new deployment gets a line of its own in the
// map's own indentation (flow maps `{a: 1}` are written out again); a mirror that ends loses its
// line, or the whole `mirror_traffic` key when none is left.
import { isMap, isPair, isScalar, parseDocument, type Pair, type YAMLMap } from "yaml";
import { CliError } from "./access";

export type Split = Record<string, number>;

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** `blue=90`, `green=10` (or one `"blue=90 green=10"` argument, Azure's --traffic form) as a split. */
export function parseSplit(args: string[], flag: string): Split {
  const out: Split = {};
  for (const part of args.flatMap((a) => a.split(/[\s,]+/)).filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)=(\d{1,3})$/.exec(part);
    if (!m) throw new CliError(`${flag} "${part}" is not <deployment>=<percent>: write e.g. blue=90 green=10 (whole percents)`);
    if (m[1]! in out) throw new CliError(`${flag} names deployment "${m[1]}" twice: give each deployment once`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** `a=1 b=2`, or `none`. */
export function formatSplit(split: Split | undefined): string {
  const parts = Object.entries(split ?? {}).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(" ") : "none";
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf("\n", at - 1) + 1;
}

/** Index just past the end of the line holding `at` (after its newline, or the text's end). */
function lineEnd(text: string, at: number): number {
  const nl = text.indexOf("\n", at);
  return nl < 0 ? text.length : nl + 1;
}

function pairName(p: Pair): string {
  return String(isScalar(p.key) ? p.key.value : p.key);
}

function flowText(entries: Array<[string, number]>): string {
  return `{${entries.map(([k, v]) => `${k}: ${v}`).join(", ")}}`;
}

/** The edits that turn map `key` into `wanted` (entries in order; undefined = the key goes). */
function mapEdits(text: string, topPair: Pair | undefined, key: string, wanted: Array<[string, number]> | undefined): Edit[] | "rewrite" {
  if (topPair === undefined) {
    if (wanted === undefined) return [];
    return [{ start: text.length, end: text.length, text: `${key}:\n${wanted.map(([k, v]) => `  ${k}: ${v}\n`).join("")}` }];
  }
  const keyNode = topPair.key as { range?: [number, number, number] };
  const node = topPair.value;
  if (!isMap(node) || !node.range || !keyNode.range) return "rewrite";
  const map = node as YAMLMap;
  const range = map.range!;
  if (wanted === undefined) {
    // The whole `key:` entry goes: from its line's start to the end of its map's last line.
    // Comment lines indented under it go with it; those at its own level stay (they may be about
    // what follows), and so does one blank line where two would meet.
    const start = lineStart(text, keyNode.range[0]);
    const column = keyNode.range[0] - start;
    const lastPair = map.items.filter(isPair).pop();
    const lastEnd = map.flow ? range[1] - 1 : ((lastPair?.value as { range?: [number, number, number] } | null)?.range?.[1] ?? range[1] - 1);
    let end = lineEnd(text, lastEnd);
    for (let m = /^( *)#.*(\n|$)/.exec(text.slice(end)); m && m[0] !== "" && m[1]!.length > column; m = /^( *)#.*(\n|$)/.exec(text.slice(end))) end += m[0].length;
    const blankBefore = start >= 2 && text[start - 1] === "\n" && text[start - 2] === "\n";
    const blankAfter = /^[ \t]*\n/.exec(text.slice(end));
    if ((blankBefore || start === 0) && blankAfter) end += blankAfter[0].length;
    return [{ start, end, text: "" }];
  }
  const pairs = map.items.filter(isPair);
  const existing = new Map(pairs.map((p) => [pairName(p), p]));
  const wantedNames = new Set(wanted.map(([k]) => k));
  const added = wanted.filter(([k]) => !existing.has(k));
  const removed = pairs.filter((p) => !wantedNames.has(pairName(p)));
  if (map.flow && (added.length > 0 || removed.length > 0)) {
    // A flow map is one token: written out again, with the entries in order.
    const order = [...pairs.map(pairName).filter((n) => wantedNames.has(n)), ...added.map(([k]) => k)];
    const values = new Map(wanted);
    return [{ start: range[0], end: range[1], text: flowText(order.map((n) => [n, values.get(n)!])) }];
  }
  if (!map.flow && pairs.length === 0) return "rewrite";
  const edits: Edit[] = [];
  const values = new Map(wanted);
  for (const p of pairs) {
    const v = p.value;
    if (!wantedNames.has(pairName(p))) {
      const kr = (p.key as { range?: [number, number, number] }).range;
      const vr = (v as { range?: [number, number, number] } | null)?.range;
      if (!kr) return "rewrite";
      edits.push({ start: lineStart(text, kr[0]), end: lineEnd(text, vr ? vr[1] : kr[1]), text: "" });
      continue;
    }
    const want = values.get(pairName(p))!;
    if (!isScalar(v) || !v.range) return "rewrite";
    if (v.value !== want) edits.push({ start: v.range[0], end: v.range[1], text: String(want) });
  }
  if (added.length > 0) {
    const first = pairs[0]!.key as { range?: [number, number, number] };
    const last = pairs[pairs.length - 1]!;
    const lastEnd = (last.value as { range?: [number, number, number] } | null)?.range?.[1] ?? (last.key as { range?: [number, number, number] }).range?.[1];
    if (!first.range || lastEnd === undefined) return "rewrite";
    const indent = " ".repeat(first.range[0] - lineStart(text, first.range[0]));
    const at = lineEnd(text, lastEnd);
    edits.push({ start: at, end: at, text: added.map(([k, v]) => `${indent}${k}: ${v}\n`).join("") });
  }
  return edits;
}

export interface SplitRewrite {
  text: string;
  before: { traffic: Split; mirror: Split };
  after: { traffic: Split; mirror: Split };
}

function asSplit(v: unknown): Split {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Split) : {};
}

/**
 * The endpoint YAML `text` with `traffic` set to `traffic` (deployments it had and `traffic` does
 * not name get 0, as with Azure's --traffic) and, when `mirror` is given, `mirror_traffic` set to
 * its non-zero entries (the others end). Only the changed values' bytes differ.
 */
export function rewriteSplit(original: string, traffic: Split, mirror?: Split): SplitRewrite {
  // Line edits assume a final newline; a file without one gets none back.
  const text = original.endsWith("\n") || original === "" ? original : `${original}\n`;
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new CliError(`the endpoint YAML does not parse (${doc.errors[0]!.message.split("\n")[0]}): fix it first (\`modelplane validate\` shows where)`);
  if (!isMap(doc.contents)) throw new CliError("the endpoint YAML is not a mapping of fields: fix it first (`modelplane validate`)");
  const top = doc.contents as YAMLMap;
  const topPair = (k: string): Pair | undefined => top.items.find((p) => isPair(p) && pairName(p) === k) as Pair | undefined;
  const before = { traffic: asSplit(doc.toJS().traffic), mirror: asSplit(doc.toJS().mirror_traffic) };

  const trafficOrder: Array<[string, number]> = [...Object.keys(before.traffic).map((k): [string, number] => [k, traffic[k] ?? 0]), ...Object.entries(traffic).filter(([k]) => !(k in before.traffic))];
  const keptMirror = mirror === undefined ? undefined : Object.entries(mirror).filter(([, v]) => v > 0);
  const mirrorOrder: Array<[string, number]> | undefined =
    keptMirror === undefined ? undefined : [...Object.keys(before.mirror).flatMap((k): Array<[string, number]> => (mirror![k] ? [[k, mirror![k]!]] : [])), ...keptMirror.filter(([k]) => !(k in before.mirror))];

  const edits: Edit[] = [];
  let rewrite = false;
  for (const [key, wanted] of [["traffic", trafficOrder], ["mirror_traffic", mirrorOrder === undefined ? "keep" : mirrorOrder.length > 0 ? mirrorOrder : undefined]] as const) {
    if (wanted === "keep") continue;
    const e = mapEdits(text, topPair(key), key, wanted);
    if (e === "rewrite") rewrite = true;
    else edits.push(...e);
  }
  let out: string;
  if (rewrite) {
    // Shapes the range edits do not cover (an empty `traffic:`, a map emptied in place): the Document API writes the file.
    doc.set("traffic", doc.createNode(Object.fromEntries(trafficOrder)));
    if (mirrorOrder !== undefined) {
      if (mirrorOrder.length > 0) doc.set("mirror_traffic", doc.createNode(Object.fromEntries(mirrorOrder)));
      else doc.delete("mirror_traffic");
    }
    out = doc.toString();
  } else {
    out = text;
    for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }

  // The result must read back as asked, whatever the source looked like.
  const check = parseDocument(out);
  const got = { traffic: asSplit(check.toJS().traffic), mirror: asSplit(check.toJS().mirror_traffic) };
  const want = { traffic: Object.fromEntries(trafficOrder), mirror: mirrorOrder === undefined ? before.mirror : Object.fromEntries(mirrorOrder) };
  if (check.errors.length > 0 || JSON.stringify(got) !== JSON.stringify(want)) {
    throw new CliError(`could not rewrite the traffic of this YAML in place (it read back as traffic ${formatSplit(got.traffic)}, mirror ${formatSplit(got.mirror)}): edit it by hand, and report the file as a bug`);
  }
  return { text: text === original || !out.endsWith("\n") ? out : out.slice(0, -1), before, after: want };
}
