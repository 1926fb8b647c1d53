import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Limiter } from "../../../src/server/gateway/limiter";
import { GatewayError } from "../../../src/server/gateway/errors";

describe("limiter", () => {
  it("admits up to capacity, queues twice that, then 429", async () => {
    const l = new Limiter(() => 2, 1000);
    await l.acquire();
    await l.acquire();
    const queued = [l.acquire(), l.acquire(), l.acquire(), l.acquire()];
    assert.equal(l.queued, 4);
    await assert.rejects(l.acquire(), (e: unknown) => e instanceof GatewayError && e.code === "too_many_requests");
    l.release();
    await queued[0];
    assert.equal(l.inflight, 2);
    l.release();
    l.release();
    await Promise.all(queued.slice(1, 3));
    l.release();
    l.release();
    l.release();
    await queued[3];
  });

  it("fails a waiter after max_queue_wait_ms", async () => {
    const l = new Limiter(() => 1, 20);
    await l.acquire();
    const t0 = Date.now();
    await assert.rejects(l.acquire(), (e: unknown) => e instanceof GatewayError && e.code === "too_many_requests");
    assert.ok(Date.now() - t0 >= 15);
    assert.equal(l.queued, 0);
  });

  it("follows capacity changes (healthy instances) and never lets mirrored copies wait", async () => {
    let cap = 1;
    const l = new Limiter(() => cap, 1000);
    assert.equal(l.tryAcquire(), true);
    assert.equal(l.tryAcquire(), false, "a mirrored copy is refused, not queued");
    const p = l.acquire();
    assert.equal(l.queued, 1);
    cap = 2;
    l.pump();
    await p;
    assert.equal(l.inflight, 2);
    cap = 0;
    await assert.rejects(l.acquire(), (e: unknown) => e instanceof GatewayError && e.code === "too_many_requests");
  });
});
