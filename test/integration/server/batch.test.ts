// Batch jobs end to end on the real engine: the real server (a child process, so it can be killed
// with -9), real worker containers from a small image built FROM the base image, the real driver
// (templates/batch/driver.py) and a real scoring script (fixtures/batch-score/score.py).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { ensureImage } from "../../../src/images/build";
import { ensureMlflowServerImage, mlflowRequirementsFile } from "../../../src/images/mlflow-server";
import { corpusRoot } from "../../conformance-corpus";
import { containersByLabel, freePort, removeByLabel } from "../harness/docker";
import { TOKEN, mgmtCall, sleep } from "./harness";

const ROOT = path.resolve(__dirname, "../../..");
const FIXTURES = path.join(ROOT, "test/integration/fixtures");
const STACK = `mp-batch-it-${randomBytes(3).toString("hex")}`;
const NETWORK = STACK;
const PREFIX = "mp-batch/";

interface Child {
  proc: ChildProcess;
  stderr: () => string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe("batch jobs on Docker workers", { timeout: 20 * 60_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mp-batch-it-"));
  const stateDir = path.join(dir, "state");
  const datastore = path.join(dir, "datastore");
  const inputs = path.join(dir, "inputs");
  const outside = path.join(dir, "outside");
  const code = path.join(FIXTURES, "batch-score");
  let image = "";
  let mlflowImage = "";
  let gwPort = 0;
  let mgPort = 0;
  let server: Child | undefined;
  let fileServer: ReturnType<typeof createServer> | undefined;
  const keys = new Map<string, string>();

  const mg = (method: string, p: string, body?: unknown): Promise<{ status: number; body: Json }> => mgmtCall(`http://127.0.0.1:${mgPort}`, method, p, body);
  const gw = async (method: string, e: string, p: string, body?: unknown, key = keys.get(e)): Promise<{ status: number; body: Json; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${gwPort}/endpoints/${e}${p}`, {
      method,
      headers: { authorization: `Bearer ${key ?? "none"}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* a file */
    }
    return { status: res.status, body: parsed, text };
  };

  async function startServer(): Promise<Child> {
    const proc = spawn(
      process.execPath,
      ["--import", "tsx", "src/server/run.ts", "--state-dir", stateDir, "--gateway-port", String(gwPort), "--gateway-host", "127.0.0.1", "--management-port", String(mgPort), "--management-host", "0.0.0.0"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          MODELPLANE_MANAGEMENT_TOKEN: TOKEN,
          MODELPLANE_STACK: STACK,
          MODELPLANE_NETWORK: NETWORK,
          MODELPLANE_DATASTORE_DIR: datastore,
          MODELPLANE_INPUT_ROOTS: inputs,
          MODELPLANE_IMAGE_PREFIX: PREFIX,
          // The server runs on the host here: workers reach it through the engine's host gateway.
          MODELPLANE_WORKER_SERVER_URL: `http://host.docker.internal:${mgPort}`,
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const until = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server exited: ${stderr}`);
      try {
        if ((await fetch(`http://127.0.0.1:${mgPort}/healthz`)).status === 200) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > until) throw new Error(`server did not start: ${stderr}`);
      await sleep(100);
    }
    return { proc, stderr: () => stderr };
  }

  function kill9(c: Child | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
      c.proc.once("exit", () => resolve());
      c.proc.kill("SIGKILL");
    });
  }

  /** A folder of `n` files f00.txt.. under the input root, each with `lines` lines. */
  function makeInput(name: string, n: number, lines = 3): { folder: string; expected: string[] } {
    const folder = path.join(inputs, name);
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    chmodSync(folder, 0o755);
    const expected: string[] = [];
    for (let i = 0; i < n; i++) {
      const file = `f${String(i).padStart(2, "0")}.txt`;
      const content = Array.from({ length: lines }, (_, j) => `${name}-${i}-${j}`);
      writeFileSync(path.join(folder, file), `${content.join("\n")}\n`, { mode: 0o644 });
      for (const c of content) expected.push(`${file},${c}`);
    }
    return { folder, expected };
  }

