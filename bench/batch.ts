/**
 * `npm run bench:batch`: a batch job over many small files on 2 instances x 2 worker processes,
 * side by side in the same run with `xargs -P4` calling the same scoring function on the same files
 * in the same image. Not a test: prints both throughputs, their ratio and the time from invoke to the
 * first mini-batch running, with PASS/FAIL for issue 22's goals (>= 80 % of xargs' throughput; the
 * first mini-batch <= 3 s after invoke, images cached). bench/README.md ("Batch") says why it is fair.
 *
 *   npm run bench:batch -- [--files 10000] [--mini-batch-size 50] [--rounds 2] [--sleep-ms 0] [--trace]
 *
 * --trace prints each measured job's start-up timeline: the engine's events for its worker
 * containers (create, start, die) and the first lines of each worker's log, in ms after the invoke,
 * and the CPU time the server and the engine's daemons spent on the job. --profile DIR runs the
 * server under `node --cpu-prof` (the profile lands in DIR when the bench ends).
 *
 * What runs: the real server (`node --import tsx src/server/run.ts`, as
 * test/integration/server/batch.test.ts starts it) on the host, real worker containers from the
 * test's worker image (test/integration/fixtures/batch-worker, FROM the base image), the real driver
 * (templates/batch/driver.py) and the test's scoring script (fixtures/batch-score/score.py, one row
 * per line of each file). The xargs side is one `docker run` of the same image with the same
 * read-only mounts and security options, running `find | sort | xargs -P4 -n <mini-batch size>
 * python bench/batch-xargs.py` (init() once per process, run([file]) per file).
 * Each round runs xargs, the batch job and the 4-process xargs control, in flipped order every
 * other round; the throughput goal is the median of the per-round ratios.
 *
 * Everything the bench makes carries the label modelplane.stack=<its stack> (worker and xargs
 * containers, the network) or lives in one temp folder; both go at the end, on an error and on
 * SIGINT/SIGTERM. The worker image is a content-hashed cache shared with the integration test and stays.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import execa from "execa";
import { ensureImage } from "../src/images/build";
import { freePort, removeByLabel } from "../test/integration/harness/docker";
import { TOKEN, mgmtCall } from "../test/integration/server/harness";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "10000" },
    "mini-batch-size": { type: "string", default: "50" },
    rounds: { type: "string", default: "2" },
    "sleep-ms": { type: "string", default: "0" },
    trace: { type: "boolean", default: false },
    profile: { type: "string" },
  },
});
const FILES = Number(values.files);
const MINI_BATCH = Number(values["mini-batch-size"]);
const ROUNDS = Number(values.rounds);
const SLEEP_MS = Number(values["sleep-ms"]);
const TRACE = values.trace;
const PROFILE = values.profile ? path.resolve(values.profile) : undefined;
if (!(Number.isInteger(FILES) && FILES >= 4 && Number.isInteger(MINI_BATCH) && MINI_BATCH >= 1 && Number.isInteger(ROUNDS) && ROUNDS >= 1 && SLEEP_MS >= 0)) {
  throw new Error("--files takes a whole number of at least 4, --mini-batch-size and --rounds of at least 1, --sleep-ms a number of at least 0");
}
const INSTANCES = 2;
const PROCESSES = 2;
const PARALLEL = INSTANCES * PROCESSES;
const LINES = 3;
const GOAL_RATIO = 0.8;
const GOAL_FIRST_S = 3;

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = path.join(ROOT, "test/integration/fixtures");
const CODE = path.join(FIXTURES, "batch-score");
const STACK = `mp-bench-batch-${randomBytes(3).toString("hex")}`;
const PREFIX = "mp-batch/";
const PYTHON = "/opt/venv/bin/python";
const ENDPOINT = "mp-bench-batch";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const dir = mkdtempSync(path.join(tmpdir(), "mp-bench-batch-"));
const inputs = path.join(dir, "inputs");
let server: ChildProcess | undefined;
let serverLog = "";
let cleaning: Promise<void> | undefined;

/** Removes everything the bench made: the server, every container and the network of its stack, the temp folder. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server!.once("exit", r));
      // A profiled server is stopped gently, so that it writes its profile.
      server.kill(PROFILE ? "SIGTERM" : "SIGKILL");
      await gone;
    }
    await removeByLabel("modelplane.stack", STACK).catch((err: unknown) => console.error(`clean-up: ${(err as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}

// `on`, not `once`: execa's exit hook (signal-exit) re-raises a signal that no other listener is
// left to handle, which would end the bench before its clean-up has run.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (cleaning) return;
    console.error(`\n${signal}: removing the bench's containers, network and ${dir}`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** `n` files of LINES short lines each in a new folder under the input root. */
