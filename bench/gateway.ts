// npm run bench:gateway — direct vs nginx (proxy_pass, upstream keepalive) vs the modelplane gateway
// (key auth, two deployments at 90/10, and again with a 10 % mirror), same fast upstream, same load.
// Not a test: prints req/s, p50/p99 and ratios. Everything listens on 127.0.0.1.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

const ROOT = path.resolve(__dirname, "..");
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const LOADERS = Number(process.env.BENCH_LOADERS ?? 2);
const TOKEN = "bench-management-token";
const BODY = JSON.stringify({ data: [[1, 2, 3, 4]] });

const UPSTREAM = `
const http = require("node:http");
const s = http.createServer((req, res) => {
  if (req.method === "GET") { res.end("ok"); return; }
  req.resume();
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json" }); res.end('{"result":[0.5]}'); });
});
s.keepAliveTimeout = 60000;
s.listen(Number(process.argv[1]), "127.0.0.1");
`;

/** One load worker: closed loop (or paced at `rate` req/s), undici pool, latencies in microseconds. */
const LOADER = `
const { workerData, parentPort } = require("node:worker_threads");
const { Pool } = require(workerData.undici);
const { url, path, headers, body, connections, durationMs, rate } = workerData;
const pool = new Pool(url, { connections, pipelining: 1 });
const lat = [];
let errors = 0, non2xx = 0;
const end = Date.now() + durationMs;
// Paced runs: each connection sends at rate/connections per second on its own schedule.
const interval = rate > 0 ? (1000 * connections) / rate : 0;
async function one() {
  const t = process.hrtime.bigint();
  try {
    const r = await pool.request({ path, method: "POST", headers, body });
    await r.body.dump();
    if (r.statusCode < 200 || r.statusCode >= 300) non2xx++;
    lat.push(Number(process.hrtime.bigint() - t) / 1000);
  } catch { errors++; }
}
async function loop(_, i) {
  let next = Date.now() + (interval * i) / connections;
  while (Date.now() < end) {
    if (interval > 0) {
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += interval;
    }
    await one();
  }
}
Promise.all(Array.from({ length: connections }, (_, i) => loop(_, i))).then(async () => {
  await pool.close();
  parentPort.postMessage({ lat, errors, non2xx });
});
`;

interface Result {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not come up`);
}

async function load(name: string, url: string, p: string, headers: Record<string, string>, rate = 0): Promise<Result> {
  const started = Date.now();
  const results = await Promise.all(
    Array.from(
      { length: LOADERS },
      () =>
        new Promise<{ lat: number[]; errors: number; non2xx: number }>((resolve, reject) => {
          const w = new Worker(LOADER, {
            eval: true,
            workerData: { undici: require.resolve("undici"), url, path: p, headers: { "content-type": "application/json", ...headers }, body: BODY, connections: Math.max(1, Math.floor(CONNECTIONS / LOADERS)), durationMs: DURATION_S * 1000, rate: rate / LOADERS },
          });
          w.once("message", resolve);
          w.once("error", reject);
        }),
    ),
  );
  const secs = (Date.now() - started) / 1000;
  const lat = results.flatMap((r) => r.lat).sort((a, b) => a - b);
  const q = (x: number): number => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(x * lat.length))]! / 1000 : NaN);
  return { name, rps: lat.length / secs, p50: q(0.5), p99: q(0.99), errors: results.reduce((a, r) => a + r.errors, 0), non2xx: results.reduce((a, r) => a + r.non2xx, 0) };
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "mp-bench-"));
  const children: ChildProcess[] = [];
  const start = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess => {
    const c = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
    children.push(c);
    return c;
  };
  try {
    const [up, ngx, gw, mg] = [await freePort(), await freePort(), await freePort(), await freePort()];
    start(process.execPath, ["-e", UPSTREAM, String(up)]);
    writeFileSync(
      path.join(dir, "nginx.conf"),
      `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream model { server 127.0.0.1:${up}; keepalive 128; }
  server { listen 127.0.0.1:${ngx}; location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
    );
    start("/usr/sbin/nginx", ["-c", path.join(dir, "nginx.conf"), "-p", dir]);
    const server = start(process.execPath, ["--import", "tsx", "src/server/run.ts", "--state-dir", path.join(dir, "state"), "--gateway-port", String(gw), "--gateway-host", "127.0.0.1", "--management-port", String(mg)], {
      ...process.env,
      MODELPLANE_MANAGEMENT_TOKEN: TOKEN,
    });
    await Promise.all([waitUp(`http://127.0.0.1:${up}/`), waitUp(`http://127.0.0.1:${ngx}/`), waitUp(`http://127.0.0.1:${mg}/healthz`)]);

