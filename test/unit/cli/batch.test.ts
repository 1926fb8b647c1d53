// `modelplane batch invoke` and `modelplane jobs ...` against a fake control plane (management API
// and gateway on one node:http server, speaking docs/batch-api.md): argument handling, the
// content-addressed upload, the live progress line, and the exit codes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import type { CommandIo } from "../../../src/cli/commands/access";
import { classifyInput, runBatchInvoke, type RunDeps } from "../../../src/cli/commands/batch";
import { etaMs, formatDuration, ProgressLine, progressLine } from "../../../src/cli/commands/job-view";
import { runJobsCancel, runJobsDownload, runJobsList, runJobsLogs, runJobsShow } from "../../../src/cli/commands/jobs";
import { buildProgram, runCli } from "../../../src/cli/main";

const MGMT = "mgmt-token-for-batch-cli";
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

interface Captured extends CommandIo {
  lines: string[];
  errors: string[];
  written: string[];
}
function io(env: NodeJS.ProcessEnv): Captured {
  const lines: string[] = [];
  const errors: string[] = [];
  const written: string[] = [];
  return { lines, errors, written, out: (l) => lines.push(l), write: (t) => written.push(t), err: (l) => errors.push(l), env };
}

/** The fake's recorded calls and scripted job states. */
interface Fake {
  calls: { method: string; url: string; auth: string; body?: string }[];
  blobs: Map<string, Buffer>;
  /** Job records answered by successive GETs of the job (the last one repeats). */
  script: Record<string, unknown>[];
  tokens: number;
  /** Tokens the gateway refuses (to test renewal). */
  refuse: Set<string>;
}

function startFake(fake: Fake): Promise<{ server: Server; url: string }> {
  let polls = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const url = req.url ?? "";
      const auth = req.headers.authorization ?? "";
      fake.calls.push({ method: req.method ?? "", url, auth, ...(raw.length && !url.startsWith("/datastore/blobs") ? { body: raw.toString("utf8") } : {}) });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      const mgmt = auth === `Bearer ${MGMT}`;
      // Management API
      if (url === "/endpoints" && mgmt) return json(200, { value: [{ name: "heart", kind: "batch" }, { name: "online-ep", kind: "online" }, { name: "other", kind: "batch" }] });
      if (url === "/endpoints/online-ep" && req.method === "GET" && mgmt) return json(200, { name: "online-ep", kind: "online", auth_mode: "key" });
      if (/^\/endpoints\/(heart|other)$/.test(url) && req.method === "GET" && mgmt) return json(200, { name: "heart", kind: "batch", auth_mode: "aml_token", invocation_uri: "http://elsewhere.invalid/endpoints/heart/jobs" });
      if (/^\/endpoints\/(heart|other)\/token$/.test(url) && mgmt) return json(200, { accessToken: `tok-${++fake.tokens}` });
      const blob = /^\/datastore\/blobs\/([0-9a-f]{64})$/.exec(url);
      if (blob && mgmt) {
        if (req.method === "HEAD") {
          res.writeHead(fake.blobs.has(blob[1]!) ? 200 : 404);
          return res.end();
        }
        if (sha(raw) !== blob[1]) return json(400, { error: { code: "sha256_mismatch", message: "bad bytes" } });
        const had = fake.blobs.has(blob[1]!);
        fake.blobs.set(blob[1]!, raw);
        return json(had ? 200 : 201, {});
      }
      if (url === "/datastore/folders" && mgmt) {
        const files = (JSON.parse(raw.toString("utf8")) as { files: { path: string; sha256: string }[] }).files;
        const missing = files.filter((f) => !fake.blobs.has(f.sha256));
        if (missing.length) return json(409, { error: { code: "blob_not_found", message: `no blob for ${missing[0]!.path}` } });
        return json(200, { uri: `datastore://folders/${sha(JSON.stringify(files.map((f) => [f.path, f.sha256])))}` });
      }
      // Gateway (endpoint tokens)
      const tok = auth.replace(/^Bearer /, "");
      if (!/^tok-\d+$|^given-key$/.test(tok) || fake.refuse.has(tok)) return json(401, { error: { code: "unauthorized", message: "invalid or expired token" } });
      if (url === "/endpoints/heart/jobs" && req.method === "POST") {
        const b = JSON.parse(raw.toString("utf8")) as { input: string; deployment?: string };
        if (b.input === "/nope") return json(400, { error: { code: "input_not_found", message: "input /nope does not exist" } });
        polls = 0;
        return json(202, { id: "job-1", name: "job-1", endpoint: "heart", deployment: b.deployment ?? "classifier", status: "Queued", url: "http://x/endpoints/heart/jobs/job-1" });
      }
      if (/^\/endpoints\/(heart|other)\/jobs$/.test(url)) return json(200, { value: url.includes("other") ? [] : [fake.script[fake.script.length - 1]] });
      if (url === "/endpoints/heart/jobs/job-1") return json(200, fake.script[Math.min(polls++, fake.script.length - 1)]);
      if (url === "/endpoints/heart/jobs/job-1/cancel") return json(200, { ...fake.script[0], status: "Canceled" });
      if (url === "/endpoints/heart/jobs/job-1/outputs/predictions.csv") {
        res.writeHead(200, { "content-type": "text/csv" });
        return res.end("0,a.csv\n1,a.csv\n");
      }
      if (url === "/endpoints/heart/jobs/job-1/outputs/summary.json") return json(200, { failed_files: [{ file: "b.csv", error: "ValueError: bad row" }] });
      if (url === "/endpoints/heart/jobs/job-1/outputs/logs/worker-0.log") {
        res.writeHead(200, { "content-type": "text/plain" });
        return res.end("init() done\nrun() 2 files\n");
      }
      json(404, { error: { code: "not_found", message: `${req.method} ${url}` } });
    });
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

