import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exchange, isTimeout, UpstreamPools, UpstreamTooLarge } from "../../../src/server/gateway/upstream";
import { pathSegments } from "../../../src/server/http/request";

describe("upstream exchange (undici dispatch)", () => {
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

  it("takes an answer of exactly the limit, cuts a longer or endless one at once (UpstreamTooLarge, connection dropped), and only counts a discarded body", async () => {
    const s = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      if (req.url === "/exact") return void res.end("x".repeat(1000));
      if (req.url === "/over") return void res.end("x".repeat(1001));
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

    const discarded = await exchange(pools, origin, "/exact", "GET", {}, undefined, 5000, true);
    assert.deepEqual([discarded.status, discarded.body.length, discarded.contentType], [200, 0, "text/plain"]);
    await assert.rejects(exchange(pools, origin, "/over", "GET", {}, undefined, 5000, true), tooLarge);
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
