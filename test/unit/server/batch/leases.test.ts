import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { expiredLeases, heldByInstance, jobProgress, leaseAnswer, maxAttempts, onLeaseLost, onResult, retryOrFail, stateAfter, thresholdExceeded } from "../../../../src/server/batch/leases";

const counts = (o: Partial<{ pending: number; leased: number; done: number; failed: number; failedFiles: number }>) => ({ total: 0, pending: 0, leased: 0, done: 0, failed: 0, failedFiles: 0, ...o });

describe("batch leases and retries", () => {
  it("takes the result of the try holding the lease, once", () => {
    assert.deepEqual(onResult({ state: "leased", attempt: 2 }, { attempt: 2, ok: true }, 3), { kind: "done" });
    const dup = onResult({ state: "done", attempt: 2 }, { attempt: 2, ok: true }, 3);
    assert.equal(dup.kind, "ignored", "a second post of the same result");
  });

  it("ignores stale attempts: an earlier try's result after the mini-batch went back to the queue", () => {
    assert.equal(onResult({ state: "leased", attempt: 3 }, { attempt: 2, ok: true }, 3).kind, "ignored");
    assert.equal(onResult({ state: "pending", attempt: 2 }, { attempt: 2, ok: true }, 3).kind, "ignored", "lease lost, not leased again yet");
    assert.equal(onResult({ state: "failed", attempt: 4 }, { attempt: 4, ok: true }, 3).kind, "ignored");
  });

  it("a failed try is retried up to max_retries times, then the mini-batch fails with the error", () => {
    assert.equal(maxAttempts(3), 4);
    assert.equal(maxAttempts(0), 1);
    assert.deepEqual(onResult({ state: "leased", attempt: 1 }, { attempt: 1, ok: false, error: "E", traceback: "T" }, 3), { kind: "retry", error: "E", traceback: "T" });
    assert.equal(onResult({ state: "leased", attempt: 3 }, { attempt: 3, ok: false }, 3).kind, "retry");
    assert.deepEqual(onResult({ state: "leased", attempt: 4 }, { attempt: 4, ok: false, error: "E" }, 3), { kind: "failed", error: "E", traceback: null });
    assert.equal(retryOrFail(1, 0, "x", null).kind, "failed", "max_retries 0: the first failure is final");
  });

  it("a lost lease (timeout, dead container) counts as a failed try", () => {
    assert.equal(onLeaseLost({ state: "leased", attempt: 1 }, "timed out", 1).kind, "retry");
    assert.deepEqual(onLeaseLost({ state: "leased", attempt: 2 }, "timed out", 1), { kind: "failed", error: "timed out", traceback: null });
    assert.equal(onLeaseLost({ state: "done", attempt: 1 }, "timed out", 1).kind, "ignored");
  });

  it("finds leases that ran out and the leases an instance's container held", () => {
    const mbs = [
      { idx: 0, state: "leased" as const, leaseExpiresAt: 1000, worker: "1-0" },
      { idx: 1, state: "leased" as const, leaseExpiresAt: 3000, worker: "10-0" },
      { idx: 2, state: "done" as const, leaseExpiresAt: null, worker: null },
      { idx: 3, state: "leased" as const, leaseExpiresAt: 2000, worker: "1-1" },
    ];
    assert.deepEqual(
      expiredLeases(mbs, 2000).map((m) => m.idx),
      [0, 3],
    );
    assert.deepEqual(
      heldByInstance(mbs, 1).map((m) => m.idx),
      [0, 3],
      "instance 1's workers, not instance 10's",
    );
  });

  it("maps transitions to states", () => {
    assert.equal(stateAfter("leased", { kind: "done" }), "done");
    assert.equal(stateAfter("leased", { kind: "retry", error: "", traceback: null }), "pending");
    assert.equal(stateAfter("leased", { kind: "failed", error: "", traceback: null }), "failed");
    assert.equal(stateAfter("done", { kind: "ignored", reason: "" }), "done");
  });

  it("error_threshold: failed files past it fail the job; -1 never", () => {
    assert.equal(thresholdExceeded(1000, -1), false);
    assert.equal(thresholdExceeded(0, 0), false);
    assert.equal(thresholdExceeded(1, 0), true);
    assert.equal(thresholdExceeded(2, 2), false);
    assert.equal(jobProgress(counts({ failed: 1, failedFiles: 2, pending: 3 }), 1), "failed", "fails before the rest runs");
    assert.equal(jobProgress(counts({ failed: 1, failedFiles: 2, done: 3 }), -1), "completed");
    assert.equal(jobProgress(counts({ leased: 1, done: 3 }), -1), "running");
  });

  it("tells a worker to take a mini-batch, wait (leases may come back) or leave", () => {
    assert.equal(leaseAnswer({ pending: 1, leased: 0 }, true), "lease");
    assert.equal(leaseAnswer({ pending: 0, leased: 2 }, true), "wait");
    assert.equal(leaseAnswer({ pending: 0, leased: 0 }, true), "gone");
    assert.equal(leaseAnswer({ pending: 5, leased: 0 }, false), "gone");
  });
});
