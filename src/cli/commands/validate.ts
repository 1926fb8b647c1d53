// `modelplane validate <file-or-dir>... [--set K=V]... [--no-path-check] [--json]`
import type { Command } from "commander";
import { formatDiagnostic, loadSpecs, type Diagnostic, type LoadResult } from "../../spec";
import { collectSet } from "../set-option";

export interface ValidateOptions {
  set: Record<string, string>;
  pathCheck: boolean;
  json: boolean;
}

export interface FileReport {
  file: string;
  kind: string;
  name?: string;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Groups diagnostics per file for `--json` (a file with only set-level issues still gets a row). */
export function reportByFile(result: LoadResult): FileReport[] {
  const rows = new Map<string, FileReport>();
  for (const doc of result.documents) {
    const row: FileReport = { file: doc.file, kind: doc.kind, errors: [], warnings: [] };
    if (doc.name !== undefined) row.name = doc.name;
    rows.set(doc.file, row);
  }
  for (const d of result.diagnostics) {
    let row = rows.get(d.file);
    if (row === undefined) {
      row = { file: d.file, kind: "unknown", errors: [], warnings: [] };
      rows.set(d.file, row);
    }
    (d.severity === "error" ? row.errors : row.warnings).push(d);
  }
  return [...rows.values()];
}

export async function runValidate(paths: string[], opts: ValidateOptions, out: (line: string) => void): Promise<number> {
  const result = await loadSpecs(paths, { set: opts.set, pathCheck: opts.pathCheck });
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  if (opts.json) {
    for (const row of reportByFile(result)) out(JSON.stringify(row));
  } else {
    for (const d of result.diagnostics) out(formatDiagnostic(d));
    const warnings = result.diagnostics.length - errors;
    out(`${result.documents.length} file(s) checked: ${errors} error(s), ${warnings} warning(s)`);
  }
  return errors > 0 ? 1 : 0;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("validate endpoint/deployment specs; a folder is validated as one set (a stack)")
    .argument("<paths...>", "spec files or stack folders")
    .option("--set <KEY=VALUE>", "value for a {{KEY}} placeholder (repeatable)", collectSet, {})
    .option("--no-path-check", "do not check that referenced paths exist")
    .option("--json", "print one JSON object per file", false)
    .action(async (paths: string[], opts: ValidateOptions) => {
      process.exitCode = await runValidate(paths, opts, (line) => process.stdout.write(`${line}\n`));
    });
}