  async function batchEndpoint(e: string, cluster: string, settings: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
    assert.ok([200, 201].includes((await mg("PUT", `/endpoints/${e}`, { kind: "batch", auth_mode: "key" })).status));
    const d = await mg("PUT", `/endpoints/${e}/deployments/main`, {
      kind: "batch",
      image,
      cluster,
      model_server: "custom",
      code_dir: "/var/azureml-app/code",
      scoring_script: "score.py",
      binds: [{ source: code, target: "/var/azureml-app/code" }],
      instance_count: 2,
      settings: { max_concurrency_per_instance: 2, mini_batch_size: 2, retry_settings: { max_retries: 2, timeout: 60 }, ...settings },
      ...extra,
    });
    assert.ok([200, 201].includes(d.status), JSON.stringify(d.body));
    assert.equal((await mg("PUT", `/endpoints/${e}/defaults`, { deployment_name: "main" })).status, 200);
    keys.set(e, (await mg("POST", `/endpoints/${e}/keys`)).body.primaryKey);
  }

  async function waitJob(e: string, id: string, until: (j: Json) => boolean, timeoutMs = 180_000): Promise<Json> {
    const end = Date.now() + timeoutMs;
    let last: Json;
    for (;;) {
      const r = await gw("GET", e, `/jobs/${id}`).catch(() => undefined);
      if (r?.status === 200) {
        last = r.body;
        if (until(last)) return last;
      }
      if (Date.now() > end) throw new Error(`job ${id} did not get there in time: ${JSON.stringify(last)}\n${server?.stderr().slice(-4000)}`);
      await sleep(200);
    }
  }
  const ended = (j: Json): boolean => ["Completed", "Failed", "Canceled"].includes(j.status);

