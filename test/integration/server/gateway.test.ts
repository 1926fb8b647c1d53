import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Agent, request as httpRequest, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { startServer } from "../../../src/server/main";
import { TOKEN, deploymentBody, score, setupEndpoint, sleep, startHarness, startUpstream, waitProvisioned, type Harness, type Upstream } from "./harness";

describe("gateway", () => {
  let h: Harness;
  const ups: Upstream[] = [];
  const up = async (name: string, handler?: Upstream["handler"]): Promise<Upstream> => {
    const u = await startUpstream(name, handler);
    ups.push(u);
    return u;
  };
  before(async () => {
    h = await startHarness({ bodyLimitBytes: 1024 * 1024 });
  });
  after(async () => {
    await h?.close();
    await Promise.all(ups.map((u) => u.close()));
  });

  it("splits 90/10 (2000 requests within +-3 points), pins, sets headers", async () => {
    const blue = await up("blue");
    const green = await up("green");
    const key = await setupEndpoint(h, "split", { blue: [blue.url], green: [green.url] }, { blue: 90, green: 10 });
    let greenCount = 0;
    const N = 2000;
    for (let batch = 0; batch < N / 50; batch++) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => score(h.server.gatewayUrl, "split", key)));
      for (const r of rs) {
        assert.equal(r.status, 200);
        assert.ok(r.headers.get("x-request-id"));
        const dep = r.headers.get("azureml-model-deployment");
        assert.equal(JSON.parse(r.text).deployment, dep);
        if (dep === "green") greenCount++;
      }
    }
    const pct = (greenCount / N) * 100;
    assert.ok(Math.abs(pct - 10) <= 3, `green got ${pct}%`);
    const pinned = await Promise.all(Array.from({ length: 20 }, () => score(h.server.gatewayUrl, "split", key, {}, { "azureml-model-deployment": "green" })));
    assert.ok(pinned.every((r) => r.status === 200 && r.headers.get("azureml-model-deployment") === "green"));
    const ghost = await score(h.server.gatewayUrl, "split", key, {}, { "azureml-model-deployment": "gh<o>st" });
    assert.equal(ghost.status, 404);
    assert.ok(!ghost.text.includes("<"), "pinned value is sanitized");
    const swagger = await fetch(`${h.server.gatewayUrl}/endpoints/split/swagger.json`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(swagger.status, 200);
    const hostBased = await fetch(`${h.server.gatewayUrl}/score`, { method: "POST", headers: { authorization: `Bearer ${key}`, "x-modelplane-endpoint": "split" }, body: "{}" });
    assert.equal(hostBased.status, 200);
    // One JSON access-log line per request, with the routing facts (built by hand, so checked here).
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const hostLine = lines.find((l) => l.request_id === hostBased.headers.get("x-request-id"));
    assert.ok(hostLine, "the host-based request is logged");
    assert.deepEqual(Object.keys(hostLine), ["time", "request_id", "method", "path", "status", "duration_ms", "endpoint", "deployment", "instance", "upstream_status"]);
    assert.equal(hostLine.method, "POST");
    assert.equal(hostLine.path, "/score");
    assert.equal(hostLine.status, 200);
    assert.equal(hostLine.endpoint, "split");
    assert.equal(hostLine.deployment, hostBased.headers.get("azureml-model-deployment"));
    assert.equal(hostLine.upstream_status, 200);
    assert.ok(typeof hostLine.duration_ms === "number" && hostLine.duration_ms >= 0);
    assert.ok(!Number.isNaN(Date.parse(String(hostLine.time))));
    const ghostLine = lines.find((l) => l.request_id === ghost.headers.get("x-request-id"));
    assert.deepEqual([ghostLine?.status, ghostLine?.endpoint, ghostLine?.deployment], [404, "split", undefined]);
  });

  it("pins to a 0% deployment; 404 when no deployment has weight", async () => {
    const a = await up("a");
    const key = await setupEndpoint(h, "zero", { alpha: [a.url] }, { alpha: 0 });
    const r = await score(h.server.gatewayUrl, "zero", key);
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.text).error.code, "no_deployment_with_traffic");
    const p = await score(h.server.gatewayUrl, "zero", key, {}, { "azureml-model-deployment": "alpha" });
    assert.equal(p.status, 200);
  });

  it("enforces the auth matrix: key mode, token mode, regeneration", async () => {
    const a = await up("auth");
    const key = await setupEndpoint(h, "authk", { alpha: [a.url] }, { alpha: 100 });
    const keys = (await h.mgmt("POST", "/endpoints/authk/keys")).body;
    assert.equal((await score(h.server.gatewayUrl, "authk", undefined)).status, 401);
    assert.equal((await score(h.server.gatewayUrl, "authk", "wrong-key")).status, 401);
    assert.equal((await score(h.server.gatewayUrl, "authk", key)).status, 200);
    assert.equal((await score(h.server.gatewayUrl, "authk", keys.secondaryKey)).status, 200);
    await h.mgmt("POST", "/endpoints/authk/keys/regenerate", { keyType: "primary" });
    assert.equal((await score(h.server.gatewayUrl, "authk", key)).status, 401, "old primary rejected at once");
    assert.equal((await score(h.server.gatewayUrl, "authk", keys.secondaryKey)).status, 200);
    const tk = await setupEndpoint(h, "autht", { alpha: [a.url] }, { alpha: 100 }, {}, {}, "aml_token");
    assert.equal((await score(h.server.gatewayUrl, "autht", tk)).status, 401, "key not accepted in token mode");
    const token = (await h.mgmt("POST", "/endpoints/autht/token")).body.accessToken as string;
    assert.equal((await score(h.server.gatewayUrl, "autht", token)).status, 200);
    assert.equal((await score(h.server.gatewayUrl, "authk", token)).status, 401, "token of another endpoint");
    const short = (await h.mgmt("POST", "/endpoints/autht/token", { expiresInSeconds: 1 })).body.accessToken as string;
    await sleep(2100);
    assert.equal((await score(h.server.gatewayUrl, "autht", short)).status, 401, "expired token");
    assert.ok(!h.logs.some((l) => l.includes(key) || l.includes(token)), "no secret in access logs");
  });

  it("re-checks a keep-alive connection's credential after key regeneration, token expiry and endpoint changes", async () => {
    const a = await up("conn");
    const key = await setupEndpoint(h, "connk", { alpha: [a.url] }, { alpha: 100 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const post = (e: string, cred: string): Promise<{ status: number; reused: boolean }> =>
        new Promise((resolve, reject) => {
          const r = httpRequest(`${h.server.gatewayUrl}/endpoints/${e}/score`, { method: "POST", agent, headers: { authorization: `Bearer ${cred}`, "content-type": "application/json" } }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: r.reusedSocket }));
          });
          r.on("error", reject);
          r.end("{}");
        });
      assert.deepEqual(await post("connk", key), { status: 200, reused: false });
      assert.deepEqual(await post("connk", key), { status: 200, reused: true });
      assert.equal((await post("connk", "not-the-key")).status, 401, "another credential on a proven connection is checked");
      assert.equal((await post("connk", key)).status, 200);
      await h.mgmt("POST", "/endpoints/connk/keys/regenerate", { keyType: "primary" });
      assert.deepEqual(await post("connk", key), { status: 401, reused: true }, "old key refused on the same connection at once");
      const fresh = (await h.mgmt("POST", "/endpoints/connk/keys")).body.primaryKey as string;
      assert.deepEqual(await post("connk", fresh), { status: 200, reused: true });
      await setupEndpoint(h, "connt", { alpha: [a.url] }, { alpha: 100 }, {}, {}, "aml_token");
      const short = (await h.mgmt("POST", "/endpoints/connt/token", { expiresInSeconds: 2 })).body.accessToken as string;
      assert.equal((await post("connt", short)).status, 200);
      assert.equal((await post("connt", short)).status, 200);
      assert.equal((await post("connk", short)).status, 401, "a token proven for one endpoint is not valid for another");
      await sleep(2200);
      assert.deepEqual(await post("connt", short), { status: 401, reused: true }, "expired token refused on the same connection");
    } finally {
      agent.destroy();
    }
  });

  it("answers 424 with model status headers, 408 on timeout, 502 on crash, 503 with no healthy instance, 413", async () => {
    const err = await up("err", (_q, res) => {
      res.writeHead(418, { "content-type": "text/plain" });
      res.end("teapot");
    });
    const slow = await up("slow", (_q, res) => setTimeout(() => res.end("late"), 1500));
    const crash = await up("crash", (req) => req.socket.destroy());
    const key = await setupEndpoint(h, "codes", { err: [err.url], slow: [slow.url], crash: [crash.url] }, { err: 100, slow: 0, crash: 0 }, {}, { request_timeout_ms: 300 });
    const e = await score(h.server.gatewayUrl, "codes", key);
    assert.equal(e.status, 424);
    assert.equal(e.headers.get("ms-azureml-model-error-statuscode"), "418");
    assert.ok(e.headers.get("ms-azureml-model-error-reason"));
    assert.equal(e.text, "teapot");
    const t = await score(h.server.gatewayUrl, "codes", key, {}, { "azureml-model-deployment": "slow" });
    assert.equal(t.status, 408);
    const c = await score(h.server.gatewayUrl, "codes", key, {}, { "azureml-model-deployment": "crash" });
    assert.equal(c.status, 502);
    await crash.close();
    // The crashed instance was ejected by the passive check (its readiness now fails too).
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await score(h.server.gatewayUrl, "codes", key, {}, { "azureml-model-deployment": "crash" })).status;
    assert.equal(last, 503);
    const big = await score(h.server.gatewayUrl, "codes", key, "x".repeat(1024 * 1024 + 10));
    assert.equal(big.status, 413);
  });

  it("answers 429 past the in-flight cap and queue", async () => {
    const hold = await up("hold", (_q, res) => setTimeout(() => res.end("{}"), 400));
    const key = await setupEndpoint(h, "busy", { hold: [hold.url] }, { hold: 100 }, {}, { max_concurrent_requests_per_instance: 2, max_queue_wait_ms: 2000, request_timeout_ms: 5000 });
    // cap 2 in flight + 4 queued; the rest 429 at once.
    const pending = Promise.all(Array.from({ length: 10 }, () => score(h.server.gatewayUrl, "busy", key)));
    // The gauges are read from the live limiter at scrape time.
    await sleep(150);
    const during = await (await fetch(`${h.server.gatewayUrl}/metrics`)).text();
    assert.match(during, /modelplane_gateway_inflight_requests\{endpoint="busy",deployment="hold"\} 2\n/);
    assert.match(during, /modelplane_gateway_queued_requests\{endpoint="busy",deployment="hold"\} 4\n/);
    assert.match(during, /modelplane_gateway_healthy_instances\{endpoint="busy",deployment="hold"\} 1\n/);
    const rs = await pending;
    const after = await (await fetch(`${h.server.gatewayUrl}/metrics`)).text();
    assert.match(after, /modelplane_gateway_inflight_requests\{endpoint="busy",deployment="hold"\} 0\n/);
    assert.match(after, /modelplane_gateway_queued_requests\{endpoint="busy",deployment="hold"\} 0\n/);
    const ok = rs.filter((r) => r.status === 200).length;
    const busy = rs.filter((r) => r.status === 429).length;
    assert.equal(ok, 6);
    assert.equal(busy, 4);
    // A full queue passes: every 429 says when to come back, and the connection stays usable.
    for (const r of rs.filter((x) => x.status === 429)) {
      assert.equal(r.headers.get("retry-after"), "1");
      assert.equal(r.headers.get("connection"), "keep-alive");
    }
    // Queue wait bound: cap 2, queue wait 100 ms with 400 ms requests -> queued ones time out with 429.
    await h.mgmt("PUT", "/endpoints/busy/deployments/hold", deploymentBody([hold.url], { max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 100 }));
    await waitProvisioned(h, "busy", "hold");
    const rs2 = await Promise.all(Array.from({ length: 3 }, () => score(h.server.gatewayUrl, "busy", key)));
    assert.deepEqual(rs2.map((r) => r.status).sort(), [200, 429, 429]);
  });

  it("spreads over instances, ejects a dead one and readmits it", async () => {
    const i0 = await up("multi");
    const i1 = await up("multi");
    const key = await setupEndpoint(h, "multi", { multi: [i0.url, i1.url] }, { multi: 100 });
    await Promise.all(Array.from({ length: 40 }, () => score(h.server.gatewayUrl, "multi", key)));
    assert.ok(i0.hits > 5 && i1.hits > 5, `both used (${i0.hits}/${i1.hits})`);
    const port = Number(new URL(i1.url).port);
    await i1.close();
    const rs = await Promise.all(Array.from({ length: 30 }, () => score(h.server.gatewayUrl, "multi", key)));
    assert.ok(rs.every((r) => r.status === 200), `statuses ${rs.map((r) => r.status)}`);
    const dep = (await h.mgmt("GET", "/endpoints/multi/deployments/multi")).body;
    assert.equal(dep.instances[1].healthy, false);
    // Bring it back on the same port: the active check readmits it.
    const back = await startUpstreamOnPort(port);
    try {
      const until = Date.now() + 5000;
      while ((await h.mgmt("GET", "/endpoints/multi/deployments/multi")).body.instances[1].healthy !== true) {
        assert.ok(Date.now() < until, "instance readmitted");
        await sleep(100);
      }
    } finally {
      await back();
    }
  });

  it("mirrors a share of unpinned requests; a failing or hanging mirror never affects clients", async () => {
    const live = await up("live");
    const shadow500 = await up("shadow", (_q, res) => {
      res.writeHead(500);
      res.end();
    });
    const key = await setupEndpoint(h, "mirror", { live: [live.url], shadow: [shadow500.url] }, { live: 100, shadow: 0 }, { shadow: 20 });
    const N = 1000;
    for (let b = 0; b < N / 50; b++) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => score(h.server.gatewayUrl, "mirror", key)));
      assert.ok(rs.every((r) => r.status === 200 && r.headers.get("azureml-model-deployment") === "live"));
    }
    await sleep(200);
    const share = (shadow500.hits / N) * 100;
    assert.ok(Math.abs(share - 20) <= 5, `mirror share ${share}%`);
    const before = shadow500.hits;
    await Promise.all(Array.from({ length: 50 }, () => score(h.server.gatewayUrl, "mirror", key, {}, { "azureml-model-deployment": "live" })));
    await sleep(100);
    assert.equal(shadow500.hits, before, "pinned requests are not mirrored");
    // Hanging mirror: clients stay fast.
    shadow500.handler = () => {};
    const t0 = Date.now();
    for (let b = 0; b < 10; b++) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => score(h.server.gatewayUrl, "mirror", key)));
      assert.ok(rs.every((r) => r.status === 200));
    }
    assert.ok(Date.now() - t0 < 5000, "clients unaffected by a hanging mirror");
    const metrics = await (await fetch(`${h.server.gatewayUrl}/metrics`)).text();
    assert.match(metrics, /modelplane_gateway_mirror_copies_total\{endpoint="mirror",deployment="shadow",outcome="error"\} \d+/);
    assert.match(metrics, /modelplane_gateway_mirror_drops_total\{endpoint="mirror",deployment="shadow"\} \d+/);
    assert.match(metrics, /modelplane_gateway_requests_total\{endpoint="mirror",deployment="live",status="200"\}/);
  });

  it("changes traffic under continuous load with zero failed requests", async () => {
    const a = await up("a");
    const b = await up("b");
    const key = await setupEndpoint(h, "shift", { alpha: [a.url], beta: [b.url] }, { alpha: 100, beta: 0 });
    let stop = false;
    const statuses: number[] = [];
    const workers = Array.from({ length: 8 }, async () => {
      while (!stop) statuses.push((await score(h.server.gatewayUrl, "shift", key)).status);
    });
    for (const t of [{ alpha: 90, beta: 10 }, { alpha: 50, beta: 50 }, { alpha: 0, beta: 100 }, { alpha: 100, beta: 0 }, { alpha: 0, beta: 100 }]) {
      await sleep(100);
      assert.equal((await h.mgmt("PUT", "/endpoints/shift/traffic", { traffic: t })).status, 200);
    }
    await h.mgmt("POST", "/endpoints/shift/keys/regenerate", { keyType: "secondary" });
    await sleep(100);
    stop = true;
    await Promise.all(workers);
    assert.ok(statuses.length > 100, `${statuses.length} requests`);
    assert.ok(statuses.every((s) => s === 200), `non-200: ${statuses.filter((s) => s !== 200)}`);
    const after = await Promise.all(Array.from({ length: 20 }, () => score(h.server.gatewayUrl, "shift", key)));
    assert.ok(after.every((r) => r.headers.get("azureml-model-deployment") === "beta"));
  });

  it("answers hostile and malformed requests with 4xx and keeps running", async () => {
    const gw = new URL(h.server.gatewayUrl);
    const raw = (payload: string): Promise<string> =>
      new Promise((resolve) => {
        const s = connect(Number(gw.port), gw.hostname, () => s.write(payload));
        let out = "";
        s.on("data", (d) => (out += d.toString()));
        s.on("close", () => resolve(out));
        s.on("error", () => resolve(out));
        setTimeout(() => s.destroy(), 1000);
      });
    assert.match(await raw("POST /endpoints/..%2f../score HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), /^HTTP\/1.1 400/);
    assert.match(await raw("POST /endpoints/%E0%A4%A/score HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), /^HTTP\/1.1 400/);
    // The HTTP layer's own answers carry a request id and a JSON error that says what to fix.
    const garbage = await raw("GARBAGE\r\n\r\n");
    assert.match(garbage, /^HTTP\/1.1 400/);
    assert.match(garbage, /\r\nx-request-id: [0-9a-f-]{36}\r\n/);
    assert.match(garbage, /\{"error":\{"code":"bad_request","message":"malformed HTTP\/1.1 request: send a request line/);
    // ...and an access-log line under the same id (method and path once a head was read).
    const logged = (id: string): Record<string, unknown> | undefined => h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.request_id === id);
    const garbageLine = logged(/x-request-id: ([0-9a-f-]{36})/.exec(garbage)![1]!);
    assert.deepEqual(Object.keys(garbageLine ?? {}), ["time", "request_id", "status", "duration_ms"]);
    assert.equal(garbageLine!.status, 400);
    const oldVersion = await raw("POST /endpoints/split/score?k=1 HTTP/2.0\r\nHost: x\r\n\r\n");
    assert.deepEqual(
      (({ method, path, status }) => ({ method, path, status }))(logged(/x-request-id: ([0-9a-f-]{36})/.exec(oldVersion)![1]!) ?? {}),
      { method: "POST", path: "/endpoints/split/score", status: 505 },
    );
    const big = await raw(`POST /endpoints/split/score HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1.1 431/);
    assert.match(big, /\r\nx-request-id: [0-9a-f-]{36}\r\n/);
    assert.match(await raw("GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n"), /^HTTP\/1.1 505[^]*"code":"http_version_not_supported"/);
    assert.match(await raw("POST /endpoints/split/score HTTP/1.1\nHost: x\nContent-Length: 0\n\n"), /^HTTP\/1.1 400[^]*bare LF/);
    assert.match(await raw("GET /etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), /^HTTP\/1.1 404/);
    assert.match(await raw("GET /endpoints/split/score HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), /^HTTP\/1.1 405/);
    const noEp = await fetch(`${h.server.gatewayUrl}/endpoints/nope-x/score`, { method: "POST", body: "{}" });
    assert.equal(noEp.status, 404);
    // A slow client that stops mid-body: the gateway keeps serving others.
    const slowClient = connect(Number(gw.port), gw.hostname, () => slowClient.write("POST /endpoints/split/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
    slowClient.on("error", () => {});
    const health = await new Promise<number>((resolve) => httpRequest(`${h.server.gatewayUrl}/healthz`, (res) => resolve(res.statusCode ?? 0)).end());
    assert.equal(health, 200);
    slowClient.destroy();
  });
});

describe("gateway answers past the response limit", () => {
  let h: Harness;
  let model: Upstream;
  let key = "";
  before(async () => {
    h = await startHarness({ responseLimitBytes: 64 * 1024 });
    // Answers `bytes` bytes with their length.
    model = await startUpstream("big", (_req, res, body) => {
      const ask = JSON.parse(body) as { bytes?: number };
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(ask.bytes ?? 0) });
      res.end("z".repeat(ask.bytes ?? 0));
    });
    key = await setupEndpoint(h, "answers", { big: [model.url] }, { big: 100 }, {}, { request_timeout_ms: 10_000 });
  });
  after(async () => {
    await h?.close();
    await model?.close();
  });

  it("relays an answer up to the limit; cuts a larger one with 502 upstream_response_too_large; the instance keeps serving", async () => {
    const ok = await score(h.server.gatewayUrl, "answers", key, { bytes: 64 * 1024 });
    assert.equal(ok.status, 200);
    assert.equal(ok.text.length, 64 * 1024);
    const t0 = Date.now();
    const r = await score(h.server.gatewayUrl, "answers", key, { bytes: 64 * 1024 + 1 });
    assert.equal(r.status, 502);
    assert.deepEqual(JSON.parse(r.text), {
      error: { code: "upstream_response_too_large", message: "the model's answer exceeds the gateway's response limit of 65536 bytes: answer with less, or start the server with a larger --response-limit-bytes" },
    });
    assert.equal(r.headers.get("azureml-model-deployment"), "big");
    assert.match(r.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.ok(Date.now() - t0 < 5000, `cut at the limit, not at request_timeout_ms (took ${Date.now() - t0} ms)`);
    // Not ejected (it answered; only failed connections eject): the next request is served at once.
    const after = await score(h.server.gatewayUrl, "answers", key, { bytes: 10 });
    assert.equal(after.status, 200);
    assert.equal(after.text, "z".repeat(10));
    // The log says what the model answered before the cut.
    const lines = h.logs.map((l) => JSON.parse(l) as { status: number; upstream_status?: number });
    assert.deepEqual(
      lines.filter((l) => l.status === 502).map((l) => l.upstream_status),
      [200],
    );
  });
});

describe("gateway streamed answers (no content-length: server-sent events, token streams)", () => {
  let h: Harness;
  let model: Upstream;
  let key = "";
  /** Lets the model's gated answer send its second event. */
  let openGate: () => void = () => {};
  let modelConnectionsClosed = 0;
  const watched = new WeakSet<object>();
  before(async () => {
    // A response limit far below what is streamed: streamed answers are relayed, never buffered.
    h = await startHarness({ responseLimitBytes: 64 * 1024 });
    model = await startUpstream("llm", (req, res, body) => {
      const ask = JSON.parse(body) as { mode: string };
      if (ask.mode === "error") {
        res.writeHead(500, { "content-type": "text/plain" });
        res.write("no tokens ");
        return void res.end("today");
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      if (!watched.has(req.socket)) {
        watched.add(req.socket);
        req.socket.once("close", () => modelConnectionsClosed++);
      }
      if (ask.mode === "gated") openGate = () => res.end("data: second\n\n");
      if (ask.mode === "endless") {
        const t = setInterval(() => res.write(`data: ${"t".repeat(16 * 1024)}\n\n`), 1);
        res.on("close", () => clearInterval(t));
      }
      // A generator that raises mid-stream: the model's server drops the connection.
      if (ask.mode === "break") setTimeout(() => req.socket.destroy(), 50);
      // "stall": nothing more is sent.
    });
    key = await setupEndpoint(h, "chat", { llm: [model.url] }, { llm: 100 }, {}, { request_timeout_ms: 400, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 50 });
  });
  after(async () => {
    await h?.close();
    await model?.close();
  });
  const open = (mode: string, signal?: AbortSignal): Promise<Response> =>
    fetch(`${h.server.gatewayUrl}/endpoints/chat/score`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify({ mode }), signal });
  const logLines = (): { status: number; streamed?: boolean; stream_error?: string; upstream_status?: number; deployment?: string }[] => h.logs.map((l) => JSON.parse(l));

  it("relays each event as the model sends it, with the gateway's headers, and logs the answer once it ends", async () => {
    const r = await open("gated");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/event-stream");
    assert.equal(r.headers.get("content-length"), null);
    assert.equal(r.headers.get("azureml-model-deployment"), "llm");
    assert.match(r.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    const reader = r.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), "data: first\n\n", "the first event arrives while the model still holds the second");
    assert.equal(logLines().length, 0, "logged when it ends, not before");
    openGate();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += Buffer.from(value).toString();
    }
    assert.equal(rest, "data: second\n\n");
    await sleep(20);
    const line = logLines().at(-1)!;
    assert.deepEqual([line.status, line.streamed, line.stream_error, line.upstream_status, line.deployment], [200, true, undefined, 200, "llm"]);
  });

  it("streams past the response limit at the client's pace; a client that leaves cancels the model's answer and frees its slot", async () => {
    const ac = new AbortController();
    const r = await open("endless", ac.signal);
    const reader = r.body!.getReader();
    let got = 0;
    while (got < 1024 * 1024) got += (await reader.read()).value!.length;
    const closedBefore = modelConnectionsClosed;
    ac.abort();
    for (let i = 0; i < 100 && modelConnectionsClosed === closedBefore; i++) await sleep(20);
    assert.equal(modelConnectionsClosed, closedBefore + 1, "the model's connection is dropped when the client leaves");
    await sleep(50);
    assert.equal(logLines().at(-1)!.stream_error, "client_closed");
    // One request at a time per instance: the slot the stream held is free again.
    const next = await open("gated");
    assert.equal(next.status, 200);
    openGate();
    assert.equal(await next.text(), "data: first\n\ndata: second\n\n");
  });

  it("cuts a stream silent for longer than request_timeout_ms or broken off by the model (the client sees it incomplete; the instance stays in); buffers non-2xx answers into 424", async () => {
    const t0 = Date.now();
    const r = await open("stall");
    assert.equal(r.status, 200);
    await assert.rejects(r.text(), "the body ends without its last chunk");
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 3000, `cut after the 400 ms timeout of silence (took ${took} ms)`);
    await sleep(50);
    assert.equal(logLines().at(-1)!.stream_error, "idle_timeout");

    // A stream the model breaks off: cut for the client too; the instance stays in (the next request is served at once).
    const broken = await open("break");
    assert.equal(broken.status, 200);
    await assert.rejects(broken.text());
    await sleep(50);
    assert.equal(logLines().at(-1)!.stream_error, "upstream_failed");
    const next = await open("gated");
    assert.equal(next.status, 200, "not ejected: a broken stream is the model's answer, not a failed connection");
    openGate();
    await next.text();

    const e = await open("error");
    assert.equal(e.status, 424);
    assert.equal(e.headers.get("ms-azureml-model-error-statuscode"), "500");
    assert.equal(await e.text(), "no tokens today");

    // How the streams of this suite ended, by outcome (the gated one three times complete).
    const metrics = await (await fetch(`${h.server.gatewayUrl}/metrics`)).text();
    for (const [outcome, n] of [["complete", 3], ["client_closed", 1], ["idle_timeout", 1], ["upstream_failed", 1]] as const) {
      assert.match(metrics, new RegExp(`^modelplane_gateway_streamed_answers_total\\{endpoint="chat",deployment="llm",outcome="${outcome}"\\} ${n}$`, "m"));
    }
  });

  it("reads a mirror's streamed answer to its end, timed by its silences: a copy that streams longer than request_timeout_ms counts as ok", async () => {
    const main = await startUpstream("main");
    const shadow = await startUpstream("shadow", (_req, res) => {
      // 8 events 100 ms apart: 800 ms in all, twice the 400 ms request_timeout_ms.
      res.writeHead(200, { "content-type": "text/event-stream" });
      let n = 0;
      const t = setInterval(() => {
        res.write(`data: ${n}\n\n`);
        if (++n === 8) {
          clearInterval(t);
          res.end();
        }
      }, 100);
    });
    try {
      const mkey = await setupEndpoint(h, "mirrored", { main: [main.url], shadow: [shadow.url] }, { main: 100, shadow: 0 }, { shadow: 50 }, { request_timeout_ms: 400 });
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`${h.server.gatewayUrl}/endpoints/mirrored/score`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${mkey}` }, body: "{}" });
        assert.equal(r.status, 200);
        await r.text();
      }
      await sleep(1500);
      const metrics = await (await fetch(`${h.server.gatewayUrl}/metrics`)).text();
      const count = (outcome: string): number => Number(new RegExp(`^modelplane_gateway_mirror_copies_total\\{endpoint="mirrored",deployment="shadow",outcome="${outcome}"\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0);
      assert.ok(count("ok") >= 3, `about half of 20 requests mirrored, all ok: ${count("ok")}`);
      assert.equal(count("error"), 0);
      assert.equal(shadow.hits, count("ok"));
    } finally {
      await main.close();
      await shadow.close();
    }
  });
});

describe("gateway request bodies", () => {
  let h: Harness;
  let model: Upstream;
  let key = "";
  before(async () => {
    h = await startHarness({ bodyLimitBytes: 64 * 1024 });
    // A model that parses JSON like a scoring script does: 400 with its own reason on bad JSON.
    model = await startUpstream("strict", (_req, res, body) => {
      try {
        const parsed = JSON.parse(body) as { data: number[] };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ sum: parsed.data.reduce((a, x) => a + x, 0), bytes: Buffer.byteLength(body) }));
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "invalid JSON in request body" }));
      }
    });
    key = await setupEndpoint(h, "bodies", { strict: [model.url] }, { strict: 100 });
  });
  after(async () => {
    await h?.close();
    await model?.close();
  });

  it("relays the model's answer to bad JSON as 424 with its status, reason and body", async () => {
    const r = await score(h.server.gatewayUrl, "bodies", key, "{not json");
    assert.equal(r.status, 424);
    assert.equal(r.headers.get("ms-azureml-model-error-statuscode"), "400");
    assert.equal(r.headers.get("ms-azureml-model-error-reason"), "Bad Request");
    assert.deepEqual(JSON.parse(r.text), { error: "invalid JSON in request body" });
    const ok = await score(h.server.gatewayUrl, "bodies", key, { data: [1, 2, 3] });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.text).sum, 6);
  });

  it("takes chunked bodies and Expect: 100-continue from real clients; refuses an oversized chunked body with 413", async () => {
    const gw = new URL(h.server.gatewayUrl);
    const send = (chunks: string[], headers: Record<string, string>): Promise<{ status: number; text: string; continued: boolean }> =>
      new Promise((resolve, reject) => {
        let continued = false;
        const req = httpRequest({ host: gw.hostname, port: gw.port, method: "POST", path: "/endpoints/bodies/score", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers } }, (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text, continued }));
        });
        req.on("error", reject);
        const write = (): void => {
          for (const c of chunks) req.write(c);
          req.end();
        };
        if (headers.expect) {
          req.on("continue", () => {
            continued = true;
            write();
          });
          req.flushHeaders();
        } else write();
      });
    const chunked = await send(['{"data":', "[10, 20,", " 30]}"], {});
    assert.deepEqual([chunked.status, JSON.parse(chunked.text).sum], [200, 60]);
    const body = JSON.stringify({ data: [4, 5] });
    const cont = await send([body], { expect: "100-continue", "content-length": String(body.length) });
    assert.deepEqual([cont.status, cont.continued, JSON.parse(cont.text).sum], [200, true, 9]);
    const big = await send(Array.from({ length: 20 }, () => "x".repeat(4096)), {});
    assert.equal(big.status, 413);
    assert.equal(JSON.parse(big.text).error.code, "payload_too_large");
    // The oversized body never reached the model.
    assert.ok(model.bodies.every((b) => b.length < 64 * 1024));
  });
});

async function startUpstreamOnPort(port: number): Promise<() => Promise<void>> {
  const { createServer } = await import("node:http");
  const s = createServer((_req, res) => res.end("{}"));
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", r));
  return () =>
    new Promise((r) => {
      s.closeAllConnections();
      s.close(() => r());
    });
}

describe("gateway client timeouts", () => {
  let h: Harness;
  let model: Upstream;
  let key = "";
  before(async () => {
    h = await startHarness({ clientRequestTimeoutMs: 1000 });
    model = await startUpstream("patient");
    key = await setupEndpoint(h, "slow-client", { patient: [model.url] }, { patient: 100 });
  });
  after(async () => {
    await h?.close();
    await model?.close();
  });

  it("answers a body that stops arriving with 408 under the request's own id, logged once with what the client got", async () => {
    const gw = new URL(h.server.gatewayUrl);
    const stalled = (id: string | undefined): Promise<{ text: string; ms: number }> =>
      new Promise((resolve) => {
        const started = Date.now();
        const s = connect(Number(gw.port), gw.hostname, () =>
          s.write(`POST /endpoints/slow-client/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n${id ? `x-request-id: ${id}\r\n` : ""}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"data":`),
        );
        let text = "";
        s.on("data", (d: Buffer) => (text += d.toString("latin1")));
        s.on("close", () => resolve({ text, ms: Date.now() - started }));
        s.on("error", () => {});
        setTimeout(() => s.destroy(), 5000);
      });
    const hits = model.hits;
    const [own, fresh] = await Promise.all([stalled("client-id-408"), stalled(undefined)]);
    for (const r of [own, fresh]) {
      assert.match(r.text, /^HTTP\/1.1 408 /);
      assert.match(r.text, /"code":"request_timeout","message":"request body not received within 1 s/);
      assert.match(r.text, /\r\nconnection: close\r\n/);
      assert.ok(r.ms >= 900 && r.ms < 4000, `closed after ${r.ms} ms`);
    }
    const freshId = /\r\nx-request-id: ([0-9a-f-]{36})\r\n/.exec(fresh.text)?.[1];
    assert.ok(freshId, fresh.text);
    assert.match(own.text, /\r\nx-request-id: client-id-408\r\n/);
    await sleep(50);
    for (const id of ["client-id-408", freshId]) {
      const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.request_id === id);
      assert.equal(lines.length, 1, `one access-log line for ${id}: ${JSON.stringify(lines)}`);
      assert.deepEqual((({ method, path, status, endpoint }) => ({ method, path, status, endpoint }))(lines[0]!), { method: "POST", path: "/endpoints/slow-client/score", status: 408, endpoint: "slow-client" });
    }
    assert.equal(model.hits, hits, "an incomplete body never reaches the model");
  });

  it("refuses limits it cannot keep before touching any state (see server-options.test.ts for each rule)", async () => {
    const opts = { stateDir: "/nonexistent/never-created", gatewayPort: 0, managementPort: 0, managementToken: TOKEN };
    await assert.rejects(startServer({ ...opts, clientRequestTimeoutMs: 10 }), /^Error: clientRequestTimeoutMs: 10 is not a whole number of milliseconds of at least 1000/);
    await assert.rejects(startServer({ ...opts, bodyLimitBytes: Number.NaN }), /^Error: bodyLimitBytes: NaN is not a whole number of bytes/);
  });
});

describe("gateway connection cap", () => {
  let h: Harness;
  let model: Upstream;
  let key = "";
  before(async () => {
    h = await startHarness({ maxConnections: 3 });
    model = await startUpstream("capped", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
    key = await setupEndpoint(h, "capped", { capped: [model.url] }, { capped: 100 });
  });
  after(async () => {
    await h?.close();
    await model?.close();
  });

  /** A raw connection's whole output until the server closes it (or 3 s pass). */
  const rawExchange = (text: string): Promise<string> =>
    new Promise((resolve) => {
      const gw = new URL(h.server.gatewayUrl);
      const s = connect(Number(gw.port), gw.hostname, () => s.write(text));
      let out = "";
      const timer = setTimeout(() => s.destroy(), 3000);
      s.on("data", (d: Buffer) => (out += d.toString("latin1")));
      s.on("close", () => {
        clearTimeout(timer);
        resolve(out);
      });
      s.on("error", () => {});
    });

  it("answers a connection past --max-connections 503 too_many_connections with Retry-After and a log line, keeps serving the open ones, and counts it in /metrics", async () => {
    const gw = new URL(h.server.gatewayUrl);
    const request = `POST /endpoints/capped/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    const held = [0, 1, 2].map(() => connect(Number(gw.port), gw.hostname));
    /** One request on a held keep-alive connection, answered whole. */
    const askOn = (s: (typeof held)[number]): Promise<string> =>
      new Promise((resolve) => {
        let t = "";
        const onData = (d: Buffer): void => {
          t += d.toString("latin1");
          if (t.endsWith('{"ok":true}')) {
            s.off("data", onData);
            resolve(t);
          }
        };
        s.on("data", onData);
        s.write(request);
      });
    try {
      // Each is answered once: the server holds all three.
      for (const s of held) assert.match(await askOn(s), /^HTTP\/1\.1 200 /);
      const out = await rawExchange(request);
      assert.match(out, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      assert.match(out, /^retry-after: 1\r$/m);
      assert.match(out, /^connection: close\r$/m);
      const requestId = /^x-request-id: (.+)\r$/m.exec(out)?.[1];
      assert.ok(requestId, "the 503 carries a request id");
      const err = JSON.parse(out.slice(out.indexOf("\r\n\r\n") + 4)) as { error: { code: string; message: string } };
      assert.deepEqual(err, { error: { code: "too_many_connections", message: "the gateway has its limit of 3 client connections open: retry shortly, or reuse a keep-alive connection" } });
      const line = h.logs.find((l) => l.includes(requestId));
      assert.ok(line, "the refusal has an access-log line");
      assert.match(line, /"status":503/);
      assert.doesNotMatch(line, /Bearer|"path"/, "nothing of the unread request is logged");
      // The held connections are served as before.
      for (const s of held) assert.match(await askOn(s), /^HTTP\/1\.1 200 /);
    } finally {
      for (const s of held) s.destroy();
    }
    // Their places come free as the server sees them close: /metrics (on a new connection) then
    // reports the cap and every refusal, the polls that came too early included.
    let text = "";
    let early = 0;
    for (let i = 0; i < 200 && !text; i++) {
      const res = await fetch(`${h.server.gatewayUrl}/metrics`);
      if (res.status === 200) text = await res.text();
      else {
        assert.equal(res.status, 503);
        await res.arrayBuffer();
        early++;
        await sleep(10);
      }
    }
    assert.match(text, /^modelplane_gateway_max_client_connections 3$/m);
    assert.match(text, new RegExp(`^modelplane_gateway_refused_connections_total ${1 + early}$`, "m"));
    assert.match(text, /^modelplane_gateway_client_connections [1-3]$/m);
  });
});

describe("gateway body budget", () => {
  let h: Harness;
  let model: Upstream;
  let key = "";
  before(async () => {
    // Two bodies at the 64 KiB limit cannot be buffered at once within 96 KiB.
    h = await startHarness({ bodyLimitBytes: 64 * 1024, bodyBudgetBytes: 96 * 1024 });
    model = await startUpstream("sizer", (_req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ bytes: Buffer.byteLength(body) }));
    });
    key = await setupEndpoint(h, "budget", { sizer: [model.url] }, { sizer: 100 });
  });
  after(async () => {
    await h?.close();
    await model?.close();
  });

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${h.server.gatewayUrl}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
    assert.ok(m, `${name} missing from /metrics`);
    return Number(m[1]);
  };

  it("answers 429 with Retry-After while other requests' bodies fill the budget, and serves the same request once they are answered", async () => {
    assert.equal(await metric("modelplane_gateway_body_budget_bytes"), 96 * 1024);
    const gw = new URL(h.server.gatewayUrl);
    const held = connect(Number(gw.port), gw.hostname);
    let heldText = "";
    held.on("data", (d: Buffer) => (heldText += d.toString("latin1")));
    try {
      const body = JSON.stringify({ data: "x".repeat(60 * 1024) });
      const head = `POST /endpoints/budget/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      // All of the held request's body but its last 100 bytes.
      held.write(head + body.slice(0, body.length - 100));
      for (let i = 0; i < 200 && (await metric("modelplane_gateway_buffered_body_bytes")) < body.length - 100; i++) await sleep(10);
      assert.equal(await metric("modelplane_gateway_buffered_body_bytes"), body.length - 100);

      const second = { data: "y".repeat(40 * 1024) };
      const refused = await score(h.server.gatewayUrl, "budget", key, second);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal(refused.headers.get("connection"), "close");
      assert.match(refused.headers.get("x-request-id") ?? "", /.+/);
      const err = JSON.parse(refused.text) as { error: { code: string; message: string } };
      assert.equal(err.error.code, "too_many_requests");
      assert.match(err.error.message, /limit of request bodies \(98304 bytes across all requests\): retry shortly/);
      assert.equal(await metric("modelplane_gateway_body_budget_refusals_total"), 1);
      assert.ok(h.logs.some((l) => /"status":429/.test(l) && /"endpoint":"budget"/.test(l)), "the refusal has an access-log line");

      // The held request completes and is answered whole; its bytes go back.
      held.write(body.slice(body.length - 100));
      for (let i = 0; i < 200 && !/\r\n\r\n\{"bytes":\d+\}/.test(heldText); i++) await sleep(10);
      assert.match(heldText, /^HTTP\/1\.1 200 /);
      assert.match(heldText, new RegExp(`\\{"bytes":${body.length}\\}`));
      assert.equal(await metric("modelplane_gateway_buffered_body_bytes"), 0);

      const retried = await score(h.server.gatewayUrl, "budget", key, second);
      assert.equal(retried.status, 200);
      assert.equal(JSON.parse(retried.text).bytes, JSON.stringify(second).length);
      assert.equal(await metric("modelplane_gateway_buffered_body_bytes"), 0);
    } finally {
      held.destroy();
    }
  });

  it("holds mirrored copies within their own budget (a quarter of the clients'): a slow mirror drops copies, never answers a client 429", async () => {
    // The mirror answers only when the test ends: the one copy it took holds its bytes throughout.
    const waiting: ServerResponse[] = [];
    const slow = await startUpstream("slow", (_req, res) => waiting.push(res));
    try {
      const mkey = await setupEndpoint(h, "mirrored", { sizer: [model.url], slow: [slow.url] }, { sizer: 100, slow: 0 }, { slow: 50 });
      const logStart = h.logs.length;
      // 20 KiB bodies: one copy fits the mirror's 24 KiB; the next ones, while it is held, do not.
      const body = { data: "z".repeat(20 * 1024) };
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await score(h.server.gatewayUrl, "mirrored", mkey, body)).status);
      assert.deepEqual(new Set(statuses), new Set([200]), "every client got its answer");
      const mirrored = h.logs.slice(logStart).filter((l) => /"endpoint":"mirrored"/.test(l) && /"mirrored":true/.test(l)).length;
      assert.ok(mirrored >= 2, `at least two requests were picked for mirroring (${mirrored})`);
      assert.equal(slow.hits, 1, "only the copy that fit the mirror's budget was sent");
      const text = await (await fetch(`${h.server.gatewayUrl}/metrics`)).text();
      const drops = Number(/^modelplane_gateway_mirror_drops_total\{endpoint="mirrored",deployment="slow"\} (\d+)$/m.exec(text)?.[1]);
      assert.equal(drops, mirrored - 1);
      assert.equal(await metric("modelplane_gateway_body_budget_refusals_total"), 1, "no client was refused for the mirror's bytes");
    } finally {
      for (const res of waiting) res.end("{}");
      await slow.close();
    }
  });
});

describe("gateway large answers", () => {
  let h: Harness;
  let model: Upstream;
  let key = "";
  const SIZE = 3 * 1024 * 1024 + 11;
  before(async () => {
    h = await startHarness();
    model = await startUpstream("big", (_req, res, body) => {
      if (body === '{"fail":"large"}') {
        res.writeHead(500, { "content-type": "text/plain", "content-length": SIZE });
        res.end(Buffer.alloc(SIZE, 0x65));
      } else if (body === '{"fail":"open"}') {
        // An error of unknown length, still coming after its head.
        res.writeHead(503, { "content-type": "text/plain" });
        res.write("overloaded, ");
        setTimeout(() => res.end("try later"), 100);
      } else {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": SIZE });
        res.end(Buffer.alloc(SIZE, 0x71));
      }
    });
    key = await setupEndpoint(h, "large", { big: [model.url] }, { big: 100 });
  });
  after(async () => {
    await h?.close();
    await model?.close();
  });

  it("relays a model's answer over 1 MiB as it arrives, under the model's content-length, and keeps the connection", async () => {
    const logStart = h.logs.length;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = (): Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer; socket: unknown }> =>
        new Promise((resolve, reject) => {
          const gw = new URL(h.server.gatewayUrl);
          const req = httpRequest({ host: gw.hostname, port: gw.port, method: "POST", path: "/endpoints/large/score", agent, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (d: Buffer) => chunks.push(d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks), socket: res.socket }));
          });
          req.on("error", reject);
          req.end("{}");
        });
      const first = await get();
      assert.equal(first.status, 200);
      assert.equal(first.headers["content-length"], String(SIZE));
      assert.equal(first.headers["transfer-encoding"], undefined);
      assert.equal(first.headers["azureml-model-deployment"], "big");
      assert.ok(first.bytes.equals(Buffer.alloc(SIZE, 0x71)), "every byte, in order");
      const second = await get();
      assert.equal(second.status, 200);
      assert.equal(second.socket, first.socket, "the connection is reused after a relayed answer of known length");
      const lines = h.logs.slice(logStart).filter((l) => /"endpoint":"large"/.test(l));
      assert.equal(lines.length, 2);
      assert.ok(lines.every((l) => /"status":200/.test(l) && /"streamed":true/.test(l) && !/stream_error/.test(l)), lines.join("\n"));
    } finally {
      agent.destroy();
    }
  });

  it("relays a model's large or still-open error answer as 424 with the model's status, reason, content-type and body, as it arrives", async () => {
    const logStart = h.logs.length;
    const large = await fetch(`${h.server.gatewayUrl}/endpoints/large/score`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: '{"fail":"large"}' });
    assert.equal(large.status, 424);
    assert.equal(large.headers.get("ms-azureml-model-error-statuscode"), "500");
    assert.equal(large.headers.get("ms-azureml-model-error-reason"), "Internal Server Error");
    assert.equal(large.headers.get("content-type"), "text/plain");
    assert.equal(large.headers.get("content-length"), String(SIZE));
    assert.equal(large.headers.get("azureml-model-deployment"), "big");
    assert.ok(Buffer.from(await large.arrayBuffer()).equals(Buffer.alloc(SIZE, 0x65)), "the model's whole error body");
    const open = await fetch(`${h.server.gatewayUrl}/endpoints/large/score`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: '{"fail":"open"}' });
    assert.equal(open.status, 424);
    assert.equal(open.headers.get("ms-azureml-model-error-statuscode"), "503");
    assert.equal(open.headers.get("ms-azureml-model-error-reason"), "Service Unavailable");
    assert.equal(open.headers.get("transfer-encoding"), "chunked");
    assert.equal(await open.text(), "overloaded, try later");
    const lines = h.logs.slice(logStart).filter((l) => /"endpoint":"large"/.test(l));
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /"status":424.*"upstream_status":500,"streamed":true}$/);
    assert.match(lines[1]!, /"status":424.*"upstream_status":503,"streamed":true}$/);
  });
});
