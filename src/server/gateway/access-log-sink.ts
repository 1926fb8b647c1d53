/**
 * Access-log lines written in batches: once `intervalMs` after the first pending line, or as soon
 * as `maxBytes` are pending, not once per event-loop turn (at low load that was one write per
 * request; two gateways run side by side on one core at 1 450 req/s each, the per-turn write cost
 * 12-30 us of a request's 250-290 us). A crash (kill -9) loses at most the last interval's lines;
 * `flush()` writes whatever is pending (the server calls it when it closes).
 */
export class BufferedLines {
  private pending: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly intervalMs = 50,
    private readonly maxBytes = 64 * 1024,
  ) {}

  /** Queues one line (without its newline). */
  readonly push = (line: string): void => {
    this.pending.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= this.maxBytes) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.flush, this.intervalMs);
      // Pending lines alone never keep a process alive; the server flushes them when it closes.
      this.timer.unref();
    }
  };

  /** Writes the pending lines, in order, in one write. */
  readonly flush = (): void => {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const text = `${this.pending.join("\n")}\n`;
    this.pending = [];
    this.bytes = 0;
    this.write(text);
  };
}
