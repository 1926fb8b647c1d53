// npm run bench:gateway [-- --quick] — direct vs nginx (proxy_pass, upstream keepalive) vs the modelplane
// gateway (key auth, two deployments at 90/10, and again with a 10 % mirror), same fast upstream, same load.
// Not a test: prints req/s, p50/p99, RSS and each goal of issue 4 with PASS/FAIL. Everything listens on 127.0.0.1.
//
// Fair on a small machine: with 2+ cores the load generator and the upstream are pinned (taskset) to one
// core and the proxy under test (nginx with worker_processes 1, or the gateway's one Node process) to
// another, so both proxies get exactly one core and never compete with the load they serve.
// Runs use wrk when installed (closed loop for saturation; paced runs through wrk's per-connection delay()),
// else a Node loader.
// The gateway runs from an esbuild bundle (as the server image does), not through tsx.
//
// Shared machines drift (other tenants, CPU steal): saturation runs go in rounds, each round running
// direct, nginx, the gateway and the gateway with mirror back to back; the table shows each target's
// median over the rounds and every goal ratio is the median of the per-round ratios, so a slow
// minute hurts both sides of a ratio alike (the order flips every round). Each round's figures and the
// CPU steal seen are printed, and the CPU time the proxy under test spends per request (from /proc),
// which does not depend on which core is the bottleneck.
// The paced runs (added p99 at half the gateway's saturation rate) also go in rounds: direct, then nginx and
// the proxies (taking turns going first). Two controls run at the same rate: nginx, what a proxy adds on
// this host at all, and the Node floor (bench/node-floor.ts), what the gateway's HTTP parts add before any of
// its features. Each paced run prints the CPU steal of both cores and the gateway's share of its core.
// The floor is also held to the goal's own definition (saturated in every round, then paced at half its
// own saturation rate against direct at that rate): what the platform alone achieves on this host.
// Whether the cores are kept awake between paced requests follows the host (see AWAKE); each paced round
// also runs direct, nginx and the gateway in the other mode as a control. bench/README.md has the findings.
//
// Flags: --quick (short runs), --rounds N, --seconds N, --connections N, --runtime bundle|tsx,
//        --awake-cores / --idle-cores (force the paced runs' core mode),
//        --upstream-chunked (the upstream answers chunked, not with a Content-Length),
//        --server-root DIR (benchmark the server of another checkout, e.g. the last commit),
//        --node-flags "..." (the gateway's node flags, default GATEWAY_FLAGS below; the Node floor runs with them too),
//        --profile DIR [--rate N] (gateway runs only, under node --cpu-prof, saturated or paced at N req/s
//        for --seconds; the profile lands in DIR at exit; with --node-flags "--require probe.js" an
//        in-process probe, e.g. an event-loop-delay monitor, watches the same run),
//        --against DIR [--rate N] (this checkout's gateway and DIR's side by side on the proxy core, both
//        paced at N req/s at once: CPU per request of each and their ratio; how to compare two builds),
//        --against-node-flags "..." (node flags of DIR's gateway in --against mode, default --node-flags:
//        with --against . it compares two sets of flags on one build).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag("quick");
const DURATION_S = Number(opt("seconds") ?? process.env.BENCH_SECONDS ?? (QUICK ? 3 : 5));
const WARMUP_S = QUICK ? 1 : 3;
const ROUNDS = Math.max(1, Number(opt("rounds") ?? process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 8)));
/** Paced runs start this long before they are measured: new connections and a cold JIT are not the steady state. */
const PACED_WARMUP_MS = 1000;
const CONNECTIONS = Number(opt("connections") ?? process.env.BENCH_CONNECTIONS ?? 64);
const RUNTIME = opt("runtime") ?? "bundle";
const SERVER_ROOT = path.resolve(opt("server-root") ?? ROOT);
/** --profile DIR: the gateway runs under node --cpu-prof, its profile written to DIR. */
const PROFILE_DIR = opt("profile");
/** --against DIR: compare this checkout's gateway with DIR's, side by side (see sideBySide). */
const AGAINST = opt("against");
/** Paced rate of each gateway in --against mode (req/s). */
const SIDE_RATE = Number(opt("rate") ?? 1500);
/** Node flags given as one string ("--a --b=1"), as a list. */
const flagList = (flags: string): string[] => flags.split(/\s+/).filter(Boolean);
/** A gateway's node command line flags: the given ones, then the profiler's under --profile. */
const nodeFlags = (flags: string[]): string[] => [...flags, ...(PROFILE_DIR ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(PROFILE_DIR)] : [])];
/** The gateway's node flags (as templates/server/Dockerfile), also given to the Node floor so the two differ only in code. */
const GATEWAY_FLAGS = opt("node-flags") ?? "--min-semi-space-size=8 --max-semi-space-size=8";
const SERVER_NODE_FLAGS = nodeFlags(flagList(GATEWAY_FLAGS));
/** Node flags of the --against gateway. */
const AGAINST_NODE_FLAGS = opt("against-node-flags") === undefined ? SERVER_NODE_FLAGS : nodeFlags(flagList(opt("against-node-flags")!));
const TOKEN = "bench-management-token";
const BODY = JSON.stringify({ data: [[1, 2, 3, 4]] });

/**
 * The upstream: a node:http model stand-in. It answers with a Content-Length, as the Azure ML inference
 * server (Flask), Triton and MLServer do for a JSON prediction; `--upstream-chunked` makes it answer
 * chunked instead (node:http's default without a length), the framing of a streamed answer.
 */
