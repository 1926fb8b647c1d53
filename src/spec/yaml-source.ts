// YAML parsing that keeps source positions, so each diagnostic points at its field's line:col.
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { specError } from "./issue";
import type { SpecIssue } from "./types";

/** Anchors/aliases may expand at most this many times: a guard against alias bombs. */
const MAX_ALIAS_COUNT = 100;

export interface YamlSource {
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface Positioned {
  issue: SpecIssue;
  offset: number;
}

export type YamlParse = { ok: true; source: YamlSource; data: unknown } | { ok: false; problems: Positioned[] };

export function parseYaml(text: string): YamlParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const duplicate = e.code === "DUPLICATE_KEY";
        const message = e.message.split("\n")[0] ?? e.message;
        return {
          offset: e.pos[0],
          issue: duplicate
            ? specError("duplicate_key", "", `duplicate key: ${message}`, "keep only one entry per key")
            : specError("yaml_syntax", "", `YAML syntax error: ${message}`, "fix the YAML syntax at this position"),
        };
      }),
    };
  }
  try {
    return { ok: true, source: { doc, lines }, data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    // yaml throws ReferenceError when aliases expand past maxAliasCount.
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, problems: [{ offset: 0, issue: specError("yaml_aliases", "", `YAML could not be expanded: ${message}`, "use fewer anchors/aliases (write the values out)") }] };
  }
}

/** Splits a dotted field path into keys that exist in the map, preferring the longest key
 *  (so tag or variable names containing dots still resolve). */
export function locate(source: YamlSource, field: string): number {
  let node: unknown = source.doc.contents;
  let best = (node as Node | null)?.range?.[0] ?? 0;
  const segs = field === "" ? [] : field.split(".");
  let i = 0;
  while (i < segs.length && isMap(node)) {
    let advanced = false;
    for (let j = segs.length; j > i; j--) {
      const key = segs.slice(i, j).join(".");
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      if (pair === undefined) continue;
      const keyNode = pair.key as Node;
      const valueNode = pair.value as Node | null;
      const done = j === segs.length;
      best = (done && valueNode?.range ? valueNode.range[0] : keyNode.range?.[0]) ?? best;
      node = valueNode;
      i = j;
      advanced = true;
      break;
    }
    if (!advanced) break;
  }
  return best;
}

export function lineCol(lines: LineCounter, offset: number): { line: number; col: number } {
  const pos = lines.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** Line/column (1-based) of an offset in raw text, for problems found before YAML parsing. */
export function textLineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, col: offset - before.lastIndexOf("\n") };
}
