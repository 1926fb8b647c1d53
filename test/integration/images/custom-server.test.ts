import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import execa from "execa";
import { ensureCustomServerImage } from "../../../src/images/custom-server";
import { request } from "../harness/http";
import { setupEndpoint, startHarness, type Harness } from "../server/harness";

// Needs the local Docker engine, the base image modelplane/base:bookworm and PyPI during the first
// build (a few minutes cold; later runs reuse the content-hashed image).

const root = path.resolve(__dirname, "../../..");
const model1 = path.join(root, "examples/model-1");
const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";
const LABEL = "modelplane.test=images";

// Expected predictions for examples/model-1/sample-request.json, computed on the host (not by the
// server under test): a venv with scikit-learn==1.7.0, numpy==2.3.1, scipy==1.16.0, joblib==1.5.1
// (the versions of examples/model-1/environment/conda.yaml) ran
//   joblib.load("examples/model-1/model/sklearn_regression_model.pkl").predict(np.array(data)).tolist()
// -> [11055.977245525679, 4503.079536107787]. The pickle is a LinearRegression saved with
// scikit-learn 0.24.2 (an InconsistentVersionWarning on load); X @ coef_ + intercept_ computed by hand
// gives the same two numbers.
const EXPECTED_MODEL1 = [11055.977245525679, 4503.079536107787];

async function docker(args: string[]): Promise<{ exitCode: number; stdout: string; all: string }> {
  const r = await execa("docker", args, { reject: false, all: true });
  return { exitCode: r.exitCode, stdout: r.stdout, all: r.all ?? "" };
}

const started: string[] = [];


/** Starts a server container with code and model mounted read-only; returns its id and 127.0.0.1 port. */
async function runServer(tag: string, codeDir: string, modelDir: string): Promise<{ id: string; port: number }> {
  const r = await docker([
    "run", "-d",
    "--label", LABEL,
    "-p", "127.0.0.1::5001",
    "-v", `${codeDir}:/var/azureml-app/code:ro`,
    "-v", `${modelDir}:/var/azureml-app/azureml-models/model/1/model:ro`,
    "-e", "AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/model/1",
    tag,
  ]);
  assert.equal(r.exitCode, 0, `docker run failed: ${r.all}`);
  const id = r.stdout.trim();
  started.push(id);
  const p = await docker(["port", id, "5001/tcp"]);
  const m = /^127\.0\.0\.1:(\d+)$/m.exec(p.stdout);
  assert.ok(m, `no 127.0.0.1 port published for ${id}: ${p.all}`);
  return { id, port: Number(m[1]) };
}

async function containerState(id: string): Promise<{ running: boolean; exitCode: number }> {
  const r = await docker(["inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", id]);
  const [running, code] = r.stdout.trim().split(" ");
  return { running: running === "true", exitCode: Number(code) };
}

/** Polls the liveness route GET / until it answers 200 "Healthy" (ready: init() has run) or the container stops. */
async function waitReady(id: string, port: number, timeoutMs: number): Promise<{ ready: boolean; exitCode?: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await request(port, "GET", "/");
      if (res.status === 200 && res.text === "Healthy") return { ready: true };
    } catch {
      // not listening yet, or the worker is still booting
    }
    const s = await containerState(id);
    if (!s.running) return { ready: false, exitCode: s.exitCode };
    await new Promise((r) => setTimeout(r, 500));
  }
  return { ready: false };
}

async function logsOf(id: string): Promise<string> {
  return (await docker(["logs", id])).all;
}

