// `{{NAME}}` tokens (filled by Azure's shell scripts before use) are filled from --set values.
// Substitution is textual, before YAML parsing, because unquoted `{{X}}` is not valid YAML scalar text,
// but each value is written as the YAML around its token needs: escaped inside a quoted scalar, and
// quoted when it is a whole plain value that YAML would otherwise misread (`a: b`, `#x`, `[1]`).
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

/** Where a token stands on its line: inside a quoted scalar, in a comment, or in plain text. */
type TokenContext = "double" | "single" | "comment" | "plain";

/** The context of the text at the end of `before` (the token's line up to it), read as YAML does. */
function contextOf(before: string): TokenContext {
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (quote === '"') {
      if (c === "\\") i++;
      else if (c === '"') quote = undefined;
    } else if (quote === "'") {
      // '' inside a single-quoted scalar is an escaped quote: it closes and opens again.
      if (c === "'") quote = undefined;
    } else if (c === "#" && (i === 0 || /\s/.test(before[i - 1]!))) return "comment";
    else if ((c === '"' || c === "'") && (i === 0 || /[\s:[{,-]/.test(before[i - 1]!))) quote = c;
  }
  return quote === '"' ? "double" : quote === "'" ? "single" : "plain";
}

/**
 * Whether `value` reads back as itself (a string, or the number or boolean it spells) written
 * unquoted where the token is: `starts` when it begins the scalar, `ends` when it ends it.
 */
function plainSafe(value: string, starts: boolean, ends: boolean): boolean {
  if (/: |\s#|[[\]{},]/.test(value)) return false;
  if (starts && (value === "" || /^(-(\s|$)|[\s?:#&*!|>'"%@`])/.test(value))) return false;
  return !(ends && /(\s|:)$/.test(value));
}

/**
 * The text that stands for `value` at `offset` (a token of `length` characters) in `text`, or
 * undefined when it cannot stand there: part of a longer unquoted scalar that YAML would misread.
 */
function yamlText(text: string, offset: number, length: number, value: string): string | undefined {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const lineEnd = text.indexOf("\n", offset + length);
  const before = text.slice(lineStart, offset);
  const after = text.slice(offset + length, lineEnd < 0 ? undefined : lineEnd);
  switch (contextOf(before)) {
    case "double":
      return JSON.stringify(value).slice(1, -1);
    case "single":
      return value.replace(/'/g, "''");
    case "comment":
      return value;
    case "plain": {
      // The token begins a key's or list item's value; nothing but a comment follows it on its line.
      const starts = /(^|\s)[-?]\s+$|:\s+$|^\s*$/.test(before);
      const ends = /^\s*(#.*)?$/.test(after);
      if (plainSafe(value, starts, ends)) return value;
      // The whole value: quoted (YAML's double quotes take JSON's escapes).
      return starts && ends ? JSON.stringify(value) : undefined;
    }
  }
}

export function fillPlaceholders(text: string, values: Record<string, string>): FilledText {
  const unfilled: Unfilled[] = [];
  const filled = text.replace(PLACEHOLDER, (match: string, name: string, offset: number) => {
    const given = values[name];
    if (given === undefined) {
      unfilled.push({
        name,
        offset,
        issue: specError("placeholder_unfilled", "", `placeholder {{${name}}} has no value`, `pass --set ${name}=<value> (or replace it in the file)`),
      });
      return standIn(name);
    }
    const value = given.replace(/[\r\n]+/g, " ");
    const out = yamlText(text, offset, match.length, value);
    if (out !== undefined) return out;
    unfilled.push({
      name,
      offset,
      issue: specError(
        "placeholder_unsafe",
        "",
        `the value of {{${name}}} (${JSON.stringify(value)}) cannot go into the unquoted text around it: YAML would misread it`,
        `quote the whole value in the file (e.g. "...{{${name}}}..."), or pass a value without ": ", " #", brackets or braces`,
      ),
    });
    return standIn(name);
  });
  return { text: filled, unfilled };
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
