import { test } from "node:test";
import assert from "node:assert/strict";
import { LATENCY_BUCKETS } from "../../../../src/server/metrics/metrics";
import { RequestSeries } from "../../../../src/server/metrics/metrics";
import { MAX_DEPLOYMENTS, MetricHistory, SLOTS, STEP_MS, quantileMs } from "../../../../src/server/studio/history";

const T0 = 1_000_000 * STEP_MS;

test("quantiles interpolate inside the histogram bucket (as histogram_quantile)", () => {
  const d = new Float64Array(LATENCY_BUCKETS.length + 1);
  d[3] = 10; // (5 ms, 10 ms]
  assert.equal(quantileMs(d, 10, 0.5), 7.5);
  assert.equal(quantileMs(d, 10, 1), 10);
  d[0] = 10; // (0, 1 ms]
  assert.equal(quantileMs(d, 20, 0.25), 0.5);
  assert.equal(quantileMs(d, 20, 0.75), 7.5);
  const over = new Float64Array(LATENCY_BUCKETS.length + 1);
  over[LATENCY_BUCKETS.length] = 1;
  assert.equal(quantileMs(over, 1, 0.99), 180_000, "past the last bound: the last bound");
  assert.equal(quantileMs(d, 0, 0.5), null);
});

test("history: per-2 s deltas of rate, quantiles and 4xx/5xx; the view ends at the last sample", () => {
  const h = new MetricHistory();
  const s = new RequestSeries("e", "blue");
  for (let i = 0; i < 10; i++) s.record(200, 0.007);
  s.record(404, 0.0005);
  s.record(503, 0.0005);
  h.sample(T0, [s]);
  for (let i = 0; i < 4; i++) s.record(200, 0.02);
  h.sample(T0 + STEP_MS, [s]);
  const v = h.view("e", "blue", T0 + STEP_MS + 500);
  assert.equal(v.rps.length, SLOTS);
  assert.equal(v.start, T0 + STEP_MS - (SLOTS - 1) * STEP_MS);
  assert.equal(v.step, STEP_MS);
  assert.deepEqual(v.rps.slice(-3), [0, 6, 2]);
  assert.deepEqual(v.e4xx.slice(-2), [0.5, 0]);
  assert.deepEqual(v.e5xx.slice(-2), [0.5, 0]);
  assert.equal(v.p50[SLOTS - 3], null);
  // 12 requests: 2 in (0, 1 ms], 10 in (5, 10 ms]; rank 6 is the 4th of the 10.
  assert.equal(v.p50[SLOTS - 2], 7);
  assert.equal(v.p99[SLOTS - 1], 24.85, "rank 3.96 of the 4 in (10, 25 ms]");
  assert.equal(h.rateNow("e", "blue", T0 + STEP_MS), 2);
  assert.equal(h.rateNow("e", "blue", T0 + 10 * STEP_MS), 0, "stale: no sample for 9 buckets");
});

test("history: a late timer spreads the delta over the buckets it skipped", () => {
  const h = new MetricHistory();
  const s = new RequestSeries("e", "d");
  h.sample(T0, [s]);
  for (let i = 0; i < 12; i++) s.record(200, 0.001);
  h.sample(T0 + 3 * STEP_MS, [s]);
  assert.deepEqual(h.view("e", "d", T0 + 3 * STEP_MS).rps.slice(-4), [0, 2, 2, 2]);
});

test("history: mirror agreement is the share of copies answered 2xx per bucket; null without copies", () => {
  const h = new MetricHistory();
  const s = new RequestSeries("e", "green");
  h.sample(T0, [s], new Map([["e\ngreen", { ok: 3, error: 1 }]]));
  h.sample(T0 + STEP_MS, [s], new Map([["e\ngreen", { ok: 3, error: 1 }]]));
  h.sample(T0 + 2 * STEP_MS, [s], new Map([["e\ngreen", { ok: 4, error: 2 }]]));
  assert.deepEqual(h.view("e", "green", T0 + 2 * STEP_MS).mirror.slice(-3), [0.75, null, 0.5]);
});

test("history: memory is bounded: a ring wraps after 15 min, deployments are capped, removed ones dropped", () => {
  const h = new MetricHistory();
  const s = new RequestSeries("e", "d");
  for (let k = 0; k < SLOTS + 10; k++) {
    s.record(200, 0.001);
    h.sample(T0 + k * STEP_MS, [s]);
  }
  const v = h.view("e", "d", T0 + (SLOTS + 9) * STEP_MS);
  assert.equal(v.rps.length, SLOTS);
  assert.ok(v.rps.every((x) => x === 0.5));
  const many = Array.from({ length: MAX_DEPLOYMENTS + 5 }, (_, i) => new RequestSeries("e", `d${i}`));
  h.sample(T0 + (SLOTS + 10) * STEP_MS, many);
  assert.equal(h.size, MAX_DEPLOYMENTS);
  assert.equal(h.view("e", "d", T0).rps.length, SLOTS);
  h.retain((e, d) => e === "e" && d === "d10");
  assert.equal(h.size, 1);
  assert.equal(new MetricHistory().view("x", "y", T0).rps.every((x) => x === 0), true);
});
