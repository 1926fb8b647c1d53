// Runs a zod schema over raw YAML data and turns zod's issues into SpecIssues with a field path,
// a message quoting the value and a fix. Unknown keys are warnings (forward compatibility): they
// are stripped, re-parsed, and handed back so the caller can keep them in `extra`.
import type { z } from "zod";
import { quoteValue, specError, specWarning } from "./issue";
import type { SpecIssue } from "./types";

export interface SchemaRun<T> {
  value?: T;
  errors: SpecIssue[];
  warnings: SpecIssue[];
  /** Unknown keys by dotted path, with their raw values. */
  unknown: Record<string, unknown>;
}

type Path = readonly PropertyKey[];

function dotted(path: Path): string {
  return path.map(String).join(".");
}

function valueAt(raw: unknown, path: Path): unknown {
  let cur: unknown = raw;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${quoteValue(value)}`;
}

function article(expected: string): string {
  const names: Record<string, string> = { object: "mapping", record: "mapping", array: "list" };
  const name = names[expected] ?? expected;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

function toIssue(issue: z.core.$ZodIssue, raw: unknown, resource?: string): SpecIssue {
  const field = dotted(issue.path);
  const got = valueAt(raw, issue.path);
  switch (issue.code) {
    case "invalid_type":
      if (got === undefined) {
        return specError("required", field, `missing required field ${field}`, `add ${field}: <${issue.expected}>`, resource);
      }
      return specError(
        "wrong_type",
        field,
        `${field} must be ${article(issue.expected)}, got ${kindOf(got)}`,
        `set ${field} to ${article(issue.expected)}`,
        resource,
      );
    case "invalid_value": {
      const allowed = issue.values.map(String).join(" | ");
      return specError("invalid_value", field, `${field} is ${quoteValue(got)}, not one of ${allowed}`, `use one of: ${allowed}`, resource);
    }
    case "too_small":
      return specError("out_of_range", field, `${field} is ${quoteValue(got)}, below the minimum ${String(issue.minimum)}`, `set ${field} to at least ${String(issue.minimum)}`, resource);
    case "too_big":
      return specError("out_of_range", field, `${field} is ${quoteValue(got)}, above the maximum ${String(issue.maximum)}`, `set ${field} to at most ${String(issue.maximum)}`, resource);
    default:
      return specError(issue.code, field, `${field} is invalid: ${issue.message}`, `check ${field} against docs/spec-support.md`, resource);
  }
}

function deepCopy(raw: unknown): unknown {
  // Raw data is plain YAML/JSON output, so structuredClone is safe and keeps it independent.
  return structuredClone(raw);
}

function deleteAt(raw: unknown, path: Path, key: string): void {
  const parent = valueAt(raw, path);
  if (parent !== null && typeof parent === "object") delete (parent as Record<string, unknown>)[key];
}

export function runSchema<S extends z.ZodType>(schema: S, raw: unknown, resource?: string): SchemaRun<z.output<S>> {
  const warnings: SpecIssue[] = [];
  const unknown: Record<string, unknown> = {};
  let input = raw;
  // Two passes at most: the second runs with the unknown keys of the first removed.
  for (let pass = 0; pass < 2; pass++) {
    const result = schema.safeParse(input);
    if (result.success) return { value: result.data, errors: [], warnings, unknown };
    const unrecognized = result.error.issues.filter((i) => i.code === "unrecognized_keys");
    const errors = result.error.issues.filter((i) => i.code !== "unrecognized_keys").map((i) => toIssue(i, raw, resource));
    if (pass === 0) {
      for (const issue of unrecognized) {
        if (issue.code !== "unrecognized_keys") continue;
        for (const key of issue.keys) {
          const field = dotted([...issue.path, key]);
          unknown[field] = valueAt(raw, [...issue.path, key]);
          warnings.push(
            specWarning("unknown_field", field, `unknown field ${field} (kept, not used)`, `remove ${field} or check its spelling`, resource),
          );
        }
      }
    }
    if (errors.length > 0 || unrecognized.length === 0) return { errors, warnings, unknown };
    input = deepCopy(input);
    for (const issue of unrecognized) {
      if (issue.code === "unrecognized_keys") for (const key of issue.keys) deleteAt(input, issue.path, key);
    }
  }
  return { errors: [specError("internal", "", "spec could not be parsed", "report this file as a bug", resource)], warnings, unknown };
}