const UPSTREAM_CHUNKED = flag("upstream-chunked");
const UPSTREAM = `
const http = require("node:http");
const answer = Buffer.from('{"result":[0.5]}');
const head = { "content-type": "application/json"${UPSTREAM_CHUNKED ? "" : ', "content-length": answer.length'} };
const s = http.createServer((req, res) => {
  if (req.method === "GET") { res.end("ok"); return; }
  req.resume();
  req.on("end", () => { res.writeHead(200, head); res.end(answer); });
});
s.keepAliveTimeout = 60000;
s.listen(Number(process.argv[1]), "127.0.0.1");
`;


/**
 * Node load generator (own process): closed loop, or paced at `rate` req/s; prints JSON {lat (us), errors, non2xx, secs}.
 * Requests started in the first `warmupMs` are sent but not measured.
 */
const LOADER = `
const { Pool } = require(process.env.UNDICI);
const { url, path, headers, body, connections, durationMs, warmupMs, rate } = JSON.parse(process.argv[1]);
const pool = new Pool(url, { connections, pipelining: 1 });
const lat = [];
let errors = 0, non2xx = 0;
const measureFrom = Date.now() + warmupMs;
const end = measureFrom + durationMs;
// Paced runs: each connection sends at rate/connections per second on its own schedule.
const interval = rate > 0 ? (1000 * connections) / rate : 0;
async function one() {
  const measured = Date.now() >= measureFrom;
  const t = process.hrtime.bigint();
  try {
    const r = await pool.request({ path, method: "POST", headers, body });
    await r.body.dump();
    if (!measured) return;
    if (r.statusCode < 200 || r.statusCode >= 300) non2xx++;
    lat.push(Number(process.hrtime.bigint() - t) / 1000);
  } catch { if (measured) errors++; }
}
async function loop(_, i) {
  let next = Date.now() + (interval * i) / connections;
  while (Date.now() < end) {
    if (interval > 0) {
      const now = Date.now();
      const wait = next - now;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Behind schedule (a slow answer): skip the missed slots instead of bursting to catch up,
      // so the offered rate never exceeds the target.
      next = Math.max(next, now) + interval;
    }
    await one();
  }
}
Promise.all(Array.from({ length: connections }, (_, i) => loop(_, i))).then(async () => {
  const secs = (Date.now() - measureFrom) / 1000;
  await pool.close();
  process.stdout.write(JSON.stringify({ lat, errors, non2xx, secs }));
});
`;

interface Result {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Gateway RSS during the run (max of samples), MB. */
  rss?: number;
  /** CPU time (user + system) the proxy under test spent per request, microseconds. */
  cpuUs?: number;
  /** CPU steal per core during the run, e.g. "0.4 % / 3.1 %" (load core / proxy core). */
  steal?: string;
}

const CORES = availableParallelism();
const HAVE_TASKSET = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
const PIN = CORES >= 2 && HAVE_TASKSET;
/** Core of the load generator and the upstream; core of the proxy under test. */
const LOAD_CORE = "0";
const PROXY_CORE = "1";
const WRK = ["/usr/bin/wrk", "/usr/local/bin/wrk"].find((p) => existsSync(p));
/** The guest kernel's cpuidle driver ("none" when it has none), read from sysfs. */
function cpuidleDriver(): string {
  try {
    return readFileSync("/sys/devices/system/cpu/cpuidle/current_driver", "utf8").trim() || "none";
  } catch {
    return "none";
  }
}
const CPUIDLE = cpuidleDriver();
const HAVE_CHRT = spawnSync("chrt", ["-i", "0", "true"]).status === 0;
/**
 * Whether paced runs keep both cores awake. A virtual machine with no cpuidle driver halts an idle
 * vCPU at once, and waking it (an interrupt through the hypervisor) can take milliseconds: at a
 * paced rate, where each hop of a request may find its core halted, the p99 then measures the
 * hypervisor (nginx alone added +3.7 ms that way on a Firecracker VM, +1.2 ms with the cores
 * awake). There a SCHED_IDLE busy loop per core keeps it from halting; it yields to any other task
 * at once and its CPU time is nobody's. With a cpuidle driver (haltpoll in a guest, intel_idle or
 * acpi_idle on bare metal) idle cores wake fast and the loops are not needed, so the cores are left
 * idle, as production runs them; `--awake-cores` / `--idle-cores` force either mode.
 * Every paced round also runs direct, nginx and the gateway in the other mode, as a control.
 */
const CORE_MODE_FORCED = flag("awake-cores") || flag("idle-cores");
const AWAKE = PIN && HAVE_CHRT && (CORE_MODE_FORCED ? flag("awake-cores") : CPUIDLE === "none");
/** Whether the control runs (the other mode) can run: both modes need pinning and chrt. */
const CORE_CONTROL = PIN && HAVE_CHRT;
/** "awake cores" or "idle cores". */
const coreMode = (awake: boolean): string => (awake ? "awake cores" : "idle cores");

/** Starts a SCHED_IDLE busy loop on each core (see AWAKE); the returned function stops them. */
function keepCoresAwake(): () => void {
  const spinners = [LOAD_CORE, PROXY_CORE].map((core) => spawn("chrt", ["-i", "0", "taskset", "-c", core, "sh", "-c", "while :; do :; done"], { stdio: "ignore" }));
  return () => {
    for (const s of spinners) s.kill("SIGKILL");
  };
}

