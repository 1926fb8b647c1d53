// The job record of the gateway (docs/batch-api.md) and how the CLI prints it: the live progress
// line of `batch invoke --wait` and the rows of `jobs list`.

export type JobStatus = "Queued" | "Running" | "Completed" | "Failed" | "Canceled";

export interface JobView {
  id: string;
  endpoint?: string;
  deployment?: string;
  cluster?: string;
  status: JobStatus | string;
  mini_batches?: { total: number; done: number; failed: number; running?: number };
  rows?: number;
  files?: { total: number; failed: number };
  created_at?: string;
  started_at?: string | null;
  ended_at?: string | null;
  failure_reason?: string | null;
  outputs?: string[];
  url?: string;
}

export const FINAL_STATES: ReadonlySet<string> = new Set(["Completed", "Failed", "Canceled"]);

/** 0:07, 12:34, 1:02:03. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Time left at the pace so far: elapsed per finished mini-batch times those left; undefined before the first finishes. */
export function etaMs(job: JobView, elapsedMs: number): number | undefined {
  const mb = job.mini_batches;
  if (!mb || mb.total <= 0) return undefined;
  const finished = mb.done + mb.failed;
  if (finished <= 0) return undefined;
  return (elapsedMs / finished) * Math.max(0, mb.total - finished);
}

/** `Running  mini-batches 3/10 done, 1 failed  rows 300  elapsed 0:12  ETA 0:28`. */
export function progressLine(job: JobView, elapsedMs: number): string {
  const mb = job.mini_batches;
  const batches = mb ? `mini-batches ${mb.done}/${mb.total} done, ${mb.failed} failed` : "mini-batches -";
  const eta = FINAL_STATES.has(job.status) ? undefined : etaMs(job, elapsedMs);
  return `${job.status.padEnd(9)} ${batches}  rows ${job.rows ?? 0}  elapsed ${formatDuration(elapsedMs)}  ETA ${eta === undefined ? "-" : formatDuration(eta)}`;
}

/** Bytes as B, KiB, MiB, GiB with one decimal. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * One line that updates in place on a terminal (carriage return, erase to the end) and, elsewhere,
 * is printed as a full line only when its text changes (at most every `minIntervalMs`, and always
 * the last one).
 */
export class ProgressLine {
  private last = "";
  private lastAt = 0;
  private pending: string | undefined;
  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
    private readonly now: () => number = Date.now,
    private readonly minIntervalMs = 5000,
  ) {}

  update(text: string): void {
    if (text === this.last) return;
    if (this.tty) {
      this.write(`\r${text}\x1b[K`);
      this.last = text;
      return;
    }
    const t = this.now();
    if (this.last !== "" && t - this.lastAt < this.minIntervalMs) {
      this.pending = text;
      return;
    }
    this.write(`${text}\n`);
    this.last = text;
    this.lastAt = t;
    this.pending = undefined;
  }

  /** Ends the line with `text` (or the last pending one). */
  done(text?: string): void {
    const final = text ?? this.pending ?? this.last;
    if (this.tty) {
      this.write(`\r${final}\x1b[K\n`);
    } else if (final !== this.last) {
      this.write(`${final}\n`);
    }
    this.last = final;
    this.pending = undefined;
  }
}
