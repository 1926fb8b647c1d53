/**
 * The bytes of request bodies all connections together may hold buffered at once. The per-request
 * body limit bounds one request; without this bound, many clients each sending a body under that
 * limit would buffer without end and take the whole server (every endpoint) down out of memory.
 * Requests take bytes as their body arrives and give them back once answered, so a client that
 * only declares a large body holds nothing until it sends it.
 */
export class BodyBudget {
  /** Bytes held by bodies now. */
  private heldBytes = 0;
  /** Requests refused because the budget was spent. */
  refusals = 0;

  constructor(readonly limitBytes: number) {}

  get held(): number {
    return this.heldBytes;
  }

  /** Bytes still free. */
  get free(): number {
    return this.limitBytes - this.heldBytes;
  }

  /** Takes `n` bytes if they are free; false (nothing taken) when they are not. */
  take(n: number): boolean {
    if (n > this.free) return false;
    this.heldBytes += n;
    return true;
  }

  /** Gives back bytes taken before. */
  give(n: number): void {
    this.heldBytes -= n;
  }
}