describe("custom-scoring server image (azureml-inference-server-http)", { timeout: 30 * 60_000 }, () => {
  let tag = "";
  const tmpDirs: string[] = [];

  before(async () => {
    const info = await docker(["image", "inspect", "-f", "{{.Id}}", BASE_IMAGE]);
    assert.equal(info.exitCode, 0, `base image ${BASE_IMAGE} is missing: run scripts/setup.sh`);
  });

  after(async () => {
    if (started.length) await docker(["rm", "-f", "-v", ...started]);
    for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
  });

  /** A code folder (removed after the suite) holding just `score.py`, readable by the server's uid 10001. */
  const codeDirWith = async (scorePy: string): Promise<string> => {
    const code = await fs.mkdtemp(path.join(os.tmpdir(), "modelplane-score-"));
    tmpDirs.push(code);
    await fs.chmod(code, 0o755);
    await fs.writeFile(path.join(code, "score.py"), scorePy, { mode: 0o644 });
    return code;
  };

  test("builds from model-1's conda file, then reuses the same tag without rebuilding", { timeout: 25 * 60_000 }, async () => {
    const condaFile = path.join(model1, "environment/conda.yaml");
    const first = await ensureCustomServerImage({ condaFile, baseImage: BASE_IMAGE, log: (l) => console.error(l) });
    assert.match(first.tag, /^modelplane\/custom-server:[0-9a-f]{12}$/);
    console.error(`first ensureCustomServerImage: built=${first.built} in ${first.seconds}s`);
    const second = await ensureCustomServerImage({ condaFile, baseImage: BASE_IMAGE });
    assert.equal(second.built, false);
    assert.equal(second.tag, first.tag);
    tag = first.tag;
    const labels = await docker(["image", "inspect", "-f", '{{index .Config.Labels "modelplane.server.version"}} {{.Config.User}}', tag]);
    assert.equal(labels.stdout.trim(), "1.4.1 10001:10001", "server pinned by the conda file, non-root user");
  });

  test("serves model-1: liveness, /score, bad input, /swagger.json, graceful stop", { timeout: 3 * 60_000 }, async () => {
    assert.ok(tag, "image was not built");
    const { id, port } = await runServer(tag, path.join(model1, "onlinescoring"), path.join(model1, "model"));
    const ready = await waitReady(id, port, 90_000);
    assert.ok(ready.ready, `server not ready (exit code ${ready.exitCode}); logs:\n${await logsOf(id)}`);

    const body = await fs.readFile(path.join(model1, "sample-request.json"), "utf8");
    const res = await request(port, "POST", "/score", body);
    assert.equal(res.status, 200, res.text);
    const predictions = JSON.parse(res.text) as unknown;
    assert.ok(Array.isArray(predictions) && predictions.length === EXPECTED_MODEL1.length, `got ${JSON.stringify(predictions)}`);
    predictions.forEach((p, i) => {
      const want = EXPECTED_MODEL1[i] ?? NaN;
      assert.ok(typeof p === "number" && Math.abs(p - want) <= 1e-9 * Math.abs(want), `prediction ${i}: got ${p}, want ${want}`);
    });

    const bad = await request(port, "POST", "/score", '{"data": [[1, 2, 3]]}');
    assert.equal(bad.status, 400);
    assert.match((JSON.parse(bad.text) as { error: string }).error, /list of 10 numbers/);
    const notJson = await request(port, "POST", "/score", "not json");
    assert.equal(notJson.status, 400);
    assert.match(notJson.text, /not valid JSON/);

    const swagger = await request(port, "GET", "/swagger.json");
    assert.equal(swagger.status, 200);
    const spec = JSON.parse(swagger.text) as { swagger?: string; paths?: Record<string, unknown> };
    assert.equal(spec.swagger, "2.0");
    assert.ok(spec.paths && "/score" in spec.paths && "/" in spec.paths, `swagger paths: ${Object.keys(spec.paths ?? {}).join(", ")}`);

    // tini forwards SIGTERM to gunicorn, which shuts down gracefully well within docker's 10 s.
    const t0 = Date.now();
    assert.equal((await docker(["stop", "-t", "10", id])).exitCode, 0);
    const stopped = await containerState(id);
    assert.equal(stopped.exitCode, 0, "graceful stop exits 0");
    assert.ok(Date.now() - t0 < 8000, `stop took ${Date.now() - t0} ms`);
    assert.match(await logsOf(id), /Handling signal: term/);
  });

  test("streams the events of a run() that returns a generator through the modelplane gateway as the server yields them", { timeout: 3 * 60_000 }, async () => {
    assert.ok(tag, "image was not built");
    // examples/streaming: run() returns a flask Response over a generator (Azure's way to stream), 0.4 s per token.
    const code = path.join(root, "examples/streaming/onlinescoring");
    const { id, port } = await runServer(tag, code, path.join(model1, "model"));
    const ready = await waitReady(id, port, 90_000);
    assert.ok(ready.ready, `server not ready (exit code ${ready.exitCode}); logs:\n${await logsOf(id)}`);
    let h: Harness | undefined;
    try {
      h = await startHarness();
      const key = await setupEndpoint(h, "chat", { stream: [`http://127.0.0.1:${port}`] }, { stream: 100 }, {}, { request_timeout_ms: 5000 });
      const t0 = Date.now();
      const res = await fetch(`${h.server.gatewayUrl}/endpoints/chat/score`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ prompt: "tokens arrive one by one" }),
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.equal(res.headers.get("azureml-model-deployment"), "stream");
      // When each event reached the client, in ms since the request.
      const arrivals: { event: string; at: number }[] = [];
      let pending = "";
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pending += Buffer.from(value).toString();
        let end: number;
        while ((end = pending.indexOf("\n\n")) >= 0) {
          arrivals.push({ event: pending.slice(0, end), at: Date.now() - t0 });
          pending = pending.slice(end + 2);
        }
      }
      assert.deepEqual(
        arrivals.map((a) => a.event),
        ["tokens", "arrive", "one", "by", "one"].map((w) => `data: {"token": "${w}"}`).concat("data: [DONE]"),
      );
      const spread = arrivals.at(-1)!.at - arrivals[0]!.at;
      assert.ok(spread >= 1600, `events arrive as the server yields them, 0.4 s apart, not all at the end: ${JSON.stringify(arrivals)}`);
      await new Promise((r) => setTimeout(r, 100));
      const line = JSON.parse(h.logs.at(-1)!) as { status: number; streamed?: boolean; stream_error?: string };
      assert.deepEqual([line.status, line.streamed, line.stream_error], [200, true, undefined]);
    } finally {
      await h?.close();
    }
  });

  test("a score.py whose init() raises never becomes ready; the error is in docker logs", { timeout: 3 * 60_000 }, async () => {
    assert.ok(tag, "image was not built");
    const code = await codeDirWith('def init():\n    raise RuntimeError("modelplane-test: init exploded on purpose")\n\n\ndef run(raw_data):\n    return []\n');
    const { id, port } = await runServer(tag, code, path.join(model1, "model"));
    const ready = await waitReady(id, port, 60_000);
    assert.equal(ready.ready, false, "a failing init() must not pass readiness");
    const state = await containerState(id);
    assert.equal(state.running, false, "gunicorn stops when the worker fails to boot");
    assert.notEqual(state.exitCode, 0);
    const logs = await logsOf(id);
    assert.match(logs, /RuntimeError: modelplane-test: init exploded on purpose/);
    assert.match(logs, /User's init function failed/);
  });
});
