/**
 * A job's outputs under the datastore's jobs/<id>/: the predictions file (append_row: the rows of
 * mini-batch 0, then 1, ..., each mini-batch's rows in the order run() returned them; no header, as
 * Azure's), summary.json, and logs/worker-<n>.log. Files are written aside and renamed, so a
 * reader (or a server restarted mid-write) never sees half a file and a rewrite is the same file.
 */
import { createWriteStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { listFiles } from "./datastore";

/** One CSV field (RFC 4180): quoted when it holds a separator, a quote, a line break or edge spaces. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(row: readonly unknown[]): string {
  return `${row.map(csvField).join(",")}\n`;
}

/** Writes every mini-batch's rows in the order given (the caller gives index order); returns the row count. */
export async function writePredictions(file: string, batches: Iterable<unknown[][]>): Promise<number> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp, { mode: 0o644 });
  let rows = 0;
  try {
    for (const rowsOfBatch of batches) {
      let text = "";
      for (const r of rowsOfBatch) {
        text += csvLine(r);
        rows++;
      }
      if (text && !out.write(text)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await fs.rename(tmp, file);
    return rows;
  } finally {
    out.destroy();
    await fs.rm(tmp, { force: true });
  }
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
  await fs.rename(tmp, file);
}

/**
 * Appends one container's log to logs/worker-<instance>.log once: a header line names the
 * container, and a log whose header is already there is not written again (a restart that
 * collects the same container twice).
 */
export async function appendWorkerLog(jobDir: string, instance: number, container: string, text: string): Promise<void> {
  const file = path.join(jobDir, "logs", `worker-${instance}.log`);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const header = `===== container ${container} =====\n`;
  const before = await fs.readFile(file, "utf8").catch(() => "");
  if (before.includes(header)) return;
  await fs.appendFile(file, `${header}${text}${text.endsWith("\n") || text === "" ? "" : "\n"}`, { mode: 0o644 });
}

/** Output files of a job, relative to its folder (temporary files left out). */
export async function listOutputs(jobDir: string): Promise<string[]> {
  const files = await listFiles(jobDir).catch(() => [] as string[]);
  return files.filter((f) => !/\.tmp-\d+$/.test(f));
}

const TYPES: Record<string, string> = {
  ".csv": "text/csv; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".log": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".parquet": "application/vnd.apache.parquet",
};

export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

export interface FailedFile {
  file: string;
  mini_batch: number;
  error: string;
  traceback: string | null;
}

/** Every file of every failed mini-batch, with that mini-batch's last error. */
export function failedFiles(mbs: readonly { idx: number; state: string; files: string[]; error: string | null; traceback: string | null }[]): FailedFile[] {
  const out: FailedFile[] = [];
  for (const m of mbs) if (m.state === "failed") for (const f of m.files) out.push({ file: f, mini_batch: m.idx, error: m.error ?? "failed", traceback: m.traceback });
  return out;
}
