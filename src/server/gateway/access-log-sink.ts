/**
 * Access-log lines written in batches: once `intervalMs` after the first pending line, or as soon
 * as the batch buffer is full, not once per event-loop turn (at low load that was one write per
 * request; two gateways run side by side on one core at 1 450 req/s each, the per-turn writes cost
 * 2-5 % of a request's CPU). Each line is copied into the batch buffer as it comes, so no line
 * string outlives its request (holding the strings for a batch grew the old generation by about
 * 20 MB at saturation). A crash (kill -9) loses at most the last interval's lines; `flush()` writes
 * whatever is pending (the server calls it when it closes).
 */
export class BufferedLines {
  private buf: Buffer;
  private used = 0;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly write: (chunk: Buffer) => void,
    private readonly intervalMs = 50,
    private readonly capacity = 64 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Queues one line (without its newline). */
  readonly push = (line: string): void => {
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit; the check is exact only when needed.
    const room = this.capacity - this.used;
    const size = line.length * 3 + 1 <= room ? -1 : Buffer.byteLength(line) + 1;
    if (size > room) {
      this.flush();
      if (size > this.capacity) {
        // Longer than a whole batch: written on its own.
        this.write(Buffer.from(`${line}\n`));
        return;
      }
    }
    this.used += this.buf.write(line, this.used);
    this.buf[this.used++] = 0x0a;
    if (this.timer === undefined) {
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
    if (this.used === 0) return;
    const out = this.buf.subarray(0, this.used);
    // The written bytes are handed over (a pipe may still hold them); the next batch gets a new buffer.
    this.buf = Buffer.allocUnsafe(this.capacity);
    this.used = 0;
    this.write(out);
  };
}