    const m = async (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => {
      const r = await fetch(`http://127.0.0.1:${mg}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
      return (await r.json()) as Record<string, unknown>;
    };
    const probe = { initial_delay: 0, period: 5, timeout: 2, success_threshold: 1, failure_threshold: 3 };
    const dep = {
      instances: [{ id: "i0", url: `http://127.0.0.1:${up}` }],
      routes: { scoring: "/score", readiness: "/", liveness: "/" },
      request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1000, max_queue_wait_ms: 500 },
      readiness_probe: probe,
      liveness_probe: probe,
    };
    await m("PUT", "/endpoints/bench", { auth_mode: "key" });
    for (const d of ["blue", "green", "shadow"]) {
      await m("PUT", `/endpoints/bench/deployments/${d}`, dep);
      while ((await m("GET", `/endpoints/bench/deployments/${d}`)).provisioningState !== "Succeeded") await sleep(50);
    }
    await m("PUT", "/endpoints/bench/traffic", { traffic: { blue: 90, green: 10, shadow: 0 }, mirror_traffic: {} });
    const key = (await m("POST", "/endpoints/bench/keys")).primaryKey as string;
    const auth = { authorization: `Bearer ${key}` };

    console.log(`load: ${CONNECTIONS} connections over ${LOADERS} loader threads, ${DURATION_S}s per run, ${BODY.length}-byte JSON body`);
    await load("warm-up", `http://127.0.0.1:${gw}`, "/endpoints/bench/score", auth);
    const direct = await load("direct", `http://127.0.0.1:${up}`, "/score", {});
    const nginx = await load("nginx", `http://127.0.0.1:${ngx}`, "/score", {});
    const gateway = await load("gateway 90/10", `http://127.0.0.1:${gw}`, "/endpoints/bench/score", auth);
    const rss = rssMb(server.pid!);
    await m("PUT", "/endpoints/bench/traffic", { traffic: { blue: 90, green: 10, shadow: 0 }, mirror_traffic: { shadow: 10 } });
    const mirrored = await load("gateway + 10% mirror", `http://127.0.0.1:${gw}`, "/endpoints/bench/score", auth);
    await m("PUT", "/endpoints/bench/traffic", { traffic: { blue: 90, green: 10, shadow: 0 }, mirror_traffic: {} });
    const half = Math.floor(gateway.rps / 2);
    const directHalf = await load(`direct @${half}/s`, `http://127.0.0.1:${up}`, "/score", {}, half);
    const gatewayHalf = await load(`gateway @${half}/s`, `http://127.0.0.1:${gw}`, "/endpoints/bench/score", auth, half);
    const rss2 = rssMb(server.pid!);

    const rows = [direct, nginx, gateway, mirrored, directHalf, gatewayHalf];
    console.log(["run".padEnd(26), "req/s".padStart(9), "p50 ms".padStart(8), "p99 ms".padStart(8), "errors".padStart(7), "non2xx".padStart(7)].join(" "));
    for (const r of rows) console.log([r.name.padEnd(26), r.rps.toFixed(0).padStart(9), r.p50.toFixed(2).padStart(8), r.p99.toFixed(2).padStart(8), String(r.errors).padStart(7), String(r.non2xx).padStart(7)].join(" "));
    const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
    console.log(`gateway/nginx throughput: ${pct(gateway.rps / nginx.rps)} (goal >= 60%)`);
    console.log(`gateway/direct throughput: ${pct(gateway.rps / direct.rps)}`);
    console.log(`10% mirror throughput cost: ${pct(1 - mirrored.rps / gateway.rps)} (goal <= 15%)`);
    console.log(`p99 added over direct at ${half}/s: ${(gatewayHalf.p99 - directHalf.p99).toFixed(2)} ms (goal <= 2 ms)`);
    console.log(`gateway RSS after load: ${rss.rss.toFixed(0)} MB, peak ${Math.max(rss.hwm, rss2.hwm).toFixed(0)} MB (goal <= 150 MB)`);
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
