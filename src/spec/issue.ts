// Constructors for SpecIssue so every rule produces the same shape.
import type { SpecIssue } from "./types";

export function specError(code: string, field: string, message: string, fix: string, resource?: string): SpecIssue {
  return resource === undefined
    ? { code, severity: "error", message, fix, field }
    : { code, severity: "error", message, fix, field, resource };
}

export function specWarning(code: string, field: string, message: string, fix: string, resource?: string): SpecIssue {
  return { ...specError(code, field, message, fix, resource), severity: "warning" };
}

/** Short, single-line rendering of a user value for messages. */
export function quoteValue(value: unknown): string {
  let text: string;
  if (value === undefined) return "nothing";
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
