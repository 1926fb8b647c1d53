import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import { GatewayMetrics, LATENCY_BUCKETS } from "../../../src/server/metrics/metrics";
import { seededRandom } from "./seeded-random";

const LATENCY = "modelplane_gateway_request_duration_seconds";
const REQUESTS = "modelplane_gateway_requests_total";

/** The same observations through prom-client's own Counter and Histogram: the text the gateway must match. */
function reference(observations: [string, string, number, number][]): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: REQUESTS, help: "Scoring requests by endpoint, deployment and HTTP status", labelNames: ["endpoint", "deployment", "status"], registers: [registry] });
  const latency = new Histogram({ name: LATENCY, help: "Time from request received to response sent", labelNames: ["endpoint", "deployment"], buckets: [...LATENCY_BUCKETS], registers: [registry] });
  for (const [endpoint, deployment, status, seconds] of observations) {
    requests.inc({ endpoint, deployment, status: String(status) });
    latency.observe({ endpoint, deployment }, seconds);
  }
  return registry;
}

describe("gateway request metrics (plain per-series numbers, read at scrape time)", () => {
  it("writes the same /metrics text as prom-client's Counter and Histogram given the same requests", async () => {
    const random = seededRandom(7);
    // Bucket bounds themselves (le is inclusive), values past the last bound, and a spread in between.
    const seconds = [...LATENCY_BUCKETS, 0, 181, 1e-6, ...Array.from({ length: 500 }, () => random() ** 4 * 20)];
    const pairs: [string, string][] = [
      ["ep-a", "blue"],
      ["ep-a", "green"],
      ["ep-b", ""],
    ];
    const statuses = [200, 200, 200, 424, 429, 401];
    const observations = seconds.map((s, i): [string, string, number, number] => [...pairs[i % pairs.length]!, statuses[i % statuses.length]!, s]);
    const metrics = new GatewayMetrics();
    for (const [endpoint, deployment, status, s] of observations) metrics.series(endpoint, deployment).record(status, s);
    const ref = reference(observations);
    // The histogram's text is identical; the counter's samples too, in another order (series first
    // seen, not first status first seen), which Prometheus does not read.
    assert.equal(await metrics.registry.getSingleMetricAsString(LATENCY), await ref.getSingleMetricAsString(LATENCY));
    const lines = async (r: Registry): Promise<string[]> => (await r.getSingleMetricAsString(REQUESTS)).split("\n");
    const [mine, theirs] = [await lines(metrics.registry), await lines(ref)];
    assert.deepEqual(mine.slice(0, 2), theirs.slice(0, 2));
    assert.deepEqual(mine.slice(2).sort(), theirs.slice(2).sort());
    assert.equal(mine.length, 2 + 6);
    // The JSON form too (labels merged), as prom-client's registry reports it.
    const json = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === LATENCY);
    const refJson = (await ref.getMetricsAsJSON()).find((m) => m.name === LATENCY);
    assert.deepEqual(
      json?.values.map((v) => [v.labels, v.value, (v as { metricName?: string }).metricName]),
      refJson?.values.map((v) => [v.labels, v.value, (v as { metricName?: string }).metricName]),
    );
  });

  it("counts a series' requests by status and sums its latency", async () => {
    const metrics = new GatewayMetrics();
    const s = metrics.series("ep", "blue");
    assert.equal(metrics.series("ep", "blue"), s, "one series per pair");
    s.record(200, 0.002);
    s.record(200, 0.004);
    s.record(503, 0.5);
    const text = await metrics.registry.metrics();
    assert.match(text, /^modelplane_gateway_requests_total\{endpoint="ep",deployment="blue",status="200"\} 2$/m);
    assert.match(text, /^modelplane_gateway_requests_total\{endpoint="ep",deployment="blue",status="503"\} 1$/m);
    assert.match(text, /^modelplane_gateway_request_duration_seconds_bucket\{le="0.0025",endpoint="ep",deployment="blue"\} 1$/m);
    assert.match(text, /^modelplane_gateway_request_duration_seconds_bucket\{le="0.005",endpoint="ep",deployment="blue"\} 2$/m);
    assert.match(text, /^modelplane_gateway_request_duration_seconds_bucket\{le="\+Inf",endpoint="ep",deployment="blue"\} 3$/m);
    assert.match(text, /^modelplane_gateway_request_duration_seconds_sum\{endpoint="ep",deployment="blue"\} 0.506$/m);
    assert.match(text, /^modelplane_gateway_request_duration_seconds_count\{endpoint="ep",deployment="blue"\} 3$/m);
    // A second scrape reports the same totals (scrapes do not reset counters).
    assert.equal(await metrics.registry.metrics(), text);
  });
});
