// Compiler-style rendering of diagnostics: `path:line:col: error: <what> (<field>) - <fix>`.
import type { Diagnostic } from "./types";

export function formatDiagnostic(d: Diagnostic): string {
  const field = d.field === "" ? "" : ` (${d.field})`;
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}${field} - ${d.fix}`;
}
