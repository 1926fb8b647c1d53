// `npm run bench:studio`: the studio's two budgets. (1) Its metric history stays the same size
// under load: 150 deployments' rings sampled for 2x their 15-minute span while requests are
// recorded; heap measured after full GCs. (2) The endpoints page and an endpoint's page first
// render in < 300 ms on localhost with 50 endpoints x 3 deployments (a real server, fake model
// servers, Debian's chromium). Prints the figures; exits 1 when a budget is missed.
import { RequestSeries } from "../src/server/metrics/metrics";
import { MetricHistory, SLOTS, STEP_MS } from "../src/server/studio/history";
import { startHarness, startUpstream, TOKEN } from "../test/integration/server/harness";
import { openStudio, signIn } from "../test/integration/studio/browser";

const gc = (globalThis as { gc?: () => void }).gc;

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

function historyMemory(): boolean {
  const series = Array.from({ length: 150 }, (_, i) => new RequestSeries(`e${Math.floor(i / 3)}`, `d${i % 3}`));
  const h = new MetricHistory();
  let now = 1_700_000_000_000;
  const figures: string[] = [];
  let first = 0;
  let last = 0;
  for (let tick = 0; tick <= 2 * SLOTS; tick++) {
    // 600 requests per deployment per 2 s bucket: 45 000 req/s across the 150.
    for (const s of series) for (let k = 0; k < 600; k++) s.record(k % 50 === 0 ? 503 : 200, 0.001 + (k % 7) * 0.004);
    h.sample(now, series);
    now += STEP_MS;
    if (tick === SLOTS / 10 || tick % SLOTS === 0) {
      const mb = heapMb();
      if (tick === SLOTS / 10) first = mb;
      last = mb;
      figures.push(`after ${tick} samples (${((tick * STEP_MS) / 60000).toFixed(1)} min): heap ${mb.toFixed(2)} MB`);
    }
  }
  for (const f of figures) console.log(`history: ${f}`);
  const grew = last - first;
  console.log(`history: ${series.length} deployments x 6 rings x ${SLOTS} slots; heap change from 1.5 to 30 min of samples: ${grew.toFixed(2)} MB (${gc ? "after full GCs" : "no --expose-gc: figures include garbage"})`);
  return grew < 1;
}

async function firstRender(): Promise<boolean> {
  const h = await startHarness();
  const up = await startUpstream("m");
  const probe = { initial_delay: 0, period: 1, timeout: 2, success_threshold: 1, failure_threshold: 3 };
  try {
    for (let e = 0; e < 50; e++) {
      await h.mgmt("PUT", `/endpoints/ep-${e}`, { auth_mode: "key" });
      for (let d = 0; d < 3; d++) {
        const put = await h.mgmt("PUT", `/endpoints/ep-${e}/deployments/dep-${d}`, {
          instances: [{ id: "i0", url: up.url }],
          routes: { scoring: "/score", readiness: "/", liveness: "/", swagger: "/swagger.json" },
          request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 10, max_queue_wait_ms: 500 },
          readiness_probe: probe,
          liveness_probe: probe,
        });
        if (put.status >= 300) throw new Error(`PUT deployment dep-${d}: ${put.status} ${JSON.stringify(put.body)}`);
      }
    }
    for (let e = 0; e < 50; e++) {
      for (let d = 0; d < 3; d++) {
        for (;;) {
          const r = await h.mgmt("GET", `/endpoints/ep-${e}/deployments/dep-${d}`);
          if (r.body.provisioningState === "Succeeded") break;
          await new Promise((res) => setTimeout(res, 50));
        }
      }
      await h.mgmt("PUT", `/endpoints/ep-${e}/traffic`, { traffic: { "dep-0": 80, "dep-1": 20, "dep-2": 0 } });
    }
    console.log("render: 50 endpoints x 3 deployments registered and Succeeded");
    const b = await openStudio();
    try {
      const studio = `${h.server.managementUrl}/studio/`;
      await signIn(b.page, studio, TOKEN);
      const times: Record<string, number[]> = { endpoints: [], detail: [] };
      for (let i = 0; i < 5; i++) {
        await b.page.goto("about:blank");
        let t = Date.now();
        await b.page.goto(studio);
        await b.page.locator('tr[data-endpoint="ep-49"]').waitFor();
        times.endpoints!.push(Date.now() - t);
        await b.page.goto("about:blank");
        t = Date.now();
        await b.page.goto(`${studio}#/endpoints/ep-${i}`);
        await b.page.locator('tr[data-deployment="dep-2"]').waitFor();
        times.detail!.push(Date.now() - t);
      }
      const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)]!;
      for (const [page, xs] of Object.entries(times)) console.log(`first render, ${page} page (50 endpoints x 3 deployments): ${xs.join(", ")} ms; median ${median(xs)} ms`);
      return median(times.endpoints!) < 300 && median(times.detail!) < 300;
    } finally {
      await b.close();
    }
  } finally {
    await h.close();
    await up.close();
  }
}

async function main(): Promise<void> {
  const flat = historyMemory();
  const fast = await firstRender();
  console.log(`memory flat: ${flat ? "yes" : "NO"}; first render < 300 ms: ${fast ? "yes" : "NO"}`);
  if (!flat || !fast) process.exitCode = 1;
}

void main();