function pinned(core: string, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ["taskset", ["-c", core, cmd, ...args]] : [cmd, args];
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
  for (let i = 0; i < 300; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not come up`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.on("error", reject);
    c.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`))));
  });
}

/** Max VmRSS of `pid` sampled every 100 ms while `work` runs. */
async function sampled<T>(pid: number | undefined, work: Promise<T>): Promise<{ value: T; rss?: number }> {
  if (pid === undefined) return { value: await work };
  let max = 0;
  const t = setInterval(() => (max = Math.max(max, rssMb(pid).rss)), 100);
  try {
    return { value: await work, rss: max };
  } finally {
    clearInterval(t);
  }
}

async function nodeLoad(url: string, p: string, headers: Record<string, string>, seconds: number, rate: number): Promise<Omit<Result, "name">> {
  const cfg = { url, path: p, headers: { "content-type": "application/json", ...headers }, body: BODY, connections: CONNECTIONS, durationMs: seconds * 1000, warmupMs: rate > 0 ? PACED_WARMUP_MS : 0, rate };
  const [cmd, args] = pinned(LOAD_CORE, process.execPath, ["-e", LOADER, JSON.stringify(cfg)]);
  const r = JSON.parse(await run(cmd, args, { ...process.env, UNDICI: require.resolve("undici") })) as { lat: number[]; errors: number; non2xx: number; secs: number };
  const lat = r.lat.sort((a, b) => a - b);
  const q = (x: number): number => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(x * lat.length))]! / 1000 : NaN);
  return { rps: lat.length / r.secs, p50: q(0.5), p99: q(0.99), errors: r.errors, non2xx: r.non2xx };
}

/** One wrk run; with `rate`, each connection waits between requests (wrk's delay()) so the total is about `rate` req/s. */
async function wrkLoad(dir: string, url: string, p: string, headers: Record<string, string>, seconds: number, rate = 0): Promise<Omit<Result, "name">> {
  const script = path.join(dir, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  const hs = Object.entries({ "content-type": "application/json", ...headers })
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join("\n");
  // Random pauses (uniform, mean = connections / rate) keep the connections from moving in lockstep bursts.
  const meanMs = (1000 * CONNECTIONS) / rate;
  const pacing = rate > 0 ? `function delay()\n  return math.random(0, ${Math.max(1, Math.round(2 * meanMs))})\nend\n` : "";
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(BODY)}\n${hs}\n${pacing}`);
  const [cmd, args] = pinned(LOAD_CORE, WRK!, ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", script, `${url}${p}`]);
  const out = await run(cmd, args);
  const ms = (pct: string): number => {
    const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
  };
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: ms("50"),
    p99: ms("99"),
    errors: sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0,
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
  };
}

/** One load run against `url + p`: wrk when installed, else the Node loader. */
function load(dir: string, url: string, p: string, headers: Record<string, string>, seconds: number, rate: number): Promise<Omit<Result, "name">> {
  return WRK ? wrkLoad(dir, url, p, headers, seconds, rate) : nodeLoad(url, p, headers, seconds, rate);
}

/** CPU microseconds `pid` spent per request of a run, from its CPU seconds before the run. */
function cpuPerRequest(pid: number, cpuBefore: number, r: Omit<Result, "name">, seconds: number): number {
  return ((cpuSeconds(pid) - cpuBefore) * 1e6) / Math.max(1, r.rps * seconds);
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;

/** CPU time (user + system, seconds) of `pid` and its children (nginx's master and worker). */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  const add = (p: string): void => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").split(/\s+/).filter(Boolean)) add(c);
    } catch {
      /* gone */
    }
  };
  add(String(pid));
  return ticks / CLK_TCK;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Per-field median of a target's rounds (errors summed); RSS is the max. */
function medianResult(rs: Result[]): Result {
  const rss = rs.map((r) => r.rss ?? 0);
  return {
    name: rs[0]!.name,
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    cpuUs: rs.some((r) => r.cpuUs !== undefined) ? median(rs.map((r) => r.cpuUs ?? NaN)) : undefined,
    errors: rs.reduce((a, r) => a + r.errors, 0),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    rss: rs.some((r) => r.rss !== undefined) ? Math.max(...rss) : undefined,
  };
}

/** The CPU time counters (user .. steal) of /proc/stat rows: "cpu" (all cores) or "cpuN". */
function cpuCounters(rows: string[]): number[][] {
  const lines = readFileSync("/proc/stat", "utf8").split("\n");
  return rows.map((r) => lines.find((l) => l.startsWith(`${r} `))?.trim().split(/\s+/).slice(1, 9).map(Number) ?? []);
}

/** CPU steal (time the hypervisor gave to other guests) of each row since `before`, as shares of its CPU time: "0.4 % / 3.1 %". */
function stealSince(rows: string[], before: number[][]): string {
  return cpuCounters(rows)
    .map((f, c) => {
      const d = f.map((x, i) => x - (before[c]?.[i] ?? 0));
      const total = d.reduce((a, x) => a + x, 0);
      return total > 0 ? `${((100 * (d[7] ?? 0)) / total).toFixed(1)} %` : "n/a";
    })
    .join(" / ");
}

/** The load core's and the proxy core's rows of /proc/stat. */
const CORE_ROWS = [`cpu${LOAD_CORE}`, `cpu${PROXY_CORE}`];

/** Share of one core the proxy used at `rate` req/s, from its CPU time per request. */
function busy(r: Result, rate: number): string {
  return r.cpuUs === undefined ? "n/a" : `${Math.round((r.cpuUs * rate) / 1e4)} %`;
}

function rssMb(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

interface EsbuildModule {
  build(o: Record<string, unknown>): Promise<unknown>;
}

/** Bundles the server entry of `root` (or another entry point) with esbuild (better-sqlite3 stays a native require). */
async function bundleServer(root: string, outfile: string, entry = path.join(root, "src/server/run.ts")): Promise<void> {
  // esbuild ships with tsx; resolved from the repo so no extra dependency is needed.
  const mod = (await import(require.resolve("esbuild", { paths: [path.dirname(require.resolve("tsx/package.json")), ROOT] }))) as EsbuildModule & { default?: EsbuildModule };
  const esbuild = mod.default ?? mod;
  await esbuild.build({ entryPoints: [entry], bundle: true, platform: "node", target: "node20", external: ["better-sqlite3"], outfile, logLevel: "warning" });
}

type ManagementCall = (method: string, p: string, body?: unknown) => Promise<Record<string, unknown>>;

/** Calls the management API on port `mg` with the bench token; non-2xx answers throw. */
function managementClient(mg: number): ManagementCall {
  return async (method, p, body) => {
    const r = await fetch(`http://127.0.0.1:${mg}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return (await r.json()) as Record<string, unknown>;
  };
}