function makeFiles(name: string, n: number): string {
  const folder = path.join(inputs, name);
  mkdirSync(folder, { recursive: true, mode: 0o755 });
  chmodSync(folder, 0o755);
  const width = String(n - 1).length;
  for (let i = 0; i < n; i++) {
    const lines = Array.from({ length: LINES }, (_, j) => `${name}-${i}-${j}`);
    writeFileSync(path.join(folder, `f${String(i).padStart(width, "0")}.txt`), `${lines.join("\n")}\n`, { mode: 0o644 });
  }
  return folder;
}

async function startServer(gwPort: number, mgPort: number): Promise<void> {
  const proc = spawn(
    process.execPath,
    [...(PROFILE ? ["--cpu-prof", "--cpu-prof-dir", PROFILE] : []), "--import", "tsx", "src/server/run.ts", "--state-dir", path.join(dir, "state"), "--gateway-port", String(gwPort), "--gateway-host", "127.0.0.1", "--management-port", String(mgPort), "--management-host", "0.0.0.0"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        MODELPLANE_MANAGEMENT_TOKEN: TOKEN,
        MODELPLANE_STACK: STACK,
        MODELPLANE_NETWORK: STACK,
        MODELPLANE_DATASTORE_DIR: path.join(dir, "datastore"),
        MODELPLANE_INPUT_ROOTS: inputs,
        MODELPLANE_IMAGE_PREFIX: PREFIX,
        // The server runs on the host: workers reach it through the engine's host gateway.
        MODELPLANE_WORKER_SERVER_URL: `http://host.docker.internal:${mgPort}`,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  server = proc;
  proc.stderr?.on("data", (d: Buffer) => {
    serverLog = (serverLog + d.toString()).slice(-20_000);
  });
  const until = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the server exited: ${serverLog}`);
    try {
      if ((await fetch(`http://127.0.0.1:${mgPort}/healthz`)).status === 200) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`the server did not start in 60 s: ${serverLog}`);
    await sleep(100);
  }
}

interface BatchRun {
  id: string;
  /** Epoch ms of the invoke. */
  invokedAt: number;
  firstS: number;
  doneS: number;
  completedS: number;
  filesPerS: number;
}

interface XargsRun {
  seconds: number;
  filesPerS: number;
}

class Bench {
  private key = "";
  constructor(
    private readonly gwPort: number,
    private readonly mgPort: number,
    private readonly image: string,
  ) {}

  private mg(method: string, p: string, body?: unknown): Promise<{ status: number; body: Json }> {
    return mgmtCall(`http://127.0.0.1:${this.mgPort}`, method, p, body);
  }

  private async gw(method: string, p: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const res = await fetch(`http://127.0.0.1:${this.gwPort}/endpoints/${ENDPOINT}${p}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
  }

  /** A cluster of INSTANCES, a batch endpoint and its custom-scoring deployment (INSTANCES x PROCESSES, MINI_BATCH files each). */
  async deploy(): Promise<void> {
    const put = async (p: string, body: unknown): Promise<void> => {
      const r = await this.mg("PUT", p, body);
      if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${p} answered ${r.status}: ${JSON.stringify(r.body)}`);
    };
    await put("/clusters/cpu", { max_instances: INSTANCES });
    await put(`/endpoints/${ENDPOINT}`, { kind: "batch", auth_mode: "key" });
    await put(`/endpoints/${ENDPOINT}/deployments/main`, {
      kind: "batch",
      image: this.image,
      cluster: "cpu",
      model_server: "custom",
      code_dir: "/var/azureml-app/code",
      scoring_script: "score.py",
      binds: [{ source: CODE, target: "/var/azureml-app/code" }],
      instance_count: INSTANCES,
      settings: { max_concurrency_per_instance: PROCESSES, mini_batch_size: MINI_BATCH, retry_settings: { max_retries: 2, timeout: 300 }, error_threshold: 0 },
      environment_variables: { SLEEP_PER_FILE_S: String(SLEEP_MS / 1000) },
    });
    await put(`/endpoints/${ENDPOINT}/defaults`, { deployment_name: "main" });
    this.key = (await this.mg("POST", `/endpoints/${ENDPOINT}/keys`)).body.primaryKey as string;
  }

  /** One job over `folder`: invoke, the first mini-batch leased, all done, Completed. */
  async batch(folder: string, files: number): Promise<BatchRun> {
    const invokedAt = Date.now();
    const t0 = performance.now();
    const sub = await this.gw("POST", "/jobs", { input: folder });
    if (sub.status !== 202) throw new Error(`POST /jobs answered ${sub.status}: ${JSON.stringify(sub.body)}`);
    const id = sub.body.id as string;
    let firstS = NaN;
    let doneS = NaN;
    for (;;) {
      const j = (await this.gw("GET", `/jobs/${id}`)).body;
      const now = (performance.now() - t0) / 1000;
      const mb = j.mini_batches;
      if (Number.isNaN(firstS) && mb.running + mb.done + mb.failed > 0) firstS = now;
      if (Number.isNaN(doneS) && mb.done + mb.failed === mb.total) doneS = now;
      if (["Completed", "Failed", "Canceled"].includes(j.status)) {
        if (j.status !== "Completed") throw new Error(`job ${id} ended ${j.status}: ${j.failure_reason}\n${serverLog.slice(-4000)}`);
        if (j.rows !== files * LINES) throw new Error(`job ${id} wrote ${j.rows} rows, not ${files * LINES}`);
        return { id, invokedAt, firstS, doneS, completedS: now, filesPerS: files / now };
      }
      if (now > 600) throw new Error(`job ${id} did not end in 600 s: ${JSON.stringify(j)}`);
      // Fine-grained until the first mini-batch runs (that is a goal), coarser afterwards.
      await sleep(Number.isNaN(firstS) ? 10 : 50);
    }
  }

  /**
   * `xargs -P4 -n <perProcess>` over the same files in one container of the same image: the same
   * interpreter, the same scoring script, the same read-only mounts and security options as a worker.
   */
  async xargs(folder: string, files: number, perProcess: number): Promise<XargsRun> {
    const out = mkdtempSync(path.join(dir, "xargs-"));
    chmodSync(out, 0o777);
    const script = `find /mnt/input -type f -print0 | LC_ALL=C sort -z | xargs -0 -P ${PARALLEL} -n ${perProcess} ${PYTHON} /opt/bench/batch-xargs.py > /out/predictions.csv`;
    const t0 = performance.now();
    await execa("docker", [
      "run", "--rm", "--name", `${STACK}-xargs-${randomBytes(3).toString("hex")}`, "--label", `modelplane.stack=${STACK}`,
      "--init", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--network", STACK, "--workdir", "/tmp",
      "-e", `SLEEP_PER_FILE_S=${SLEEP_MS / 1000}`, "-e", "PYTHONUNBUFFERED=1",
      "-v", `${folder}:/mnt/input:ro`, "-v", `${CODE}:/var/azureml-app/code:ro`, "-v", `${path.join(ROOT, "bench")}:/opt/bench:ro`, "-v", `${out}:/out`,
      "--entrypoint", "sh", this.image, "-c", script,
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const rows = readFileSync(path.join(out, "predictions.csv"), "utf8").split("\n").filter(Boolean).length;
    rmSync(out, { recursive: true, force: true });
    if (rows !== files * LINES) throw new Error(`xargs wrote ${rows} rows, not ${files * LINES}`);
    return { seconds, filesPerS: files / seconds };
  }
}

/** Watches the engine's events for the bench's containers (for --trace). */
function watchEvents(): { stop: () => string[] } {
  let text = "";
  const child = execa("docker", ["events", "--filter", `label=modelplane.stack=${STACK}`, "--filter", "type=container", "--format", "{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}"], { reject: false });
  child.stdout?.on("data", (d: Buffer) => (text += d.toString()));
  return {
    stop: () => {
      child.kill("SIGTERM");
      // Whole lines only (a chunk may end mid-line).
      return text.split("\n").slice(0, -1);
    },
  };
}

/** CPU seconds a process has used so far (utime + stime from /proc), NaN when it is not there. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The engine's daemons (their CPU is part of what a batch job costs). */
async function enginePids(): Promise<number[]> {
  const r = await execa("pidof", ["dockerd", "containerd"], { reject: false });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** --trace: what happened between the invoke and the first mini-batches, in ms after the invoke. */
function printTrace(run: BatchRun, events: string[]): void {
  const at = (epochMs: number): string => `+${String(Math.round(epochMs - run.invokedAt)).padStart(6)} ms`;
  const out: [number, string][] = [];
  for (const e of events) {
    const [nanos, action, name] = e.split(" ");
    if (["create", "start", "die", "destroy"].includes(action ?? "")) out.push([Number(BigInt(nanos ?? "0") / 1_000_000n), `engine: ${action} ${name}`]);
  }
  const logs = path.join(dir, "datastore", "jobs", run.id, "logs");
  for (const n of Array.from({ length: INSTANCES }, (_, i) => i)) {
    let seen = 0;
    for (const line of readFileSync(path.join(logs, `worker-${n}.log`), "utf8").split("\n")) {
      // The driver logs "YYYY-MM-DD HH:MM:SS,mmm LEVEL [...] message" in the container's time zone (UTC).
      const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) (.*)$/.exec(line);
      if (!m) continue;
      // The start-up lines up to each instance's second mini-batch, and how its processes left.
      const early = seen < 2;
      if (/mini-batch/.test(line)) seen++;
      if (early || /job is over|worker processes left|exited/.test(line)) out.push([Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`), `worker-${n}: ${m[4]}`]);
    }
  }
  out.push([run.invokedAt + 1000 * run.firstS, "bench: the job view shows the first mini-batch running"]);
  out.push([run.invokedAt + 1000 * run.doneS, "bench: the job view shows every mini-batch done"]);
  out.push([run.invokedAt + 1000 * run.completedS, "bench: the job view shows Completed"]);
  for (const [t, what] of out.sort((a, b) => a[0] - b[0])) console.log(`  ${at(t)}  ${what}`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const rate = (n: number): string => Math.round(n).toLocaleString("en-US").replace(/,/g, " ");

async function main(): Promise<void> {
  chmodSync(dir, 0o755);
  mkdirSync(inputs, { mode: 0o755 });
  const image = (await ensureImage({ repository: `${PREFIX}worker`, contextDir: path.join(FIXTURES, "batch-worker"), buildArgs: { BASE_IMAGE: process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm" }, log: (l) => console.error(l) })).tag;
  await execa("docker", ["network", "create", "--label", `modelplane.stack=${STACK}`, STACK]);
  const [gwPort, mgPort] = [await freePort(), await freePort()];
  await startServer(gwPort, mgPort);
  const bench = new Bench(gwPort, mgPort, image);
  await bench.deploy();

  const folder = makeFiles("files", FILES);
  const warm = makeFiles("warm-up", 4 * MINI_BATCH);
  console.log(`${FILES} files of ${LINES} lines; batch: ${INSTANCES} instances x ${PROCESSES} processes, mini_batch_size ${MINI_BATCH}; xargs -P ${PARALLEL} -n ${MINI_BATCH}; control: xargs -P ${PARALLEL} -n ${Math.ceil(FILES / PARALLEL)}`);
  console.log(`image ${image}, scoring script ${path.relative(ROOT, CODE)}/score.py${SLEEP_MS ? `, ${SLEEP_MS} ms sleep per file` : ""}; server: node --import tsx src/server/run.ts; ${ROUNDS} round(s)`);
  // Not measured: the server's first job (module loads, the engine connection) and the image's first runs.
  await bench.batch(warm, 4 * MINI_BATCH);
  await bench.xargs(warm, 4 * MINI_BATCH, MINI_BATCH);

  const traced = async (job: () => Promise<BatchRun>): Promise<BatchRun> => {
    if (!TRACE) return job();
    const events = watchEvents();
    await sleep(300); // docker events is listening
    const engine = await enginePids();
    const cpu = (): [number, number] => [cpuSeconds(server?.pid), engine.reduce((n, p) => n + cpuSeconds(p), 0)];
    const [server0, engine0] = cpu();
    const run = await job();
    const [server1, engine1] = cpu();
    printTrace(run, events.stop());
    console.log(`  CPU during the job: server ${f2(server1 - server0)} s, dockerd + containerd ${f2(engine1 - engine0)} s`);
    return run;
  };
  const rows: { round: number; x: XargsRun; b: BatchRun; c: XargsRun }[] = [];
  console.log(`\n${"round".padEnd(7)}${"xargs f/s".padStart(11)}${"batch f/s".padStart(11)}${"ratio".padStart(8)}${"first mb s".padStart(12)}${"all done s".padStart(12)}${"completed s".padStart(13)}${"steady f/s".padStart(12)}${"control f/s".padStart(13)}`);
  for (let round = 1; round <= ROUNDS; round++) {
    let x: XargsRun;
    let b: BatchRun;
    let c: XargsRun;
    if (round % 2 === 1) {
      x = await bench.xargs(folder, FILES, MINI_BATCH);
      b = await traced(() => bench.batch(folder, FILES));
      c = await bench.xargs(folder, FILES, Math.ceil(FILES / PARALLEL));
    } else {
      c = await bench.xargs(folder, FILES, Math.ceil(FILES / PARALLEL));
      b = await traced(() => bench.batch(folder, FILES));
      x = await bench.xargs(folder, FILES, MINI_BATCH);
    }
    rows.push({ round, x, b, c });
    console.log(
      `${String(round).padEnd(7)}${rate(x.filesPerS).padStart(11)}${rate(b.filesPerS).padStart(11)}${`${Math.round((100 * b.filesPerS) / x.filesPerS)} %`.padStart(8)}${f2(b.firstS).padStart(12)}${f2(b.doneS).padStart(12)}${f2(b.completedS).padStart(13)}${rate(FILES / (b.doneS - b.firstS)).padStart(12)}${rate(c.filesPerS).padStart(13)}`,
    );
  }
  const ratio = median(rows.map((r) => r.b.filesPerS / r.x.filesPerS));
  const control = median(rows.map((r) => r.b.filesPerS / r.c.filesPerS));
  const firstWorst = Math.max(...rows.map((r) => r.b.firstS));
  console.log(`\nmedians: xargs ${rate(median(rows.map((r) => r.x.filesPerS)))} files/s (${f1(median(rows.map((r) => r.x.seconds)))} s), batch ${rate(median(rows.map((r) => r.b.filesPerS)))} files/s (${f1(median(rows.map((r) => r.b.completedS)))} s, invoke to Completed), control ${rate(median(rows.map((r) => r.c.filesPerS)))} files/s; batch/control ${Math.round(100 * control)} %`);
  console.log(`${ratio >= GOAL_RATIO ? "PASS" : "FAIL"} throughput: batch at ${Math.round(100 * ratio)} % of xargs -P ${PARALLEL} -n ${MINI_BATCH} (median of ${ROUNDS} round(s); goal >= ${Math.round(100 * GOAL_RATIO)} %)`);
  console.log(`${firstWorst <= GOAL_FIRST_S ? "PASS" : "FAIL"} first mini-batch: ${f2(firstWorst)} s after invoke at worst (median ${f2(median(rows.map((r) => r.b.firstS)))} s; goal <= ${GOAL_FIRST_S} s, images cached)`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
