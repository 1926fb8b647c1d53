// `{{NAME}}` tokens (filled by Azure's shell scripts before use) are filled from --set values.
// Substitution is textual, before YAML parsing, because unquoted `{{X}}` is not valid YAML scalar text.
import { specError } from "./issue";
import type { SpecIssue } from "./types";

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

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

export function fillPlaceholders(text: string, values: Record<string, string>): FilledText {
  const unfilled: Unfilled[] = [];
  const filled = text.replace(PLACEHOLDER, (_match, name: string, offset: number) => {
    const value = values[name];
    if (value !== undefined) return value.replace(/[\r\n]+/g, " ");
    unfilled.push({
      name,
      offset,
      issue: specError("placeholder_unfilled", "", `placeholder {{${name}}} has no value`, `pass --set ${name}=<value> (or replace it in the file)`),
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
