import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { drain, exchange, isTimeout, STREAM_LENGTH_ABOVE, UpstreamPools, UpstreamTooLarge } from "../../../src/server/gateway/upstream";
import { pathSegments } from "../../../src/server/http/request";

describe("upstream exchange (OriginPool dispatch)", () => {
  const pools = new UpstreamPools();
  const servers: Server[] = [];
  after(async () => {
    await pools.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  const serve = async (handler: Parameters<typeof createServer>[1]): Promise<string> => {
    const s = createServer(handler);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };

  it("returns status, the one content-type and the whole body; sends method, headers and body", async () => {
    const origin = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(201, { "Content-Type": "application/json" });
        res.write(`{"method":"${req.method}","x":"${String(req.headers["x-test"])}",`);
        res.end(`"body":${JSON.stringify(Buffer.concat(chunks).toString())}}`);
      });
    });
    const r = await exchange(pools, origin, "/score", "POST", { "x-test": "1" }, Buffer.from("hello"), 5000);
    assert.equal(r.status, 201);
    assert.equal(r.contentType, "application/json");
    assert.deepEqual(JSON.parse(r.body.toString()), { method: "POST", x: "1", body: "hello" });
  });

  it("reports no content-type when there is none or more than one, and an empty body as empty", async () => {
    const origin = await serve((req, res) => {
      if (req.url === "/two") res.setHeader("content-type", ["text/plain", "text/html"]);
      res.writeHead(req.url === "/two" ? 200 : 204);
      res.end();
    });
    const none = await exchange(pools, origin, "/none", "GET", {}, undefined, 5000);
    assert.equal(none.status, 204);
    assert.equal(none.contentType, undefined);
    assert.equal(none.body.length, 0);
    const two = await exchange(pools, origin, "/two", "GET", {}, undefined, 5000);
    assert.equal(two.contentType, undefined);
  });

  it("rejects with UpstreamTimeout past the timeout, and with the transport error when the connection fails", async () => {
    const origin = await serve(() => {
      /* never answers */
    });
    const t0 = Date.now();
    await assert.rejects(exchange(pools, origin, "/slow", "POST", {}, Buffer.from("x"), 100), (err) => isTimeout(err));
    assert.ok(Date.now() - t0 < 2000);
    const dead = await serve(() => {});
    const deadOrigin = dead;
    servers.at(-1)!.close();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(exchange(pools, deadOrigin, "/", "GET", {}, undefined, 2000), (err: { code?: string }) => !isTimeout(err) && err.code === "ECONNREFUSED");
  });
});