/** The benchmark's endpoint: key auth, blue/green at 90/10 and a shadow deployment for the mirror runs, all on the upstream. Returns the key. */
async function benchEndpoint(m: ManagementCall, up: number): Promise<string> {
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
  return (await m("POST", "/endpoints/bench/keys")).primaryKey as string;
}

type Starter = (core: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv) => ChildProcess;

/** The environment of a benchmarked server: the bench's management token, production mode. */
const SERVER_ENV = { ...process.env, MODELPLANE_MANAGEMENT_TOKEN: TOKEN, NODE_ENV: "production" };

/** Server command-line flags: its state, and both listeners on loopback ports. */
const serverArgs = (stateDir: string, gw: number, mg: number): string[] => ["--state-dir", stateDir, "--gateway-port", String(gw), "--gateway-host", "127.0.0.1", "--management-port", String(mg)];

/** Bundles the server of checkout `root` into `bundle` (as the server image does) and starts it on the proxy core. */
async function startBundledServer(start: Starter, root: string, flags: string[], bundle: string, stateDir: string, gw: number, mg: number): Promise<ChildProcess> {
  await bundleServer(root, bundle);
  // The bundle lives outside the repo: let its one external require (better-sqlite3) resolve there.
  return start(PROXY_CORE, process.execPath, [...flags, bundle, ...serverArgs(stateDir, gw, mg)], { ...SERVER_ENV, NODE_PATH: path.join(root, "node_modules") });
}

/** One side-by-side run of one gateway: its load figures and its CPU per request. */
type SideRun = { r: Omit<Result, "name">; cpuUs: number };

/**
 * --against DIR: the gateway of this checkout (or --server-root) and the one of DIR run side by side
 * on the proxy core, each paced at --rate req/s by its own loader at the same time, so both see the
 * same host. Prints each round's CPU per request and p99 of both and the median ratio. (One after
 * the other, a shared host moves one build's figure by far more than the 5 % a change is worth.)
 */
async function sideBySide(dir: string, start: Starter, up: number): Promise<void> {
  const builds = [
    { root: SERVER_ROOT, flags: SERVER_NODE_FLAGS },
    { root: path.resolve(AGAINST!), flags: AGAINST_NODE_FLAGS },
  ];
  const gateways: { root: string; flags: string[]; pid: number; url: string; key: string }[] = [];
  for (const [i, b] of builds.entries()) {
    const [gw, mg] = [await freePort(), await freePort()];
    const child = await startBundledServer(start, b.root, b.flags, path.join(dir, `server-${i}.js`), path.join(dir, `state-${i}`), gw, mg);
    await waitUp(`http://127.0.0.1:${mg}/healthz`);
    gateways.push({ ...b, pid: child.pid!, url: `http://127.0.0.1:${gw}`, key: await benchEndpoint(managementClient(mg), up) });
  }
  console.log(`side by side on core ${PROXY_CORE}, each paced at ${SIDE_RATE} req/s (${CONNECTIONS} connections, ${DURATION_S}s per round): this = ${gateways[0]!.root} (node ${gateways[0]!.flags.join(" ")}), against = ${gateways[1]!.root} (node ${gateways[1]!.flags.join(" ")})`);
  const both = (seconds: number): Promise<SideRun[]> =>
    Promise.all(
      gateways.map(async (g) => {
        const before = cpuSeconds(g.pid);
        const r = await load(dir, g.url, "/endpoints/bench/score", { authorization: `Bearer ${g.key}` }, seconds, SIDE_RATE);
        return { r, cpuUs: cpuPerRequest(g.pid, before, r, seconds) };
      }),
    );
  await both(WARMUP_S);
  const rounds: SideRun[][] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const [a, b] = (await both(DURATION_S)) as [SideRun, SideRun];
    rounds.push([a, b]);
    const bad = a.r.errors + a.r.non2xx + b.r.errors + b.r.non2xx > 0 ? " (errors or non-2xx answers)" : "";
    console.log(`round ${i + 1}/${ROUNDS}: this ${a.cpuUs.toFixed(0)} us/req, p99 ${a.r.p99.toFixed(2)} ms; against ${b.cpuUs.toFixed(0)} us/req, p99 ${b.r.p99.toFixed(2)} ms; against / this ${((b.cpuUs / a.cpuUs) * 100).toFixed(0)} %${bad}`);
  }
  const cpu = (k: 0 | 1): number => median(rounds.map((r) => r[k]!.cpuUs));
  const ratio = median(rounds.map((r) => r[1]!.cpuUs / r[0]!.cpuUs));
  console.log(`medians: this ${cpu(0).toFixed(0)} us/req, against ${cpu(1).toFixed(0)} us/req; against / this ${(ratio * 100).toFixed(1)} % (median of per-round ratios; two copies of one build: a median within about 2 %, single rounds within about 6 %)`);
}

