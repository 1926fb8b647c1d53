/**
 * Mini-batch bookkeeping as pure transitions: leasing, results, lost leases and retries, and when a
 * job is over. The tables apply them inside one transaction each, so a result is accepted once.
 */
import type { MiniBatchCounts, MiniBatchRecord, MiniBatchState } from "./types";

/** What a change does to one mini-batch: its new state, or nothing (a stale or duplicate message). */
export type Transition =
  | { kind: "ignored"; reason: string }
  | { kind: "done" }
  | { kind: "retry"; error: string; traceback: string | null }
  | { kind: "failed"; error: string; traceback: string | null };

export interface ResultMessage {
  attempt: number;
  ok: boolean;
  error?: string;
  traceback?: string;
}

/** Tries a mini-batch gets: the first one plus max_retries. */
export function maxAttempts(maxRetries: number): number {
  return Math.max(0, maxRetries) + 1;
}

/** After try `attempt` failed: run it again, or give up. */
export function retryOrFail(attempt: number, maxRetries: number, error: string, traceback: string | null): Transition {
  return attempt < maxAttempts(maxRetries) ? { kind: "retry", error, traceback } : { kind: "failed", error, traceback };
}

/**
 * A worker's result. Accepted only from the try that holds the lease now: a result of an earlier
 * try (its lease expired or its container died, so the mini-batch went back to the queue) or a
 * second post of the same result is ignored, so each mini-batch's rows are taken once.
 */
export function onResult(mb: Pick<MiniBatchRecord, "state" | "attempt">, msg: ResultMessage, maxRetries: number): Transition {
  if (mb.state === "done" || mb.state === "failed") return { kind: "ignored", reason: `mini-batch is already ${mb.state}` };
  if (mb.state !== "leased" || mb.attempt !== msg.attempt) return { kind: "ignored", reason: `attempt ${msg.attempt} is stale (current attempt ${mb.attempt}, ${mb.state})` };
  if (msg.ok) return { kind: "done" };
  return retryOrFail(mb.attempt, maxRetries, msg.error ?? "run() failed", msg.traceback ?? null);
}

/** A lease that ran out (retry_settings.timeout) or whose worker's container is gone. */
export function onLeaseLost(mb: Pick<MiniBatchRecord, "state" | "attempt">, why: string, maxRetries: number): Transition {
  if (mb.state !== "leased") return { kind: "ignored", reason: `mini-batch is ${mb.state}` };
  return retryOrFail(mb.attempt, maxRetries, why, null);
}

/** Leased mini-batches whose lease ran out at `now` (epoch ms). */
export function expiredLeases<T extends Pick<MiniBatchRecord, "state" | "leaseExpiresAt">>(mbs: readonly T[], now: number): T[] {
  return mbs.filter((m) => m.state === "leased" && m.leaseExpiresAt !== null && m.leaseExpiresAt <= now);
}

/** Worker ids are `<instance>-<process>`; the leases an instance's container held. */
export function heldByInstance<T extends Pick<MiniBatchRecord, "state" | "worker">>(mbs: readonly T[], instance: number): T[] {
  const prefix = `${instance}-`;
  return mbs.filter((m) => m.state === "leased" && m.worker !== null && m.worker.startsWith(prefix));
}

/** The state a transition leaves (ignored: unchanged). */
export function stateAfter(current: MiniBatchState, t: Transition): MiniBatchState {
  switch (t.kind) {
    case "ignored":
      return current;
    case "done":
      return "done";
    case "retry":
      return "pending";
    case "failed":
      return "failed";
  }
}

/** error_threshold: failed files past it fail the job; -1 (any negative) never does. */
export function thresholdExceeded(failedFiles: number, errorThreshold: number): boolean {
  return errorThreshold >= 0 && failedFiles > errorThreshold;
}

export type JobProgress = "running" | "completed" | "failed";

/** Whether a running job is over, from its mini-batch counts. */
export function jobProgress(c: MiniBatchCounts, errorThreshold: number): JobProgress {
  if (thresholdExceeded(c.failedFiles, errorThreshold)) return "failed";
  return c.pending + c.leased === 0 ? "completed" : "running";
}

/** What a worker asking for work is told: a mini-batch, wait (others still hold leases that may come back), or leave. */
export function leaseAnswer(c: Pick<MiniBatchCounts, "pending" | "leased">, jobRunning: boolean): "lease" | "wait" | "gone" {
  if (!jobRunning) return "gone";
  if (c.pending > 0) return "lease";
  return c.leased > 0 ? "wait" : "gone";
}
