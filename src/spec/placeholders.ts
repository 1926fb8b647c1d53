// `{{NAME}}` tokens (filled by Azure's shell scripts before use) are filled from --set values.
// Substitution is textual, before YAML parsing, because unquoted `{{X}}` is not valid YAML scalar text,
// but each value is written as the YAML token around it needs (found by the yaml package's lexer):
// escaped inside a quoted scalar, and quoted when it is a whole plain value that YAML would otherwise
// misread (`a: b`, `#x`, `[1]`).
import { CST, Lexer } from "yaml";
import { specError } from "./issue";
import type { SpecIssue } from "./types";

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** A token that could not be filled: no value was given, or the value cannot stand where the token is. */
export interface Unfilled {
  name: string;
  offset: number;
  issue: SpecIssue;
}

export interface FilledText {
  text: string;
  unfilled: Unfilled[];
}

/** Stand-in for an unfilled placeholder: DNS-safe, so one missing value yields one error, not a cascade. */
function standIn(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return `unset-${slug || "value"}`;
}

/** What kind of YAML text a token stands in. */
type TokenContext = "double" | "single" | "comment" | "block" | "plain";

/** A stretch of the text that is one YAML token: where it is and what kind. */
interface Span {
  start: number;
  end: number;
  kind: TokenContext;
}

/** The lexer's control tokens: they mark what follows and stand for no source text. */
const CONTROL = new Set(["\u0002", "\u0018", "\u001f"]);

/**
 * The scalar and comment tokens of `text`, as the yaml package's own lexer reads it (so quotes,
 * comments and block scalars are told apart exactly as the parser will).
 */
function scalarSpans(text: string): Span[] {
  const spans: Span[] = [];
  let offset = 0;
  let scalarNext = false;
  let blockHeader = false;
  for (const token of new Lexer().lex(text)) {
    if (CONTROL.has(token)) {
      scalarNext = token === "\u001f";
      continue;
    }
    const type = CST.tokenType(token);
    const start = offset;
    offset += token.length;
    let kind: TokenContext | undefined;
    if (type === "double-quoted-scalar") kind = "double";
    else if (type === "single-quoted-scalar") kind = "single";
    else if (type === "comment") kind = "comment";
    else if (scalarNext) kind = blockHeader ? "block" : "plain";
    if (type === "block-scalar-header") blockHeader = true;
    else if (scalarNext || (type !== "space" && type !== "newline" && type !== "comment")) blockHeader = false;
    scalarNext = false;
    if (kind !== undefined) spans.push({ start, end: offset, kind });
  }
  return spans;
}

/**
 * Whether `value` reads back as itself (a string, or the number or boolean it spells) written
 * unquoted where the token is: `starts` when it begins the scalar, `ends` when it ends it, between
 * the characters `before` and `after` it.
 */
function plainSafe(value: string, starts: boolean, ends: boolean, before: string, after: string): boolean {
  if (/: |\s#|[[\]{},]/.test(value)) return false;
  // Joined to the text around it: a blank then "#" starts a comment, ":" then a blank a mapping.
  if (/\s/.test(before) && value.startsWith("#")) return false;
  if (/\s/.test(after) && value.endsWith(":")) return false;
  if (starts && (value === "" || /^(-(\s|$)|[\s?:#&*!|>'"%@`])/.test(value))) return false;
  return !(ends && /(\s|:)$/.test(value));
}

/**
 * The text that stands for `value` in place of the token at [offset, offset + length) of `text`,
 * within `span` (the YAML token holding it, if any), or undefined when it cannot stand there: part of a
 * longer unquoted scalar that YAML would misread.
 */
function yamlText(text: string, span: Span | undefined, offset: number, length: number, value: string): string | undefined {
  switch (span?.kind ?? "plain") {
    case "double":
      return JSON.stringify(value).slice(1, -1);
    case "single":
      return value.replace(/'/g, "''");
    case "comment":
    case "block":
      return value;
    case "plain": {
      const starts = span === undefined || span.start === offset;
      const ends = span === undefined || span.end === offset + length;
      if (plainSafe(value, starts, ends, text.charAt(offset - 1), text.charAt(offset + length))) return value;
      // The whole value: quoted (YAML's double quotes take JSON's escapes).
      return starts && ends ? JSON.stringify(value) : undefined;
    }
  }
}

export function fillPlaceholders(text: string, values: Record<string, string>): FilledText {
  const tokens = [...text.matchAll(PLACEHOLDER)];
  if (tokens.length === 0) return { text, unfilled: [] };
  // Lexed with each token as plain letters of its own length, so offsets stay the text's own.
  const spans = scalarSpans(text.replace(PLACEHOLDER, (m) => "x".repeat(m.length)));
  const unfilled: Unfilled[] = [];
  let filled = "";
  let from = 0;
  for (const m of tokens) {
    const name = m[1]!;
    const offset = m.index!;
    filled += text.slice(from, offset);
    from = offset + m[0].length;
    const given = values[name];
    const value = given?.replace(/[\r\n]+/g, " ");
    const out = value === undefined ? undefined : yamlText(text, spans.find((s) => s.start <= offset && offset < s.end), offset, m[0].length, value);
    if (out !== undefined) {
      filled += out;
      continue;
    }
    unfilled.push({
      name,
      offset,
      issue:
        value === undefined
          ? specError("placeholder_unfilled", "", `placeholder {{${name}}} has no value`, `pass --set ${name}=<value> (or replace it in the file)`)
          : specError(
              "placeholder_unsafe",
              "",
              `the value of {{${name}}} (${JSON.stringify(value)}) cannot go into the unquoted text around it: YAML would misread it`,
              `quote the whole value in the file (e.g. "...{{${name}}}..."), or pass a value without ": ", " #", brackets or braces`,
            ),
    });
    filled += standIn(name);
  }
  return { text: filled + text.slice(from), unfilled };
}

/** Whole values like `<ENDPOINT_NAME>`: documentation templates that Azure's docs ask users to edit. */
const TEMPLATE_VALUE = /^<([A-Za-z_][A-Za-z0-9_-]*)>$/;

/** Finds template values in parsed data (bounded depth: spec files are shallow). */
export function findTemplateValues(data: unknown, prefix: string[] = [], depth = 0): SpecIssue[] {
  if (depth > 20 || data === null || typeof data !== "object") return [];
  const issues: SpecIssue[] = [];
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const fieldPath = [...prefix, key];
    const match = typeof value === "string" ? TEMPLATE_VALUE.exec(value.trim()) : null;
    if (match) {
      const field = fieldPath.join(".");
      issues.push(specError("template_value", field, `${field} is the documentation template "${match[0]}", not a real value`, `replace it, or write {{${match[1] ?? ""}}} and pass --set ${match[1] ?? ""}=<value>`));
    } else {
      issues.push(...findTemplateValues(value, fieldPath, depth + 1));
    }
  }
  return issues;
}