  /** predictions.csv lines as "file,line" (the inits column dropped). */
  async function predictions(e: string, id: string): Promise<string[]> {
    const r = await gw("GET", e, `/jobs/${id}/outputs/predictions.csv`);
    assert.equal(r.status, 200, r.text);
    return r.text
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(",").slice(0, 2).join(","));
  }

  const workersOf = (labels: Record<string, string> = {}): Promise<string[]> => containersByLabel({ "modelplane.stack": STACK, "modelplane.role": "batch-worker", ...labels });

  before(async () => {
    for (const d of [dir, inputs, outside, datastore]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o755);
    }
    chmodSync(code, 0o755);
    image = (await ensureImage({ repository: `${PREFIX}worker`, contextDir: path.join(FIXTURES, "batch-worker"), buildArgs: { BASE_IMAGE: process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm" }, log: (l) => console.error(l) })).tag;
    await execa("docker", ["network", "create", "--label", `modelplane.stack=${STACK}`, NETWORK]);
    [gwPort, mgPort] = [await freePort(), await freePort()];
    server = await startServer();
    assert.equal((await mg("PUT", "/clusters/cpu", { max_instances: 4 })).status, 201);
    assert.equal((await mg("PUT", "/clusters/one", { max_instances: 1 })).status, 201);
  });

  after(async () => {
    await kill9(server);
    fileServer?.closeAllConnections();
    fileServer?.close();
    await removeByLabel("modelplane.stack", STACK);
    // The MLflow image is a content-hashed cache shared with other tests; only this test's tag goes.
    if (mlflowImage) await execa("docker", ["rmi", mlflowImage], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a job over N files with mini_batch_size 2 on 2 instances x 2 processes: every row once, in mini-batch order", async () => {
    await batchEndpoint("mp-batch-rows", "cpu", {});
    const { folder, expected } = makeInput("rows", 12);
    assert.deepEqual(await workersOf(), [], "no worker before the job");
    const sub = await gw("POST", "mp-batch-rows", "/jobs", { properties: { InputData: { data: { JobInputType: "UriFolder", Uri: folder } } } });
    assert.equal(sub.status, 202, sub.text);
    assert.equal(sub.body.status, "Queued");
    assert.match(sub.body.url, new RegExp(`/endpoints/mp-batch-rows/jobs/${sub.body.id}$`));
    const job = await waitJob("mp-batch-rows", sub.body.id, ended);
    assert.equal(job.status, "Completed", JSON.stringify(job));
    assert.equal(job.instances, 2);
    assert.deepEqual(job.mini_batches, { total: 6, done: 6, failed: 0, running: 0, pending: 0 });
    assert.equal(job.rows, 36);
    assert.deepEqual(await predictions("mp-batch-rows", sub.body.id), expected, "rows once each, in mini-batch index order");
    const summary = JSON.parse((await gw("GET", "mp-batch-rows", `/jobs/${sub.body.id}/outputs/summary.json`)).text);
    assert.equal(summary.status, "Completed");
    assert.equal(summary.rows, 36);
    assert.deepEqual(summary.failed_files, []);
    for (const n of [0, 1]) {
      const log = await gw("GET", "mp-batch-rows", `/jobs/${sub.body.id}/outputs/logs/worker-${n}.log`);
      assert.equal(log.status, 200);
      assert.match(log.text, /starting 2 worker process/);
      assert.match(log.text, /score\.py init\(\)/);
    }
    assert.deepEqual(await workersOf(), [], "no worker after the job");
    const list = await gw("GET", "mp-batch-rows", "/jobs");
    assert.ok(list.body.value.some((j: Json) => j.id === sub.body.id));
  });

  it("a script raising on one file: error_threshold -1 completes and lists it; 0 fails naming it", async () => {
    const { folder } = makeInput("raise", 6);
    await batchEndpoint("mp-batch-tolerant", "cpu", { error_threshold: -1, retry_settings: { max_retries: 1, timeout: 60 } }, { environment_variables: { FAIL_ON: "f03.txt" } });
    const a = await gw("POST", "mp-batch-tolerant", "/jobs", { input: folder });
    assert.equal(a.status, 202, a.text);
    const ja = await waitJob("mp-batch-tolerant", a.body.id, ended);
    assert.equal(ja.status, "Completed", JSON.stringify(ja));
    assert.deepEqual(ja.files, { total: 6, failed: 2 });
    const summary = JSON.parse((await gw("GET", "mp-batch-tolerant", `/jobs/${a.body.id}/outputs/summary.json`)).text);
    const failed = summary.failed_files.map((f: Json) => path.basename(f.file)).sort();
    assert.deepEqual(failed, ["f02.txt", "f03.txt"], "the failing file's mini-batch");
    assert.match(summary.failed_files[0].error, /refusing f03\.txt on purpose/);
    assert.match(summary.failed_files[0].traceback, /Traceback[\s\S]*ValueError/);
    const rows = await predictions("mp-batch-tolerant", a.body.id);
    assert.equal(rows.length, 12);
    assert.ok(!rows.some((r) => r.startsWith("f02.txt") || r.startsWith("f03.txt")));

    await batchEndpoint("mp-batch-strict", "cpu", { error_threshold: 0, retry_settings: { max_retries: 0, timeout: 60 } }, { environment_variables: { FAIL_ON: "f03.txt" } });
    const b = await gw("POST", "mp-batch-strict", "/jobs", { input: folder });
    const jb = await waitJob("mp-batch-strict", b.body.id, ended);
    assert.equal(jb.status, "Failed");
    assert.match(jb.failure_reason, /error_threshold 0 exceeded/);
    assert.match(jb.failure_reason, /f03\.txt \(ValueError: refusing f03\.txt on purpose\)/);
    assert.deepEqual(await workersOf({ "modelplane.job": b.body.id }), []);
  });

  it("a first-try failure is retried and its rows appear once", async () => {
    const { folder, expected } = makeInput("retry", 8);
    await batchEndpoint("mp-batch-retry", "cpu", { retry_settings: { max_retries: 3, timeout: 60 } }, { environment_variables: { FAIL_FIRST_TRY_ON: "f05.txt" } });
    const s = await gw("POST", "mp-batch-retry", "/jobs", { input: folder });
    const j = await waitJob("mp-batch-retry", s.body.id, ended);
    assert.equal(j.status, "Completed", JSON.stringify(j));
    assert.deepEqual(j.files, { total: 8, failed: 0 });
    assert.deepEqual(await predictions("mp-batch-retry", s.body.id), expected);
    const logs = (await gw("GET", "mp-batch-retry", `/jobs/${s.body.id}/outputs/logs/worker-0.log`)).text + (await gw("GET", "mp-batch-retry", `/jobs/${s.body.id}/outputs/logs/worker-1.log`)).text;
    assert.match(logs, /mini-batch 2 attempt 1 failed: RuntimeError: first try of f05\.txt fails on purpose/);
    assert.match(logs, /mini-batch 2 attempt [23]: 6 row\(s\)/);
  });

  it("a worker container killed mid-job: its mini-batch is retried, every row once", async () => {
    const { folder, expected } = makeInput("killworker", 16);
    await batchEndpoint("mp-batch-killw", "cpu", {}, { environment_variables: { SLEEP_PER_FILE_S: "0.4" } });
    const s = await gw("POST", "mp-batch-killw", "/jobs", { input: folder });
    await waitJob("mp-batch-killw", s.body.id, (j) => j.mini_batches.done >= 1 && j.mini_batches.running >= 2);
    const victims = await workersOf({ "modelplane.job": s.body.id, "modelplane.instance": "0" });
    assert.equal(victims.length, 1);
    await execa("docker", ["kill", victims[0]!]);
    const j = await waitJob("mp-batch-killw", s.body.id, ended);
    assert.equal(j.status, "Completed", JSON.stringify(j));
    assert.deepEqual(await predictions("mp-batch-killw", s.body.id), expected);
    const log0 = (await gw("GET", "mp-batch-killw", `/jobs/${s.body.id}/outputs/logs/worker-0.log`)).text;
    assert.equal((log0.match(/===== container /g) ?? []).length, 2, "instance 0 was relaunched once");
    assert.deepEqual(await workersOf(), []);
  });

  it("the server killed with -9 mid-job and restarted: the job resumes, every row once", async () => {
    const { folder, expected } = makeInput("killserver", 16);
    await batchEndpoint("mp-batch-kills", "cpu", {}, { environment_variables: { SLEEP_PER_FILE_S: "0.4" } });
    const s = await gw("POST", "mp-batch-kills", "/jobs", { input: folder });
    await waitJob("mp-batch-kills", s.body.id, (j) => j.mini_batches.done >= 2 && j.mini_batches.running >= 1);
    await kill9(server);
    await sleep(3000); // workers finish mini-batches and retry their posts meanwhile
    assert.equal((await workersOf({ "modelplane.job": s.body.id })).length, 2, "workers outlive the server");
    server = await startServer();
    const j = await waitJob("mp-batch-kills", s.body.id, ended);
    assert.equal(j.status, "Completed", JSON.stringify(j));
    assert.equal(j.rows, 48);
    assert.deepEqual(await predictions("mp-batch-kills", s.body.id), expected);
    assert.deepEqual(await workersOf(), []);
  });

  it("two jobs on max_instances 1: the second is Queued until the first ends; no worker before or after", async () => {
    const { folder, expected } = makeInput("queue", 4);
    await batchEndpoint("mp-batch-queue", "one", {}, { environment_variables: { SLEEP_PER_FILE_S: "0.5" } });
    assert.deepEqual(await workersOf(), [], "no worker before the first job");
    const first = await gw("POST", "mp-batch-queue", "/jobs", { input: folder, instance_count: 3 });
    const second = await gw("POST", "mp-batch-queue", "/jobs", { input: folder });
    assert.equal(first.body.instances, 1, "instance_count is capped at max_instances");
    await waitJob("mp-batch-queue", first.body.id, (j) => j.status === "Running");
    const seen = new Set<string>();
    for (;;) {
      const a = (await gw("GET", "mp-batch-queue", `/jobs/${first.body.id}`)).body;
      const b = (await gw("GET", "mp-batch-queue", `/jobs/${second.body.id}`)).body;
      if (a.status === "Running") assert.equal(b.status, "Queued", "the second waits while the first runs");
      if (b.status === "Running") assert.ok(ended(a), "the second starts only after the first ended");
      const live = await workersOf();
      assert.ok(live.length <= 1, `at most max_instances workers: ${live.join(", ")}`);
      seen.add(b.status);
      if (ended(b)) break;
      await sleep(150);
    }
    assert.ok(seen.has("Queued") && seen.has("Running"));
    for (const id of [first.body.id, second.body.id]) {
      assert.equal((await gw("GET", "mp-batch-queue", `/jobs/${id}`)).body.status, "Completed");
      assert.deepEqual(await predictions("mp-batch-queue", id), expected);
    }
    assert.deepEqual(await workersOf(), [], "no worker after the last job");
  });

  it("cancel stops the workers; deleting the endpoint cancels its jobs and leaves no worker", async () => {
    const { folder } = makeInput("cancel", 12);
    await batchEndpoint("mp-batch-cancel", "cpu", {}, { environment_variables: { SLEEP_PER_FILE_S: "1" } });
    const a = await gw("POST", "mp-batch-cancel", "/jobs", { input: folder });
    await waitJob("mp-batch-cancel", a.body.id, (j) => j.mini_batches.running >= 1);
    const c = await gw("POST", "mp-batch-cancel", `/jobs/${a.body.id}/cancel`);
    assert.equal(c.status, 200);
    assert.equal(c.body.status, "Canceled");
    const until = Date.now() + 20_000;
    while ((await workersOf({ "modelplane.job": a.body.id })).length > 0) {
      assert.ok(Date.now() < until, "workers of a canceled job are removed");
      await sleep(200);
    }
    const summary = await waitJob("mp-batch-cancel", a.body.id, (j) => j.outputs.includes("summary.json"));
    assert.ok(summary.outputs.some((o: string) => o.startsWith("logs/worker-")), "their logs are kept");

    const b = await gw("POST", "mp-batch-cancel", "/jobs", { input: folder });
    await waitJob("mp-batch-cancel", b.body.id, (j) => j.mini_batches.running >= 1);
    assert.equal((await mg("DELETE", "/endpoints/mp-batch-cancel")).status, 200);
    assert.deepEqual(await workersOf({ "modelplane.job": b.body.id }), [], "no worker once the DELETE has answered");
  });

  it("reads the datastore, data assets, single files and http(s) URLs", async () => {
    await batchEndpoint("mp-batch-inputs", "cpu", {});
    const e = "mp-batch-inputs";
    // Content-addressed upload: blob, then folder.
    const files = { "b.txt": "bee-1\nbee-2\n", "a.txt": "ay-1\n" };
    const manifest = [];
    for (const [name, text] of Object.entries(files)) {
      const sha = createHash("sha256").update(text).digest("hex");
      assert.equal((await mg("HEAD", `/datastore/blobs/${sha}`)).status, 404);
      const put = await fetch(`http://127.0.0.1:${mgPort}/datastore/blobs/${sha}`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: text });
      assert.equal(put.status, 201);
      const again = await fetch(`http://127.0.0.1:${mgPort}/datastore/blobs/${sha}`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: text });
      assert.equal(again.status, 200, "a second upload of the same bytes is skipped");
      manifest.push({ path: `sub/${name}`, sha256: sha });
    }
    const wrong = await fetch(`http://127.0.0.1:${mgPort}/datastore/blobs/${"0".repeat(64)}`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: "x" });
    assert.equal(wrong.status, 400);
    const folder = await mg("POST", "/datastore/folders", { files: manifest });
    assert.equal(folder.status, 200);
    assert.match(folder.body.uri, /^datastore:\/\/folders\/[0-9a-f]{64}$/);
    assert.equal((await mg("POST", "/datastore/folders", { files: [...manifest].reverse() })).body.uri, folder.body.uri, "same manifest, same folder");
    assert.equal((await mg("PUT", "/data/letters/versions/1", { type: "uri_folder", path: folder.body.uri })).status, 200);
    assert.equal((await mg("PUT", "/data/letters/versions/2", { type: "uri_file", path: `${folder.body.uri}/sub/b.txt` })).status, 200);

    const viaAsset = await gw("POST", e, "/jobs", { input: "azureml:letters:1" });
    assert.equal(viaAsset.status, 202, viaAsset.text);
    const latest = await gw("POST", e, "/jobs", { input: "azureml:letters@latest" });
    const single = await gw("POST", e, "/jobs", { input: { type: "uri_file", path: path.join(makeInput("single", 2).folder, "f01.txt") } });
    fileServer = createServer((req, res) => {
      if (req.url === "/remote.txt") res.end("remote-1\nremote-2\nremote-3\n");
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => fileServer!.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(fileServer.address() as AddressInfo).port}`;
    const remote = await gw("POST", e, "/jobs", { input: `${url}/remote.txt` });
    assert.equal(remote.status, 202, remote.text);
    const missingUrl = await gw("POST", e, "/jobs", { input: `${url}/nope.txt` });
    assert.equal(missingUrl.status, 400);
    assert.match(missingUrl.body.error.message, /nope\.txt answered HTTP 404/);

    const want: Record<string, string[]> = {
      [viaAsset.body.id]: ["a.txt,ay-1", "b.txt,bee-1", "b.txt,bee-2"],
      [latest.body.id]: ["b.txt,bee-1", "b.txt,bee-2"],
      [single.body.id]: ["f01.txt,single-1-0", "f01.txt,single-1-1", "f01.txt,single-1-2"],
      [remote.body.id]: ["remote.txt,remote-1", "remote.txt,remote-2", "remote.txt,remote-3"],
    };
    for (const [id, rows] of Object.entries(want)) {
      const j = await waitJob(e, id, ended);
      assert.equal(j.status, "Completed", JSON.stringify(j));
      assert.deepEqual(await predictions(e, id), rows, `job over ${j.input}`);
    }
    assert.ok(readFileSync(path.join(datastore, "jobs", viaAsset.body.id, "predictions.csv"), "utf8").length > 0, "outputs land in the datastore");
  });

  it("an MLflow model scores CSV files with no code: one row per input row, the prediction then the file name", { timeout: 15 * 60_000 }, async () => {
    // The online corpus's sklearn-diabetes MLflow model, in the same image test/integration/servers/mlflow.test.ts builds.
    const model = path.join(corpusRoot(), "cli/endpoints/online/ncd/sklearn-diabetes/model");
    const built = await ensureMlflowServerImage({ requirementsFile: mlflowRequirementsFile(model), baseImage: process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm", log: (l) => console.error(l) });
    mlflowImage = `${PREFIX}mlflow:${built.tag.split(":")[1]}`;
    await execa("docker", ["tag", built.tag, mlflowImage]);
    const e = "mp-batch-mlflow";
    assert.equal((await mg("PUT", `/endpoints/${e}`, { kind: "batch", auth_mode: "aad_token" })).status, 201);
    const d = await mg("PUT", `/endpoints/${e}/deployments/simple`, {
      kind: "batch",
      image: mlflowImage,
      cluster: "cpu",
      model_server: "mlflow",
      model_dir: "/var/azureml-app/azureml-models",
      binds: [{ source: model, target: "/var/azureml-app/azureml-models/sklearn-diabetes" }],
      instance_count: 2,
      settings: { max_concurrency_per_instance: 2, mini_batch_size: 1 },
    });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    assert.equal((await mg("PUT", `/endpoints/${e}/defaults`, { deployment_name: "simple" })).status, 200);
    const token = (await mg("POST", `/endpoints/${e}/token`)).body.accessToken as string;
    keys.set(e, token);
    const folder = path.join(inputs, "diabetes");
    mkdirSync(folder, { mode: 0o755 });
    const header = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6";
    writeFileSync(path.join(folder, "a.csv"), `${header}\n1,2,3,4,5,6,7,8,9,10\n10,2,9,8,7,6,5,4,3,2\n`, { mode: 0o644 });
    writeFileSync(path.join(folder, "b.csv"), `${header}\n10,2,9,8,7,6,5,4,3,2\n`, { mode: 0o644 });
    const s = await gw("POST", e, "/jobs", { input: folder }, token);
    assert.equal(s.status, 202, s.text);
    const j = await waitJob(e, s.body.id, ended, 300_000);
    assert.equal(j.status, "Completed", JSON.stringify(j));
    const rows = (await gw("GET", e, `/jobs/${s.body.id}/outputs/predictions.csv`, undefined, token)).text.trim().split("\n").map((l) => l.split(","));
    assert.deepEqual(rows.map((r) => r[1]), ["a.csv", "a.csv", "b.csv"]);
    // The model's own predictions for these rows (test/integration/servers/mlflow.test.ts says how they were computed).
    const expected = [11633.100167144927, 8522.117402885002, 8522.117402885002];
    rows.forEach((r, i) => assert.ok(Math.abs(Number(r[0]) - expected[i]!) < 1e-6, `row ${i}: ${r.join(",")}`));
  });

  it("bad inputs: 400 naming a missing path, 403 naming the roots, 409 without a deployment, 400 on a bad mini_batch_size; /score is 404", async () => {
    await batchEndpoint("mp-batch-bad", "cpu", {});
    const missing = await gw("POST", "mp-batch-bad", "/jobs", { input: path.join(inputs, "no-such-folder") });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "input_not_found");
    assert.ok(missing.body.error.message.includes(path.join(inputs, "no-such-folder")));
    mkdirSync(outside, { recursive: true });
    const forbidden = await gw("POST", "mp-batch-bad", "/jobs", { input: outside });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, "input_not_allowed");
    assert.ok(forbidden.body.error.message.includes(inputs), "names the allowed roots");
    const badSize = await gw("POST", "mp-batch-bad", "/jobs", { input: inputs, mini_batch_size: 0 });
    assert.equal(badSize.status, 400);
    assert.match(badSize.body.error.message, /mini_batch_size: 0 is not a whole number from 1/);
    const noAuth = await gw("POST", "mp-batch-bad", "/jobs", { input: inputs }, "wrong-key");
    assert.equal(noAuth.status, 401);
    const scoreIt = await fetch(`http://127.0.0.1:${gwPort}/endpoints/mp-batch-bad/score`, { method: "POST", headers: { authorization: `Bearer ${keys.get("mp-batch-bad")}` }, body: "{}" });
    assert.equal(scoreIt.status, 404);
    assert.match(await scoreIt.text(), /POST \/endpoints\/mp-batch-bad\/jobs/);

    assert.equal((await mg("PUT", "/endpoints/mp-batch-empty", { kind: "batch", auth_mode: "key" })).status, 201);
    keys.set("mp-batch-empty", (await mg("POST", "/endpoints/mp-batch-empty/keys")).body.primaryKey);
    const none = await gw("POST", "mp-batch-empty", "/jobs", { input: inputs });
    assert.equal(none.status, 409);
    assert.equal(none.body.error.code, "no_deployment");
    assert.match(none.body.error.message, /add a batch deployment with endpoint_name: mp-batch-empty/);
    const foreign = await mg("PUT", "/endpoints/mp-batch-empty/deployments/other", { kind: "batch", image: "busybox:latest", cluster: "cpu", model_server: "mlflow" });
    assert.equal(foreign.status, 400);
    assert.equal(foreign.body.error.code, "image_not_allowed");
    const noCluster = await mg("PUT", "/endpoints/mp-batch-empty/deployments/other", { kind: "batch", image, cluster: "gpu", model_server: "mlflow" });
    assert.equal(noCluster.status, 409);
    assert.match(noCluster.body.error.message, /clusters: cpu, one/);
  });

  /** A datastore folder of `n` files (uploaded blobs): a job-neutral input, unlike a host folder. */
  async function datastoreInput(name: string, n: number): Promise<{ uri: string; expected: string[] }> {
    const manifest: { path: string; sha256: string }[] = [];
    const expected: string[] = [];
    for (let i = 0; i < n; i++) {
      const file = `f${String(i).padStart(2, "0")}.txt`;
      const lines = [0, 1].map((j) => `${name}-${i}-${j}`);
      const text = `${lines.join("\n")}\n`;
      const sha = createHash("sha256").update(text).digest("hex");
      const put = await fetch(`http://127.0.0.1:${mgPort}/datastore/blobs/${sha}`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: text });
      assert.ok([200, 201].includes(put.status));
      manifest.push({ path: file, sha256: sha });
      for (const l of lines) expected.push(`${file},${l}`);
    }
    const folder = await mg("POST", "/datastore/folders", { files: manifest });
    assert.equal(folder.status, 200, JSON.stringify(folder.body));
    return { uri: folder.body.uri, expected };
  }

  /** Submits a job and measures the time from the submission to its first finished mini-batch. */
  async function timedJob(e: string, input: string): Promise<{ id: string; firstMs: number }> {
    const t0 = Date.now();
    const sub = await gw("POST", e, "/jobs", { input });
    assert.equal(sub.status, 202, sub.text);
    for (;;) {
      const r = await gw("GET", e, `/jobs/${sub.body.id}`);
      if (r.body.mini_batches?.done > 0 || ended(r.body)) return { id: sub.body.id, firstMs: Date.now() - t0 };
      if (Date.now() - t0 > 180_000) throw new Error(`job ${sub.body.id} ran no mini-batch: ${r.text}`);
      await sleep(25);
    }
  }

  it("min_instances 1 keeps one worker warm: the next job of the deployment reuses it (init() once, rows once); min_instances 0 keeps none", async () => {
    const e = "mp-batch-warm";
    assert.equal((await mg("PUT", "/clusters/warm", { min_instances: 1, max_instances: 2 })).status, 201);
    await batchEndpoint(e, "warm", { max_concurrency_per_instance: 1 }, { instance_count: 1 });
    const a = await datastoreInput("warm-a", 4);
    const first = await timedJob(e, a.uri);
    assert.equal((await waitJob(e, first.id, ended)).status, "Completed");
    assert.deepEqual(await predictions(e, first.id), a.expected);
    const kept = await workersOf({ "modelplane.endpoint": e });
    assert.equal(kept.length, 1, "one worker container stays warm after the job");
    const keptId = (await execa("docker", ["inspect", "--format", "{{.Id}}", kept[0]!])).stdout.trim();

    const b = await datastoreInput("warm-b", 6);
    const second = await timedJob(e, b.uri);
    const job = await waitJob(e, second.id, ended);
    assert.equal(job.status, "Completed", JSON.stringify(job));
    assert.deepEqual(await predictions(e, second.id), b.expected, "every row once, in mini-batch order");
    const raw = (await gw("GET", e, `/jobs/${second.id}/outputs/predictions.csv`)).text.split("\n").filter(Boolean);
    assert.ok(raw.every((l) => l.endsWith(",1")), `the reused worker did not run init() again: ${raw.join(" | ")}`);
    const log = (await gw("GET", e, `/jobs/${second.id}/outputs/logs/worker-0.log`)).text;
    assert.ok(log.includes(`===== container ${kept[0]} =====`), `the warm container ran the second job's mini-batches:\n${log}`);
    assert.match(log, /init\(\) not run again/);
    assert.equal((await workersOf({ "modelplane.endpoint": e })).join(), kept.join(), "the same container is still the warm one");
    assert.equal((await execa("docker", ["inspect", "--format", "{{.Id}}", kept[0]!])).stdout.trim(), keptId);
    const whole = await execa("docker", ["logs", keptId], { all: true });
    assert.equal((whole.all?.match(/score\.py init\(\)/g) ?? []).length, 1, "init() ran once in the container over both jobs");
    console.error(`warm instances: time to the first mini-batch: cold ${first.firstMs} ms, warm ${second.firstMs} ms`);
    assert.ok(second.firstMs < first.firstMs, `the warm job starts faster (cold ${first.firstMs} ms, warm ${second.firstMs} ms)`);

    // min_instances 0: the same kind of job leaves no container.
    const c = await datastoreInput("warm-c", 2);
    const onCpu = await gw("POST", "mp-batch-rows", "/jobs", { input: c.uri });
    assert.equal((await waitJob("mp-batch-rows", onCpu.body.id, ended)).status, "Completed");
    assert.deepEqual(await workersOf({ "modelplane.endpoint": "mp-batch-rows" }), []);

    // Deleting the endpoint removes its warm instance.
    assert.ok([200, 202, 204].includes((await mg("DELETE", `/endpoints/${e}`)).status));
    assert.deepEqual(await workersOf({ "modelplane.endpoint": e }), [], "no warm worker after the endpoint is deleted");
    assert.equal((await mg("DELETE", "/clusters/warm")).status, 200);
  });
});