describe("upstream answers past the response limit", () => {
  const pools = new UpstreamPools(1000);
  const servers: Server[] = [];
  let socketsClosed = 0;
  after(async () => {
    await pools.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it("takes an answer of exactly the limit, cuts a longer or endless one at once (UpstreamTooLarge, connection dropped), and only counts a discarded body (drained as a stream when of unknown length)", async () => {
    const s = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain", ...(req.url === "/over-length" ? { "content-length": "1001" } : {}) });
      if (req.url === "/exact") return void res.end("x".repeat(1000));
      if (req.url === "/over") return void res.end("x".repeat(1001));
      if (req.url === "/over-length") return void res.end("x".repeat(1001));
      // /endless: a model that streams without end.
      const t = setInterval(() => res.write("y".repeat(100)), 1);
      res.on("close", () => clearInterval(t));
    });
    s.keepAliveTimeout = 30_000;
    s.on("connection", (sock) => sock.on("close", () => socketsClosed++));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

    const exact = await exchange(pools, origin, "/exact", "GET", {}, undefined, 5000);
    assert.equal(exact.status, 200);
    assert.equal(exact.body.length, 1000);
    const tooLarge = (err: unknown): boolean => err instanceof UpstreamTooLarge && err.limitBytes === 1000 && err.status === 200 && !isTimeout(err);
    await assert.rejects(exchange(pools, origin, "/over", "GET", {}, undefined, 5000), tooLarge);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(socketsClosed, 1, "the connection of a cut answer is dropped, not reused (it would read the rest)");
    const t0 = Date.now();
    await assert.rejects(exchange(pools, origin, "/endless", "POST", {}, Buffer.from("x"), 5000), tooLarge);
    assert.ok(Date.now() - t0 < 2000, `an endless answer is cut at the limit, not at the 5 s timeout (took ${Date.now() - t0} ms)`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(socketsClosed, 2);
    const again = await exchange(pools, origin, "/exact", "GET", {}, undefined, 5000);
    assert.equal(again.body.toString(), "x".repeat(1000));

    const discarded = await exchange(pools, origin, "/exact", "GET", {}, undefined, 5000, "discard");
    assert.deepEqual([discarded.status, discarded.body.length, discarded.contentType], [200, 0, "text/plain"]);
    await assert.rejects(exchange(pools, origin, "/over-length", "GET", {}, undefined, 5000, "discard"), tooLarge);
    // Of unknown length and past the limit: a discarded answer comes back as a stream, drained keeping nothing.
    const unknown = await exchange(pools, origin, "/over", "GET", {}, undefined, 5000, "discard");
    assert.ok(unknown.stream);
    await drain(unknown.stream);
  });
});

describe("upstream answers streamed as they arrive (mode \"stream\")", () => {
  // A limit far below the streamed sizes: streamed answers are not buffered, so it does not apply to them.
  const pools = new UpstreamPools(64);
  const servers: Server[] = [];
  let socketsClosed = 0;
  /** Lets the /gated answer go on past its first piece. */
  let openGate: () => void = () => {};
  /** Ends the open /error-open answer; `errorGates` counts those answers begun. */
  let openErrorGate: () => void = () => {};
  let errorGates = 0;
  after(async () => {
    await pools.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  /** Collects a stream's pieces; `refuse` pieces are answered "not now" (backpressure). */
  class Collector {
    pieces: string[] = [];
    ended = false;
    error: Error | undefined;
    refuse = 0;
    readonly done: Promise<void>;
    private finish!: () => void;
    constructor() {
      this.done = new Promise((r) => (this.finish = r));
    }
    readonly sink = {
      chunk: (b: Buffer): boolean => {
        this.pieces.push(b.toString());
        return this.refuse-- <= 0;
      },
      end: (): void => {
        this.ended = true;
        this.finish();
      },
      error: (err: Error): void => {
        this.error = err;
        this.finish();
      },
    };
  }

  let origin = "";
  // An instance that answers in pieces, by path.
  before(async () => {
    const s = createServer((req, res) => {
      const url = req.url ?? "";
      req.resume();
      if (url === "/gated") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: first\n\n");
        openGate = () => res.end("data: second\n\n");
      } else if (url === "/length") {
        res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
        res.end("x".repeat(100));
      } else if (url === "/whole") {
        // Chunked (writeHead then end), but whole in one write.
        res.writeHead(200, { "content-type": "application/json" });
        res.end(req.headers["x-size"] === "big" ? `"${"b".repeat(100)}"` : '{"ok":1}');
      } else if (url === "/error") {
        // Chunked, whole in one write.
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("model failed");
      } else if (url === "/error-open") {
        res.writeHead(503, { "content-type": "text/plain" });
        res.write("model ");
        openErrorGate = () => res.end("failed");
        errorGates++;
      } else if (url === "/many") {
        res.writeHead(200, { "content-type": "text/plain" });
        let n = 0;
        const t = setInterval(() => {
          res.write(`piece${n}.`);
          if (++n === 5) {
            clearInterval(t);
            res.end();
          }
        }, 5);
      } else if (url === "/slow-pieces") {
        // Six pieces 150 ms apart: 900 ms in all, never silent for long.
        let n = 0;
        const t = setInterval(() => {
          if (n === 0) res.writeHead(200, { "content-type": "text/plain" });
          res.write(`${n}`);
          if (++n === 6) {
            clearInterval(t);
            res.end();
          }
        }, 150);
      } else if (url === "/stalls") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("only piece");
      } else if (url === "/endless") {
        res.writeHead(200, { "content-type": "text/plain" });
        const t = setInterval(() => res.write("y".repeat(100)), 2);
        res.on("close", () => clearInterval(t));
      } else res.end();
    });
    s.keepAliveTimeout = 30_000;
    s.on("connection", (sock) => sock.on("close", () => socketsClosed++));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  });

  it("resolves at the head of a 2xx answer of unknown length and relays each piece as it comes, past the response limit", async () => {
    const up = await exchange(pools, origin, "/gated", "POST", {}, Buffer.from("x"), 5000, "stream");
    assert.deepEqual([up.status, up.contentType, up.body.length], [200, "text/event-stream", 0]);
    assert.ok(up.stream, "streamed");
    const c = new Collector();
    let settled = 0;
    up.stream.onSettled(() => settled++);
    up.stream.start(c.sink);
    for (let i = 0; i < 100 && c.pieces.length === 0; i++) await sleep(10);
    assert.deepEqual(c.pieces, ["data: first\n\n"], "the first piece arrives while the instance still holds the rest");
    assert.equal(settled, 0);
    openGate();
    await c.done;
    assert.equal(c.pieces.join(""), "data: first\n\ndata: second\n\n");
    assert.deepEqual([c.ended, c.error, settled], [true, undefined, 1]);
  });

  it("buffers answers that carry a length and those that come whole with their head (a 500 too); streams the latter past the limit", async () => {
    await assert.rejects(exchange(pools, origin, "/length", "GET", {}, undefined, 5000, "stream"), (err) => err instanceof UpstreamTooLarge);
    const whole = await exchange(pools, origin, "/whole", "GET", {}, undefined, 5000, "stream");
    assert.deepEqual([whole.status, whole.body.toString(), whole.stream], [200, '{"ok":1}', undefined]);
    const big = await exchange(pools, origin, "/whole", "GET", { "x-size": "big" }, undefined, 5000, "stream");
    assert.ok(big.stream, "past the 64-byte limit: relayed rather than refused");
    const c = new Collector();
    big.stream.start(c.sink);
    await c.done;
    assert.equal(c.pieces.join(""), `"${"b".repeat(100)}"`);
    const error = await exchange(pools, origin, "/error", "GET", {}, undefined, 5000, "stream");
    assert.deepEqual([error.status, error.body.toString(), error.stream], [500, "model failed", undefined]);
  });

  it("relays a non-2xx answer of unknown length that is still open after its head, as a 2xx one (the gateway answers it as 424); a mirror copy's is only counted", async () => {
    const up = await exchange(pools, origin, "/error-open", "GET", {}, undefined, 5000, "stream");
    assert.deepEqual([up.status, up.contentType, up.body.length, up.length], [503, "text/plain", 0, undefined]);
    assert.ok(up.stream, "streamed");
    const c = new Collector();
    up.stream.start(c.sink);
    for (let i = 0; i < 100 && c.pieces.length === 0; i++) await sleep(10);
    assert.deepEqual(c.pieces, ["model "]);
    openErrorGate();
    await c.done;
    assert.equal(c.pieces.join(""), "model failed");
    const counted = exchange(pools, origin, "/error-open", "GET", {}, undefined, 5000, "discard");
    for (let i = 0; i < 100 && errorGates < 2; i++) await sleep(10);
    openErrorGate();
    const copy = await counted;
    assert.deepEqual([copy.status, copy.stream, copy.body.length], [503, undefined, 0]);
  });

  it("relays an answer announcing over 1 MiB (within the limit) with its length, a 500 too; buffers one at or under 1 MiB; refuses one past the limit", async () => {
    const large = new UpstreamPools(4 * 1024 * 1024);
    const sizes: Record<string, number> = { "/large": 2 * 1024 * 1024 + 7, "/small": STREAM_LENGTH_ABOVE, "/huge": 5 * 1024 * 1024, "/large-error": 2 * 1024 * 1024 };
    const s = createServer((req, res) => {
      req.resume();
      const n = sizes[req.url ?? ""] ?? 0;
      res.writeHead(req.url === "/large-error" ? 500 : 200, { "content-type": "application/octet-stream", "content-length": n });
      res.end(Buffer.alloc(n, 0x6c));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const at = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      const up = await exchange(large, at, "/large", "GET", {}, undefined, 5000, "stream");
      assert.ok(up.stream, "streamed");
      assert.deepEqual([up.status, up.length, up.body.length], [200, 2 * 1024 * 1024 + 7, 0]);
      let bytes = 0;
      let pieces = 0;
      await new Promise<void>((resolve, reject) =>
        up.stream!.start({
          chunk: (b) => {
            bytes += b.length;
            pieces++;
            return true;
          },
          end: resolve,
          error: reject,
        }),
      );
      assert.equal(bytes, 2 * 1024 * 1024 + 7);
      assert.ok(pieces > 1, `relayed in pieces (${pieces})`);
      const small = await exchange(large, at, "/small", "GET", {}, undefined, 5000, "stream");
      assert.deepEqual([small.stream, small.length, small.body.length], [undefined, undefined, STREAM_LENGTH_ABOVE]);
      const buffered = await exchange(large, at, "/large", "GET", {}, undefined, 5000, "buffer");
      assert.deepEqual([buffered.stream, buffered.body.length], [undefined, 2 * 1024 * 1024 + 7], "only \"stream\" mode relays");
      const error = await exchange(large, at, "/large-error", "GET", {}, undefined, 5000, "stream");
      assert.ok(error.stream, "a large non-2xx answer is relayed too (the client gets it as a 424)");
      assert.deepEqual([error.status, error.length, error.body.length], [500, 2 * 1024 * 1024, 0]);
      error.stream.cancel(new Error("not needed"));
      await assert.rejects(exchange(large, at, "/huge", "GET", {}, undefined, 5000, "stream"), (err) => err instanceof UpstreamTooLarge);
    } finally {
      await large.close();
    }
  });

  it("pauses the instance while the sink refuses a piece and goes on at resume()", async () => {
    const up = await exchange(pools, origin, "/many", "GET", {}, undefined, 5000, "stream");
    const c = new Collector();
    c.refuse = 1;
    up.stream!.start(c.sink);
    await sleep(200);
    assert.equal(c.pieces.length, 1, `paused after the refused piece, got ${JSON.stringify(c.pieces)}`);
    assert.equal(c.ended, false);
    up.stream!.resume();
    await c.done;
    assert.equal(c.pieces.join(""), "piece0.piece1.piece2.piece3.piece4.");
    assert.equal(c.ended, true);
  });

  it("times out silence, not the whole answer: pieces 150 ms apart finish under a 400 ms timeout; a stalled one fails", async () => {
    const t0 = Date.now();
    const slow = await exchange(pools, origin, "/slow-pieces", "GET", {}, undefined, 400, "stream");
    const c = new Collector();
    slow.stream!.start(c.sink);
    await c.done;
    assert.equal(c.error, undefined);
    assert.equal(c.pieces.join(""), "012345");
    assert.ok(Date.now() - t0 >= 800, "the answer took longer than its timeout in all");

    const closedBefore = socketsClosed;
    const stalled = await exchange(pools, origin, "/stalls", "GET", {}, undefined, 300, "stream");
    const d = new Collector();
    let settled = 0;
    stalled.stream!.onSettled(() => settled++);
    const t1 = Date.now();
    stalled.stream!.start(d.sink);
    await d.done;
    assert.ok(isTimeout(d.error), String(d.error));
    assert.deepEqual([d.pieces, d.ended, settled], [["only piece"], false, 1]);
    assert.ok(Date.now() - t1 < 2000);
    await sleep(100);
    assert.equal(socketsClosed, closedBefore + 1, "the stalled exchange's connection is dropped");
  });

  it("fails a stream whose sink stops taking pieces for longer than the timeout, even after the instance finished", async () => {
    const closedBefore = socketsClosed;
    const up = await exchange(pools, origin, "/many", "GET", {}, undefined, 300, "stream");
    const c = new Collector();
    c.refuse = 1000;
    const t0 = Date.now();
    up.stream!.start(c.sink);
    await c.done;
    assert.ok(isTimeout(c.error), String(c.error));
    assert.equal(c.pieces.length, 1, "nothing more is pushed to a sink that said not now");
    assert.ok(Date.now() - t0 < 2000);
    await sleep(100);
    assert.equal(socketsClosed, closedBefore + 1, "the paused exchange's connection is dropped");
  });

  it("cancel() drops the instance's connection and settles once, also for a stream never started", async () => {
    const closedBefore = socketsClosed;
    const up = await exchange(pools, origin, "/endless", "GET", {}, undefined, 5000, "stream");
    const c = new Collector();
    let settled = 0;
    up.stream!.onSettled(() => settled++);
    up.stream!.start(c.sink);
    await sleep(50);
    const reason = new Error("client went away");
    up.stream!.cancel(reason);
    up.stream!.cancel(reason);
    assert.equal(c.error, reason);
    assert.equal(settled, 1);
    await sleep(100);
    assert.equal(socketsClosed, closedBefore + 1);

    const unheard = await exchange(pools, origin, "/gated", "GET", {}, undefined, 5000, "stream");
    openGate();
    await sleep(50);
    let unheardSettled = 0;
    unheard.stream!.onSettled(() => unheardSettled++);
    unheard.stream!.cancel(reason);
    assert.equal(unheardSettled, 1);
  });
});

describe("pathSegments", () => {
  it("splits plain paths without decoding and decodes percent-encoded ones", () => {
    assert.deepEqual(pathSegments("/endpoints/e1/score?x=1"), ["endpoints", "e1", "score"]);
    assert.deepEqual(pathSegments("/endpoints/"), ["endpoints"]);
    assert.deepEqual(pathSegments("/endpoints/e%31/score"), ["endpoints", "e1", "score"]);
  });

  it("refuses traversal, encoded separators, NUL, backslashes and bad escapes", () => {
    for (const bad of ["/a/../b", "/a/./b", "/a/%2e%2e/b", "/a%2Fb", "/a%00b", "/a\\b", "/a%5Cb", "/%E0%A4%A", "relative"]) {
      assert.equal(pathSegments(bad), undefined, bad);
    }
  });
});
