import { GatewayError } from "./errors";

interface Waiter {
  resolve: () => void;
  reject: (err: GatewayError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Admission control of one deployment: at most `capacity()` requests in flight (it follows the
 * healthy-instance count), a FIFO queue of at most twice that, each waiter bounded by maxWaitMs;
 * beyond that 429.
 */
export class Limiter {
  inflight = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly capacity: () => number,
    private readonly maxWaitMs: number,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Takes a slot now if one is free (for mirrored copies, which never wait). */
  tryAcquire(): boolean {
    if (this.queue.length === 0 && this.inflight < this.capacity()) {
      this.inflight++;
      return true;
    }
    return false;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    const cap = this.capacity();
    if (this.queue.length >= 2 * cap) {
      return Promise.reject(new GatewayError("too_many_requests", `too many requests pending (limit ${cap} in flight and ${2 * cap} queued)`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new GatewayError("too_many_requests", `no free slot within max_queue_wait_ms (${this.maxWaitMs} ms)`));
        }, this.maxWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  release(): void {
    this.inflight--;
    this.pump();
  }

  /** Admits waiters while there is room; call when capacity may have grown. */
  pump(): void {
    while (this.queue.length > 0 && this.inflight < this.capacity()) {
      const w = this.queue.shift()!;
      clearTimeout(w.timer);
      this.inflight++;
      w.resolve();
    }
  }

  /** Fails every waiter (used when the deployment is removed). */
  drain(err: GatewayError): void {
    for (const w of this.queue.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