async function main(): Promise<void> {
  // This orchestrating process (RSS sampling, management calls) belongs to the load side: keep it off the proxy's core.
  if (PIN) spawnSync("taskset", ["-a", "-p", "-c", LOAD_CORE, String(process.pid)]);
  const dir = mkdtempSync(path.join(tmpdir(), "mp-bench-"));
  const children: ChildProcess[] = [];
  /** Stops the paced runs' busy loops (see AWAKE), also when a run throws. */
  let stopSpinners = (): void => {};
  /** Stops the busy loops now running, if any. */
  const stopAwake = (): void => {
    stopSpinners();
    stopSpinners = () => {};
  };
  const start = (core: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess => {
    const [c, a] = pinned(core, cmd, args);
    const child = spawn(c, a, { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
    children.push(child);
    return child;
  };
  try {
    const [up, ngx, gw, mg, flr] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    start(LOAD_CORE, process.execPath, ["-e", UPSTREAM, String(up)]);
    if (AGAINST) {
      await waitUp(`http://127.0.0.1:${up}/`);
      return await sideBySide(dir, start, up);
    }
    // The second control, the Node floor (bench/node-floor.ts): the gateway's HTTP parts and nothing else.
    await bundleServer(ROOT, path.join(dir, "floor.js"), path.join(ROOT, "bench/node-floor.ts"));
    const floor = start(PROXY_CORE, process.execPath, [...flagList(GATEWAY_FLAGS), path.join(dir, "floor.js"), String(flr), String(up)]);
    writeFileSync(
      path.join(dir, "nginx.conf"),
      `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream model { server 127.0.0.1:${up}; keepalive 128; }
  server { listen 127.0.0.1:${ngx}; location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
    );
    const nginx = start(PROXY_CORE, "/usr/sbin/nginx", ["-c", path.join(dir, "nginx.conf"), "-p", dir]);
    const stateDir = path.join(dir, "state");
    const server =
      RUNTIME === "tsx"
        ? start(PROXY_CORE, process.execPath, [...SERVER_NODE_FLAGS, "--import", "tsx", path.join(SERVER_ROOT, "src/server/run.ts"), ...serverArgs(stateDir, gw, mg)], SERVER_ENV)
        : await startBundledServer(start, SERVER_ROOT, SERVER_NODE_FLAGS, path.join(dir, "server.js"), stateDir, gw, mg);
    await Promise.all([waitUp(`http://127.0.0.1:${up}/`), waitUp(`http://127.0.0.1:${ngx}/`), waitUp(`http://127.0.0.1:${mg}/healthz`), waitUp(`http://127.0.0.1:${flr}/`)]);
    const idleRss = rssMb(server.pid!).rss;

    const m = managementClient(mg);
    const key = await benchEndpoint(m, up);
    const auth = { authorization: `Bearer ${key}` };

    const targets = {
      direct: { url: `http://127.0.0.1:${up}`, path: "/score", headers: {} as Record<string, string>, pid: undefined as number | undefined },
      nginx: { url: `http://127.0.0.1:${ngx}`, path: "/score", headers: {}, pid: nginx.pid },
      floor: { url: `http://127.0.0.1:${flr}`, path: "/score", headers: {}, pid: floor.pid },
      gateway: { url: `http://127.0.0.1:${gw}`, path: "/endpoints/bench/score", headers: auth, pid: server.pid },
    };
    type Target = keyof typeof targets;
    /**
     * One run against a target, closed loop (rate 0) or paced: its figures, the CPU time the proxy
     * spent per request (the whole run, warm-up included, over the requests measured), and the steal
     * on both cores.
     */
    const measure = async (name: string, t: Target, seconds: number, rate: number): Promise<Result> => {
      const x = targets[t];
      const cpuBefore = x.pid === undefined ? 0 : cpuSeconds(x.pid);
      const stealBefore = cpuCounters(CORE_ROWS);
      const work = load(dir, x.url, x.path, x.headers, seconds, rate);
      const { value, rss } = await sampled(t === "gateway" ? x.pid : undefined, work);
      const cpuUs = x.pid === undefined ? undefined : cpuPerRequest(x.pid, cpuBefore, value, seconds);
      return { name, ...value, rss, cpuUs, steal: stealSince(CORE_ROWS, stealBefore) };
    };
    const saturate = (name: string, t: Target, seconds = DURATION_S): Promise<Result> => measure(name, t, seconds, 0);
    const paced = (name: string, t: Target, rate: number): Promise<Result> => measure(name, t, DURATION_S, rate);

    console.log(
      `load: ${CONNECTIONS} connections, ${DURATION_S}s per run (${WARMUP_S}s warm-up per target first; paced runs measure after ${PACED_WARMUP_MS} ms), ${BODY.length}-byte JSON body, the upstream's 16-byte answer ${UPSTREAM_CHUNKED ? "chunked" : "with a Content-Length"}; ${WRK ? "wrk -t1 (paced: delay() per connection)" : "a Node loader"}`,
    );
    console.log(
      PIN
        ? `pinning: load generator + upstream on core ${LOAD_CORE}, proxy under test (nginx worker_processes 1 / gateway) on core ${PROXY_CORE}`
        : `pinning: off (${CORES} core(s)${HAVE_TASKSET ? "" : ", no taskset"}); figures are less comparable`,
    );
    if (PIN) {
      const why = CORE_MODE_FORCED ? "as asked" : HAVE_CHRT ? `cpuidle driver: ${CPUIDLE}` : "no chrt";
      console.log(`paced runs: ${AWAKE ? "both cores kept awake (SCHED_IDLE busy loops)" : "cores left idle between requests"} (${why})${CORE_CONTROL ? `; direct, nginx and the gateway also run with ${coreMode(!AWAKE)} as a control` : ""}`);
    }
    console.log(`gateway: ${RUNTIME === "tsx" ? "node --import tsx" : "esbuild bundle"} of ${SERVER_ROOT}, node flags: ${SERVER_NODE_FLAGS.join(" ") || "(none)"}`);

    if (PROFILE_DIR) {
      // Saturated, or paced at --rate (the paced runs' own conditions).
      const rate = opt("rate") === undefined ? 0 : SIDE_RATE;
      await measure("warm-up", "gateway", WARMUP_S, rate);
      const g = await measure("gateway 90/10", "gateway", DURATION_S, rate);
      console.log(`gateway 90/10${rate ? ` @${rate}/s` : ""}: ${g.rps.toFixed(0)} req/s, p50 ${g.p50.toFixed(2)} ms, p99 ${g.p99.toFixed(2)} ms, CPU ${g.cpuUs?.toFixed(0)} us/req, RSS ${g.rss?.toFixed(0)} MB; profile in ${PROFILE_DIR}`);
      return;
    }
    for (const t of ["direct", "nginx", "floor", "gateway"] as const) await saturate("warm-up", t, WARMUP_S);
    const mirrorOn = (on: boolean): Promise<unknown> => m("PUT", "/endpoints/bench/traffic", { traffic: { blue: 90, green: 10, shadow: 0 }, mirror_traffic: on ? { shadow: 10 } : {} });
    const rounds: { direct: Result; nginx: Result; floor: Result; gateway: Result; mirrored: Result }[] = [];
    const stealBefore = cpuCounters(["cpu"]);
    for (let i = 0; i < ROUNDS; i++) {
      // Order flips every round (nginx first, then the gateway first) so neither side always gets the later minute.
      const gatewayPair = async (): Promise<[Result, Result]> => {
        const g = await saturate("gateway 90/10", "gateway");
        await mirrorOn(true);
        const mg = await saturate("gateway + 10% mirror", "gateway");
        await mirrorOn(false);
        return [g, mg];
      };
      let direct: Result, nginxR: Result, floorR: Result, gatewayR: Result, mirroredR: Result;
      if (i % 2 === 0) {
        direct = await saturate("direct", "direct");
        nginxR = await saturate("nginx (1 worker)", "nginx");
        floorR = await saturate("node floor", "floor");
        [gatewayR, mirroredR] = await gatewayPair();
      } else {
        [gatewayR, mirroredR] = await gatewayPair();
        floorR = await saturate("node floor", "floor");
        nginxR = await saturate("nginx (1 worker)", "nginx");
        direct = await saturate("direct", "direct");
      }
      rounds.push({ direct, nginx: nginxR, floor: floorR, gateway: gatewayR, mirrored: mirroredR });
      console.log(
        `round ${i + 1}/${ROUNDS}: direct ${direct.rps.toFixed(0)}, nginx ${nginxR.rps.toFixed(0)}, node floor ${floorR.rps.toFixed(0)}, gateway ${gatewayR.rps.toFixed(0)}, gateway+mirror ${mirroredR.rps.toFixed(0)} req/s (gateway/nginx ${((gatewayR.rps / nginxR.rps) * 100).toFixed(0)} %)`,
      );
    }
    const steal = stealSince(["cpu"], stealBefore);
    const direct = medianResult(rounds.map((r) => r.direct));
    const ngxR = medianResult(rounds.map((r) => r.nginx));
    const floorSat = medianResult(rounds.map((r) => r.floor));
    const gateway = medianResult(rounds.map((r) => r.gateway));
    const mirrored = medianResult(rounds.map((r) => r.mirrored));
    // Added latency at half the gateway's saturation rate, also in rounds (direct, then nginx and the
    // gateway, their order flipping): a p99 is the slowest 1 % of one run, so one stall of the host
    // can move it; the goal uses the median of the per-round differences. nginx at the same rate is
    // the control: what any proxy on this host adds (an extra hop, a second busy core, CPU steal).
    // (Pacing targets side by side in one loader would overload the load core and measure the loader.)
    const half = Math.floor(gateway.rps / 2);
    const floorOwnHalf = Math.floor(floorSat.rps / 2);
    const pacedRounds: {
      direct: Result;
      nginx: Result;
      floor: Result;
      gateway: Result;
      directAtFloorHalf: Result;
      floorAtOwnHalf: Result;
      /** The control (see AWAKE): direct, nginx and the gateway at the same rate in the other core mode. */
      directControl?: Result;
      nginxControl?: Result;
      gatewayControl?: Result;
    }[] = [];
    const pacedNames = { nginx: "nginx", floor: "node floor", gateway: "gateway" } as const;
    // The floor sat idle through the saturation rounds (its upstream connections timed out): every
    // proxy gets a paced warm-up first, so round 1 measures none of them cold.
    for (const t of ["nginx", "floor", "gateway"] as const) await measure("warm-up", t, WARMUP_S, half);
    for (let i = 0; i < ROUNDS; i++) {
      if (AWAKE) stopSpinners = keepCoresAwake();
      const d = await paced(`direct @${half}/s`, "direct", half);
      // The three proxies take turns going first.
      const order = (["nginx", "floor", "gateway"] as const).map((_, j, all) => all[(i + j) % all.length]!);
      const r: Partial<Record<(typeof order)[number], Result>> = {};
      for (const t of order) r[t] = await paced(`${pacedNames[t]} @${half}/s`, t, half);
      const [n, f, g] = [r.nginx!, r.floor!, r.gateway!];
      // The floor by the goal's own definition: direct and the floor at half the floor's saturation rate.
      const df = await paced(`direct @${floorOwnHalf}/s`, "direct", floorOwnHalf);
      const fo = await paced(`node floor @${floorOwnHalf}/s`, "floor", floorOwnHalf);
      stopAwake();
      let directCtl: Result | undefined, nginxCtl: Result | undefined, gatewayCtl: Result | undefined;
      if (CORE_CONTROL) {
        if (!AWAKE) stopSpinners = keepCoresAwake();
        const other = coreMode(!AWAKE);
        directCtl = await paced(`direct @${half}/s, ${other}`, "direct", half);
        // nginx and the gateway take turns going first here too.
        const ctl: Partial<Record<"nginx" | "gateway", Result>> = {};
        for (const t of i % 2 === 0 ? (["nginx", "gateway"] as const) : (["gateway", "nginx"] as const)) ctl[t] = await paced(`${pacedNames[t]} @${half}/s, ${other}`, t, half);
        [nginxCtl, gatewayCtl] = [ctl.nginx, ctl.gateway];
        stopAwake();
      }
      pacedRounds.push({ direct: d, nginx: n, floor: f, gateway: g, directAtFloorHalf: df, floorAtOwnHalf: fo, directControl: directCtl, nginxControl: nginxCtl, gatewayControl: gatewayCtl });
      const fig = (x: Result, base?: Result): string => `${x.p99.toFixed(2)}${base ? ` (+${(x.p99 - base.p99).toFixed(2)})` : ""} ms, steal ${x.steal}`;
      console.log(
        `paced round ${i + 1}/${ROUNDS} @${half}/s, p99: direct ${fig(d)}; nginx ${fig(n, d)}; node floor ${fig(f, d)}; gateway ${fig(g, d)}, its core ${busy(g, half)} busy; ` +
          `@${floorOwnHalf}/s: direct ${fig(df)}; node floor ${fig(fo, df)}, its core ${busy(fo, floorOwnHalf)} busy` +
          (directCtl && nginxCtl && gatewayCtl ? `; ${coreMode(!AWAKE)} @${half}/s: direct ${fig(directCtl)}; nginx ${fig(nginxCtl, directCtl)}; gateway ${fig(gatewayCtl, directCtl)}` : ""),
      );
    }
    const directHalf = medianResult(pacedRounds.map((r) => r.direct));
    const nginxHalf = medianResult(pacedRounds.map((r) => r.nginx));
    const floorHalf = medianResult(pacedRounds.map((r) => r.floor));
    const gatewayHalf = medianResult(pacedRounds.map((r) => r.gateway));
    const directFloorHalf = medianResult(pacedRounds.map((r) => r.directAtFloorHalf));
    const floorOwn = medianResult(pacedRounds.map((r) => r.floorAtOwnHalf));
    type PacedRun = keyof (typeof pacedRounds)[number];
    /** A proxy's added p99 over its direct run, per paced round. */
    const addedPerRound = (proxy: PacedRun, base: PacedRun): number[] => pacedRounds.map((r) => (r[proxy]?.p99 ?? NaN) - (r[base]?.p99 ?? NaN));
    const peak = rssMb(server.pid!);
    let heap = "";
    try {
      const text = await (await fetch(`http://127.0.0.1:${gw}/metrics`)).text();
      const g = (n: string): number => Number(new RegExp(`^${n}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, "m").exec(text)?.[1] ?? NaN) / 2 ** 20;
      heap = `, V8 heap used ${g("nodejs_heap_size_used_bytes").toFixed(0)} / total ${g("nodejs_heap_size_total_bytes").toFixed(0)} MB, external ${g("nodejs_external_memory_bytes").toFixed(0)} MB`;
    } catch {
      /* no process metrics */
    }

    const rows = [direct, ngxR, floorSat, gateway, mirrored, directHalf, nginxHalf, floorHalf, gatewayHalf, directFloorHalf, floorOwn];
    console.log("");
    console.log(["run".padEnd(24), "req/s".padStart(8), "p50 ms".padStart(8), "p99 ms".padStart(8), "CPU us/req".padStart(11), "RSS MB".padStart(7), "errors".padStart(7), "non2xx".padStart(7)].join(" "));
    for (const r of rows) {
      console.log(
        [
          r.name.padEnd(24),
          r.rps.toFixed(0).padStart(8),
          r.p50.toFixed(2).padStart(8),
          r.p99.toFixed(2).padStart(8),
          (r.cpuUs !== undefined ? r.cpuUs.toFixed(0) : "").padStart(11),
          (r.rss ? r.rss.toFixed(0) : "").padStart(7),
          String(r.errors).padStart(7),
          String(r.non2xx).padStart(7),
        ].join(" "),
      );
    }
    const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
    const maxRss = Math.max(...rows.map((r) => r.rss ?? 0));
    const added = median(addedPerRound("gateway", "direct"));
    const ratio = median(rounds.map((r) => r.gateway.rps / r.nginx.rps));
    const cost = median(rounds.map((r) => 1 - r.mirrored.rps / r.gateway.rps));
    const goals: [string, string, string, boolean][] = [
      ["gateway / nginx throughput", pct(ratio), ">= 60 %", ratio >= 0.6],
      [`p99 added over direct @${half}/s`, `${added.toFixed(2)} ms`, "<= 2 ms", added <= 2],
      ["gateway RSS under load (max)", `${maxRss.toFixed(0)} MB`, "<= 150 MB", maxRss <= 150],
      ["10 % mirror throughput cost", pct(cost), "<= 15 %", cost <= 0.15],
    ];
    console.log("");
    console.log(["goal".padEnd(34), "measured".padStart(10), "target".padStart(10), "".padStart(5)].join(" "));
    for (const [g, v, t, ok] of goals) console.log([g.padEnd(34), v.padStart(10), t.padStart(10), (ok ? "PASS" : "FAIL").padStart(5)].join(" "));
    console.log(`figures: medians of ${ROUNDS} rounds; goals: medians of per-round ratios (throughput, mirror) and differences (p99); CPU steal during the saturation rounds ${steal}`);
    const nginxAdded = median(addedPerRound("nginx", "direct"));
    const floorAdded = median(addedPerRound("floor", "direct"));
    console.log(
      `controls at the same rate (medians of the same rounds): nginx adds ${nginxAdded.toFixed(2)} ms to the p99 (its core ${busy(nginxHalf, half)} busy); the Node floor (the gateway's HTTP parts, no features) adds ${floorAdded.toFixed(2)} ms (its core ${busy(floorHalf, half)} busy)`,
    );
    if (CORE_CONTROL) {
      const perRound = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(", ");
      const nginxCtl = addedPerRound("nginxControl", "directControl");
      const gatewayCtl = addedPerRound("gatewayControl", "directControl");
      console.log(
        `the same rate with ${coreMode(!AWAKE)} (the control; this run's paced rounds used ${coreMode(AWAKE)}): nginx adds ${median(nginxCtl).toFixed(2)} ms (per round ${perRound(nginxCtl)}), ` +
          `the gateway ${median(gatewayCtl).toFixed(2)} ms (per round ${perRound(gatewayCtl)}), against ${nginxAdded.toFixed(2)} and ${added.toFixed(2)} ms with ${coreMode(AWAKE)}`,
      );
    }
    const floorOwnRounds = addedPerRound("floorAtOwnHalf", "directAtFloorHalf");
    const floorOwnAdded = median(floorOwnRounds);
    console.log(
      `the Node floor by the goal's own definition: ${((floorSat.rps / ngxR.rps) * 100).toFixed(0)} % of nginx's throughput; at half its own saturation rate (${floorOwnHalf}/s) it adds ${floorOwnAdded.toFixed(2)} ms to the p99 (its core ${busy(floorOwn, floorOwnHalf)} busy; per round ${floorOwnRounds.map((x) => x.toFixed(2)).join(", ")} ms)`,
    );
    console.log(`the gateway's core is ${busy(gatewayHalf, half)} busy at that rate (CPU per request ${gatewayHalf.cpuUs?.toFixed(0)} us, ${gateway.cpuUs?.toFixed(0)} us at saturation)`);
    console.log(
      `CPU per request of the proxy under test (saturation medians): nginx ${ngxR.cpuUs?.toFixed(0)} us, gateway ${gateway.cpuUs?.toFixed(0)} us; nginx's throughput is bound by the load core when it stays near direct's`,
    );
    console.log(`gateway/direct throughput ${pct(gateway.rps / direct.rps)}; gateway RSS idle ${idleRss.toFixed(0)} MB, peak (VmHWM) ${peak.hwm.toFixed(0)} MB${heap}`);
    const bad = [...rows, ...rounds.flatMap((r) => Object.values(r)), ...pacedRounds.flatMap((r) => Object.values(r).filter((x): x is Result => x !== undefined))].filter((r) => r.errors > 0 || r.non2xx > 0);
    if (bad.length > 0) console.log(`WARNING: errors or non-2xx answers in: ${[...new Set(bad.map((r) => r.name))].join(", ")}`);
  } finally {
    stopSpinners();
    for (const c of children) c.kill("SIGTERM");
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