const job = (status: string, done: number, failed: number, rows: number, extra: Record<string, unknown> = {}) => ({
  id: "job-1",
  endpoint: "heart",
  deployment: "classifier",
  status,
  mini_batches: { total: 4, done, failed, running: 0 },
  rows,
  files: { total: 8, failed: 0 },
  created_at: "2026-12-07T00:00:00.000Z",
  outputs: status === "Completed" || status === "Failed" ? ["predictions.csv", "summary.json", "logs/worker-0.log"] : [],
  ...extra,
});

describe("batch and jobs commands against a fake control plane", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mp-batch-cli-"));
  const data = path.join(tmp, "data");
  let server: Server;
  let url = "";
  let env: NodeJS.ProcessEnv;
  let fake: Fake;
  /** A clock that moves 1 s per poll; sleep advances it. */
  let clock = 0;
  const deps = (): Partial<RunDeps> => ({ now: () => clock, sleep: async (ms) => void (clock += ms), pollMs: 1000, tty: false });

  before(async () => {
    mkdirSync(path.join(data, "sub"), { recursive: true });
    writeFileSync(path.join(data, "a.csv"), "x\n1\n");
    writeFileSync(path.join(data, "b.csv"), "x\n2\n");
    writeFileSync(path.join(data, "sub", "c.csv"), "x\n3\n");
    fake = { calls: [], blobs: new Map(), script: [], tokens: 0, refuse: new Set() };
    ({ server, url } = await startFake(fake));
    env = { MODELPLANE_MANAGEMENT_URL: url, MODELPLANE_MANAGEMENT_TOKEN: MGMT, MODELPLANE_GATEWAY_URL: url };
  });
  beforeEach(() => {
    fake.calls.length = 0;
    clock = 0;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it("registers batch invoke and the five jobs subcommands", () => {
    const program = buildProgram();
    assert.deepEqual(program.commands.find((c) => c.name() === "batch")?.commands.map((c) => c.name()), ["invoke"]);
    assert.deepEqual(program.commands.find((c) => c.name() === "jobs")?.commands.map((c) => c.name()), ["list", "show", "logs", "download", "cancel"]);
  });

  it("usage errors exit 2: no --input, a mini-batch size of 0, an unknown option", async () => {
    const orig = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      assert.equal(await runCli(["batch", "invoke", "heart"]), 2);
      assert.equal(await runCli(["batch", "invoke", "heart", "--input", data, "--mini-batch-size", "0"]), 2);
      assert.equal(await runCli(["batch", "invoke", "heart", "--input", data, "--instance-count", "two"]), 2);
      assert.equal(await runCli(["jobs", "show", "heart"]), 2);
      assert.equal(await runCli(["jobs", "list", "--bogus"]), 2);
    } finally {
      process.stderr.write = orig;
    }
  });

  it("classifyInput: URLs, datastore and data assets go to the server as written; anything else is a local path", () => {
    assert.deepEqual(classifyInput("https://example.com/a.csv"), { kind: "remote", value: "https://example.com/a.csv" });
    assert.deepEqual(classifyInput("azureml:heart-dataset-unlabeled@latest"), { kind: "remote", value: "azureml:heart-dataset-unlabeled@latest" });
    assert.deepEqual(classifyInput("datastore://folders/abc"), { kind: "remote", value: "datastore://folders/abc" });
    assert.deepEqual(classifyInput("data"), { kind: "local", path: path.resolve("data") });
  });

  it("a missing local input is refused before any call, naming it", async () => {
    const c = io(env);
    assert.equal(await runBatchInvoke("heart", { input: path.join(tmp, "missing") }, c, deps()), 1);
    assert.match(c.errors[0]!, /^modelplane: --input .*missing: no such file or folder \(looked for .*missing\); give a local folder/);
    assert.equal(fake.calls.length, 0);
  });

  it("a local folder is uploaded (each blob once), then the job starts on its datastore URI with the overrides; a second upload sends nothing", async () => {
    fake.script = [job("Queued", 0, 0, 0)];
    const c = io(env);
    assert.equal(await runBatchInvoke("heart", { input: data, deployment: "other-dep", miniBatchSize: 2, instanceCount: 3, outputFileName: "out.csv" }, c, deps()), 0, c.errors.join("\n"));
    const puts = fake.calls.filter((x) => x.method === "PUT").map((x) => x.url);
    assert.equal(puts.length, 3);
    assert.ok(fake.calls.filter((x) => x.url.startsWith("/datastore")).every((x) => x.auth === `Bearer ${MGMT}`));
    const manifest = JSON.parse(fake.calls.find((x) => x.url === "/datastore/folders")!.body!) as { files: { path: string; sha256: string }[] };
    assert.deepEqual(manifest.files.map((f) => f.path), ["a.csv", "b.csv", "sub/c.csv"]);
    assert.equal(manifest.files[0]!.sha256, sha("x\n1\n"));
    const post = fake.calls.find((x) => x.url === "/endpoints/heart/jobs")!;
    const uri = `datastore://folders/${sha(JSON.stringify(manifest.files.map((f) => [f.path, f.sha256])))}`;
    assert.deepEqual(JSON.parse(post.body!), { input: uri, deployment: "other-dep", mini_batch_size: 2, instance_count: 3, output_file_name: "out.csv" });
    assert.equal(post.auth, "Bearer tok-1", "the job is started with a token of the endpoint, not the management token");
    assert.deepEqual(c.written.at(-1), `uploaded ${data}: 3 files, 3 sent (12 B), 0 already in the datastore -> ${uri}\n`);
    assert.deepEqual(c.lines, [`job job-1: Queued on deployment other-dep of endpoint heart`, `url: ${url}/endpoints/heart/jobs/job-1`, "follow it with: modelplane jobs show heart job-1"]);

    fake.calls.length = 0;
    const again = io(env);
    assert.equal(await runBatchInvoke("heart", { input: data }, again, deps()), 0);
    assert.equal(fake.calls.filter((x) => x.method === "PUT").length, 0, "every blob is already there");
    assert.equal(fake.calls.filter((x) => x.method === "HEAD").length, 3);
    assert.match(again.written.at(-1)!, /: 3 files, 0 sent \(0 B\), 3 already in the datastore -> datastore:\/\/folders\//);
  });

  it("a single file is uploaded as a folder of one and the job reads that file", async () => {
    fake.script = [job("Queued", 0, 0, 0)];
    const c = io(env);
    assert.equal(await runBatchInvoke("heart", { input: path.join(data, "sub", "c.csv") }, c, deps()), 0);
    const input = (JSON.parse(fake.calls.find((x) => x.url === "/endpoints/heart/jobs")!.body!) as { input: string }).input;
    assert.match(input, /^datastore:\/\/folders\/[0-9a-f]{64}\/c\.csv$/);
  });

  it("--no-upload passes the host path; a URL or data asset is passed as written, with no upload", async () => {
    fake.script = [job("Queued", 0, 0, 0)];
    for (const [opts, want] of [
      [{ input: data, upload: false }, data],
      [{ input: "azureml:heart-dataset-unlabeled@latest" }, "azureml:heart-dataset-unlabeled@latest"],
    ] as const) {
      fake.calls.length = 0;
      const c = io(env);
      assert.equal(await runBatchInvoke("heart", opts, c, deps()), 0);
      assert.equal(fake.calls.filter((x) => x.url.startsWith("/datastore")).length, 0);
      assert.deepEqual(JSON.parse(fake.calls.find((x) => x.url === "/endpoints/heart/jobs")!.body!), { input: want });
    }
  });

  it("--wait prints the progress line as the job moves and exits 0 when it completes", async () => {
    fake.script = [job("Queued", 0, 0, 0), job("Running", 0, 0, 0), job("Running", 1, 0, 100), job("Running", 3, 0, 300), job("Completed", 4, 0, 307)];
    const c = io(env);
    assert.equal(await runBatchInvoke("heart", { input: "azureml:heart-dataset-unlabeled@latest", wait: true }, c, { ...deps(), tty: false }), 0, c.errors.join("\n"));
    // Not a terminal: one full line per change (at most every 5 s), and always the last.
    // The Running lines at 0:01-0:03 come within 5 s of the first line: held back, the final one printed.
    assert.deepEqual(c.written, ["Queued    mini-batches 0/4 done, 0 failed  rows 0  elapsed 0:00  ETA -\n", "Completed mini-batches 4/4 done, 0 failed  rows 307  elapsed 0:04  ETA -\n"]);
    assert.deepEqual(c.lines.slice(2), ["job job-1 completed in 0:04; outputs: predictions.csv, summary.json, logs/worker-0.log", "download them with: modelplane jobs download heart job-1"]);
    assert.equal(fake.calls.filter((x) => x.url === "/endpoints/heart/jobs/job-1").length, 5);
  });

  it("on a terminal the line is rewritten in place at every poll", async () => {
    fake.script = [job("Running", 1, 0, 100), job("Running", 2, 1, 200), job("Completed", 4, 1, 307)];
    const c = io(env);
    assert.equal(await runBatchInvoke("heart", { input: "azureml:heart-dataset-unlabeled@latest", wait: true }, c, { ...deps(), tty: true }), 0);
    assert.deepEqual(c.written, [
      "\rRunning   mini-batches 1/4 done, 0 failed  rows 100  elapsed 0:00  ETA 0:00\x1b[K",
      "\rRunning   mini-batches 2/4 done, 1 failed  rows 200  elapsed 0:01  ETA 0:00\x1b[K",
      "\rCompleted mini-batches 4/4 done, 1 failed  rows 307  elapsed 0:02  ETA -\x1b[K\n",
    ]);
  });

  it("--wait exits 1 with the failure reason when the job fails", async () => {
    fake.script = [job("Running", 1, 0, 100), job("Failed", 1, 3, 100, { failure_reason: "3 mini-batches failed, over error_threshold 0: b.csv (ValueError: bad row)" })];
    const c = io(env);
    assert.equal(await runBatchInvoke("heart", { input: "azureml:d@latest", wait: true }, c, deps()), 1);
    assert.deepEqual(c.errors, ["modelplane: job job-1 failed: 3 mini-batches failed, over error_threshold 0: b.csv (ValueError: bad row)", "see its summary and worker logs with: modelplane jobs logs heart job-1"]);
    assert.match(c.written.at(-1)!, /^Failed +mini-batches 1\/4 done, 3 failed {2}rows 100 {2}elapsed 0:01 {2}ETA -\n$/);
  });

  it("a refused input is the API's error, exit 1", async () => {
    const c = io(env);
    assert.equal(await runBatchInvoke("heart", { input: "/nope", upload: false }, c, deps()), 1);
    assert.deepEqual(c.errors, ["modelplane: POST /endpoints/heart/jobs: 400 input_not_found: input /nope does not exist"]);
  });

  it("an online endpoint is refused with the command that scores it", async () => {
    const c = io(env);
    assert.equal(await runBatchInvoke("online-ep", { input: "azureml:d@latest" }, c, deps()), 1);
    assert.deepEqual(c.errors, ['modelplane: endpoint "online-ep" is an online endpoint, not a batch endpoint: score it with `modelplane invoke online-ep --file request.json`']);
  });

  it("an expired token is renewed once", async () => {
    fake.script = [job("Completed", 4, 0, 307)];
    const before = fake.tokens;
    fake.refuse.add(`tok-${before + 1}`);
    const c = io(env);
    assert.equal(await runJobsShow("heart", "job-1", {}, c), 0, c.errors.join("\n"));
    assert.equal(fake.tokens, before + 2);
    assert.equal((JSON.parse(c.lines.join("\n")) as { status: string }).status, "Completed");
  });

  it("with --key and a gateway URL the management API is not called", async () => {
    fake.script = [job("Completed", 4, 0, 307)];
    const c = io({ MODELPLANE_GATEWAY_URL: url });
    assert.equal(await runJobsShow("heart", "job-1", { key: "given-key" }, c), 0, c.errors.join("\n"));
    assert.deepEqual(fake.calls.map((x) => [x.url, x.auth]), [["/endpoints/heart/jobs/job-1", "Bearer given-key"]]);
  });

  it("jobs list: a table over every batch endpoint (online ones skipped)", async () => {
    fake.script = [job("Completed", 4, 1, 307)];
    const c = io(env);
    assert.equal(await runJobsList(undefined, {}, c), 0, c.errors.join("\n"));
    assert.deepEqual(c.lines.map((l) => l.split(/ {2,}/)), [
      ["ENDPOINT", "JOB", "STATUS", "DEPLOYMENT", "MINI_BATCHES", "ROWS", "CREATED"],
      ["heart", "job-1", "Completed", "classifier", "4/4 (1 failed)", "307", "2026-12-07T00:00:00.000Z"],
    ]);
    const json = io(env);
    assert.equal(await runJobsList("heart", { json: true }, json), 0);
    assert.deepEqual(JSON.parse(json.lines[0]!).endpoint, "heart");
  });

  it("jobs logs: failed files from the summary, then each worker's log", async () => {
    fake.script = [job("Completed", 4, 1, 307)];
    const c = io(env);
    assert.equal(await runJobsLogs("heart", "job-1", {}, c), 0, c.errors.join("\n"));
    assert.deepEqual(c.lines, ["job job-1: Completed", "failed: b.csv: ValueError: bad row", "--- logs/worker-0.log ---"]);
    assert.deepEqual(c.written, ["init() done\nrun() 2 files\n"]);
    const none = io(env);
    assert.equal(await runJobsLogs("heart", "job-1", { worker: "7" }, none), 1);
    assert.deepEqual(none.errors, ["modelplane: job job-1 has no log of worker 7 (logs: logs/worker-0.log)"]);
  });

  it("jobs download: every output into the folder, with its size", async () => {
    fake.script = [job("Completed", 4, 0, 307)];
    const out = path.join(tmp, "dl");
    const c = io(env);
    assert.equal(await runJobsDownload("heart", "job-1", { outputDir: out }, c), 0, c.errors.join("\n"));
    assert.equal(readFileSync(path.join(out, "predictions.csv"), "utf8"), "0,a.csv\n1,a.csv\n");
    assert.equal(readFileSync(path.join(out, "logs/worker-0.log"), "utf8"), "init() done\nrun() 2 files\n");
    assert.deepEqual(c.lines.map((l) => path.relative(out, l.split("  ")[0]!)), ["predictions.csv", "summary.json", path.join("logs", "worker-0.log")]);
    assert.ok(c.lines[0]!.endsWith("  16 B"), c.lines[0]);
  });

  it("jobs cancel", async () => {
    fake.script = [job("Running", 1, 0, 100)];
    const c = io(env);
    assert.equal(await runJobsCancel("heart", "job-1", {}, c), 0);
    assert.deepEqual(c.lines, ["job job-1: Canceled"]);
    assert.equal(fake.calls.at(-1)!.method, "POST");
  });
});

describe("progress line", () => {
  it("formats durations and the ETA from the pace so far", () => {
    assert.equal(formatDuration(0), "0:00");
    assert.equal(formatDuration(65_400), "1:05");
    assert.equal(formatDuration(3_723_000), "1:02:03");
    const j = { id: "j", status: "Running", mini_batches: { total: 10, done: 2, failed: 0 }, rows: 20 };
    assert.equal(etaMs(j, 10_000), 40_000);
    assert.equal(etaMs({ ...j, mini_batches: { total: 10, done: 0, failed: 0 } }, 10_000), undefined);
    assert.equal(progressLine(j, 10_000), "Running   mini-batches 2/10 done, 0 failed  rows 20  elapsed 0:10  ETA 0:40");
  });
  it("off a terminal, changes closer than the interval are held back and the last one is always printed", () => {
    const out: string[] = [];
    let t = 0;
    const l = new ProgressLine((s) => out.push(s), false, () => t, 5000);
    l.update("a");
    t = 1000;
    l.update("b");
    t = 2000;
    l.update("c");
    t = 6000;
    l.update("d");
    t = 7000;
    l.update("e");
    l.done();
    assert.deepEqual(out, ["a\n", "d\n", "e\n"]);
  });
});
