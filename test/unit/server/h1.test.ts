import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { H1Server, type H1ServerOptions } from "../../../src/server/http/h1/server";
import type { OwnAnswerContext } from "../../../src/server/http/h1/connection";
import type { H1Request, H1Response } from "../../../src/server/http/h1/message";
import { BodyAborted, BodyOverBudget, BodyTooLarge } from "../../../src/server/http/request";

/** What a raw client saw: everything the server wrote, and whether it closed the connection. */
interface Seen {
  text: string;
  closed: boolean;
}

const ownAnswer = (status: number, message: string): { contentType: string; body: Buffer } => ({ contentType: "application/json", body: Buffer.from(JSON.stringify({ status, message })) });

/** Echo handler: answers with method, url, a few headers and the body it read (or the body error). */
function echo(req: H1Request, res: H1Response): void {
  req.body().then(
    (b) => res.respond(200, { "content-type": "application/json" }, JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization ?? null, accept: req.headers.accept ?? null, body: b.toString() })),
    (err: Error) => res.respond(err instanceof BodyTooLarge ? 413 : err instanceof BodyOverBudget ? 429 : 400, { connection: "close" }, err.name),
  );
}

describe("HTTP/1.1 layer (net + http-parser-js)", () => {
  const servers: H1Server[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => s.close(100)));
  });

  const start = async (handler: (req: H1Request, res: H1Response) => void = echo, opts: Partial<H1ServerOptions> = {}): Promise<number> => {
    const s = new H1Server({ bodyLimitBytes: 1024, ownAnswer, ...opts }, handler);
    servers.push(s);
    return (await s.listen(0, "127.0.0.1")).port;
  };

  /**
   * Opens a raw connection, writes `parts` (pausing `gapMs` between them) and collects the output until
   * the server closes, `waitMs` passes, or (when known) `answers` complete answers are in plus 50 ms for a close.
   */
  const raw = (port: number, parts: string[], waitMs = 400, gapMs = 0, halfClose = false, answers = 0): Promise<Seen> =>
    new Promise((resolve) => {
      const s = connect(port, "127.0.0.1");
      sockets.push(s);
      let text = "";
      let done = false;
      const finish = (closed: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.destroy();
        resolve({ text, closed });
      };
      const timer = setTimeout(() => finish(false), waitMs);
      s.on("data", (d) => {
        text += d.toString("latin1");
        if (answers > 0 && completeAnswers(text) >= answers) setTimeout(() => finish(false), 50);
      });
      s.on("close", () => finish(true));
      s.on("error", () => finish(true));
      s.on("connect", async () => {
        for (const p of parts) {
          s.write(p);
          if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        }
        if (halfClose) s.end();
      });
    });

  /** Final answers (not 100 Continue) whose whole body (by content-length) has arrived. */
  const completeAnswers = (text: string): number => {
    let pos = 0;
    let n = 0;
    for (;;) {
      const end = text.indexOf("\r\n\r\n", pos);
      if (end < 0) return n;
      const head = text.slice(pos, end);
      const len = Number(/^content-length: (\d+)\r?$/im.exec(head)?.[1] ?? 0);
      if (text.length < end + 4 + len) return n;
      if (!/^HTTP\/1\.1 100 /.test(head)) n++;
      pos = end + 4 + len;
    }
  };

  const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  /** The JSON bodies of the answers, in order (answers follow each other with no separator). */
  const bodies = (text: string): unknown[] =>
    text
      .split(/(?=HTTP\/1\.1 \d{3} )/)
      .map((a) => a.slice(a.indexOf("\r\n\r\n") + 4))
      .filter((b) => b.startsWith("{"))
      .map((b) => JSON.parse(b));
  const post = (path: string, body: string, extra = ""): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

  it("keeps a connection alive across requests and answers with length, date and keep-alive headers", async () => {
    const port = await start();
    const seen = await raw(port, [post("/a", "one"), post("/b", "two")], 300, 50);
    assert.deepEqual(statuses(seen.text), [200, 200]);
    assert.equal(seen.closed, false);
    assert.deepEqual(
      bodies(seen.text).map((b) => (b as { url: string; body: string }).url + ":" + (b as { body: string }).body),
      ["/a:one", "/b:two"],
    );
    assert.match(seen.text, /^content-length: \d+\r$/m);
    assert.match(seen.text, /^date: .+ GMT\r$/m);
    assert.match(seen.text, /^connection: keep-alive\r\nkeep-alive: timeout=65\r$/m);
  });

  it("reads header values without their leading and trailing blanks, keeps colons and inner blanks, and takes empty values", async () => {
    const port = await start();
    const seen = await raw(port, [post("/h", "x", "Authorization: \t Bearer a:b  c \t \r\nAccept:\r\n")]);
    assert.deepEqual(statuses(seen.text), [200]);
    assert.deepEqual(bodies(seen.text), [{ method: "POST", url: "/h", auth: "Bearer a:b  c", accept: "", body: "x" }]);
  });

  it("takes header names that are Object members (constructor, __proto__, tostring) as plain headers", async () => {
    let seen: Record<string, unknown> | undefined;
    const port = await start((req, res) => {
      seen = { constructor: req.headers.constructor, proto: req.headers["__proto__"], tostring: req.headers.tostring, missing: req.headers.hasownproperty, names: Object.keys(req.headers).sort() };
      res.respond(200, {}, "ok");
    });
    const out = await raw(port, ["GET / HTTP/1.1\r\nHost: h\r\nConstructor: a\r\n__proto__: b\r\ntoString: c\r\n\r\n"]);
    assert.deepEqual(statuses(out.text), [200]);
    // With a plain {} the first read of `constructor` found Object itself, so its value became "function Object() {...}, a".
    assert.deepEqual(seen, { constructor: "a", proto: "b", tostring: "c", missing: undefined, names: ["__proto__", "constructor", "host", "tostring"] });
  });

  it("answers pipelined requests in order even when the later one is faster", async () => {
    const port = await start((req, res) => {
      const delay = req.url === "/slow" ? 80 : 0;
      void req.body().then((b) => setTimeout(() => res.respond(200, {}, `{"url":"${req.url}","n":${b.length}}`), delay));
    });
    const seen = await raw(port, [post("/slow", "abc") + post("/fast", "de") + "GET /third HTTP/1.1\r\nHost: x\r\n\r\n"], 1000, 0, false, 3);
    assert.deepEqual(bodies(seen.text), [
      { url: "/slow", n: 3 },
      { url: "/fast", n: 2 },
      { url: "/third", n: 0 },
    ]);
  });

  it("hands out a request once its chunk is parsed: a body sent with its head is already whole (bodyNow), a later one is awaited", async () => {
    const port = await start((req, res) => {
      const now = req.bodyNow();
      if (now !== undefined) return res.respond(200, {}, `now:${now.toString()}`);
      void req.body().then((b) => res.respond(200, {}, `later:${b.toString()}`));
    });
    const together = await raw(port, [post("/a", "hello")], 1000, 0, false, 1);
    assert.match(together.text, /\r\n\r\nnow:hello$/);
    const split = await raw(port, ["POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", "hello"], 1000, 30, false, 1);
    assert.match(split.text, /\r\n\r\nlater:hello$/);
    const pipelined = await raw(port, [post("/a", "one") + post("/b", "two")], 1000, 0, false, 2);
    assert.deepEqual(pipelined.text.match(/(now|later):(one|two)/g), ["now:one", "now:two"]);
  });

  it("decodes chunked bodies, also when chunks arrive in pieces", async () => {
    const port = await start();
    const seen = await raw(port, ["POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n", "5\r\npedia\r\n", "0\r\n\r\n"], 1000, 30, false, 1);
    assert.deepEqual(statuses(seen.text), [200]);
    assert.equal((bodies(seen.text)[0] as { body: string }).body, "Wikipedia");
  });

  it("sends 100 Continue only when the handler asks for the body", async () => {
    let asked = 0;
    const port = await start((req, res) => {
      if (req.url === "/refuse") return res.respond(401, {}, "no");
      asked++;
      echo(req, res);
    });
    const ok = await raw(port, ["POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", "hi"], 1000, 100, false, 1);
    assert.match(ok.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    const refused = await raw(port, ["POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"]);
    assert.doesNotMatch(refused.text, /100 Continue/);
    assert.deepEqual(statuses(refused.text), [401]);
    // The unread body leaves the stream mid-message: the connection is closed, not reused.
    assert.equal(refused.closed, true);
    assert.equal(asked, 1);
    assert.deepEqual(statuses((await raw(port, ["POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: gzip\r\n\r\nx"])).text), [417]);
  });

  it("refuses ambiguous framing with 400 and closes (no request smuggling)", async () => {
    let handled = 0;
    const port = await start((req, res) => {
      handled++;
      echo(req, res);
    });
    const cases = [
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
      "POST /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\nContent-Length: 0\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nX-Bad\u0001Name: 1\r\nContent-Length: 0\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nX-Ctl: a\u0007b\r\nContent-Length: 0\r\n\r\n",
      "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GARBAGE\r\n\r\n",
      // http-parser-js alone: ends lines at a bare LF, joins folded lines, skips lines without a colon.
      "POST /a HTTP/1.1\nHost: x\nContent-Length: 0\n\n",
      "POST /a HTTP/1.1\r\nHost: x\nContent-Length: 0\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\rX: y\r\nContent-Length: 0\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nX-A: b\r\n Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
      "POST /a HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length; 5\r\n\r\nhello",
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n",
      // Request targets: a path or an absolute URL, in visible ASCII.
      "GET a HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /a\u0000b HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /a\u00afb HTTP/1.1\r\nHost: x\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for (const c of cases) {
      const seen = await raw(port, [c]);
      assert.deepEqual(statuses(seen.text), [400], JSON.stringify(c));
      assert.match(seen.text, /^connection: close\r$/m);
      assert.equal(seen.closed, true, JSON.stringify(c));
    }
    assert.equal(handled, 0);
    // Chunk data must be followed by CRLF; a bare LF there would shift where the next chunk starts.
    const lf = await raw(port, ["POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n3\r\nabc\r\n0\r\n\r\n"]);
    assert.deepEqual(statuses(lf.text), [400]);
    assert.equal(lf.closed, true);
    // Only HTTP/1.x is spoken.
    const v = await raw(port, ["GET / HTTP/2.0\r\nHost: x\r\n\r\n"]);
    assert.deepEqual(statuses(v.text), [505]);
    assert.equal(v.closed, true);
  });

  it("accepts an absolute-form target: its path reaches the handler and its authority replaces Host", async () => {
    const port = await start((req, res) => res.respond(200, {}, JSON.stringify({ url: req.url, host: req.headers.host })));
    const seen = await raw(port, ["GET http://model.example:8080/score?x=1 HTTP/1.1\r\nHost: other\r\n\r\nGET HTTP://h HTTP/1.1\r\nHost: h\r\n\r\n"], 1000, 0, false, 2);
    assert.deepEqual(bodies(seen.text), [
      { url: "/score?x=1", host: "model.example:8080" },
      { url: "/", host: "h" },
    ]);
  });

  it("answers the requests before a malformed one, then closes; a body cut by bad framing reaches the handler as BodyAborted", async () => {
    const port = await start((req, res) => void req.body().then((b) => setTimeout(() => res.respond(200, {}, `{"n":${b.length}}`), 30), (err: Error) => res.respond(400, {}, `{"err":"${err.name}"}`)));
    const seen = await raw(port, [post("/ok", "abc") + "GARBAGE\r\n\r\n"]);
    assert.deepEqual(statuses(seen.text), [200]);
    assert.deepEqual(bodies(seen.text), [{ n: 3 }]);
    assert.match(seen.text, /^connection: close\r$/m);
    assert.equal(seen.closed, true);
    // http-parser-js alone would read "XYZ" as the last chunk and "5junk" as 5.
    for (const size of ["XYZ", "5junk", "-1", "0x4"]) {
      const cut = await raw(port, [`POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n${size}\r\nabcde\r\n0\r\n\r\n`]);
      assert.deepEqual(bodies(cut.text), [{ err: BodyAborted.name }], size);
      assert.equal(cut.closed, true);
    }
    const ext = await raw(port, ["POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;name=v\r\nWiki\r\n0\r\n\r\n"], 1000, 0, false, 1);
    assert.deepEqual(bodies(ext.text), [{ n: 4 }], "chunk extensions are allowed");
  });

  it("answers 431 to an oversized head, whole or in pieces", async () => {
    const port = await start(echo, { maxHeaderSize: 2048 });
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(3000)}\r\n\r\n`;
    assert.deepEqual(statuses((await raw(port, [big])).text), [431]);
    const pieces = big.match(/[\s\S]{1,500}/g)!;
    const seen = await raw(port, pieces, 600, 20);
    assert.deepEqual(statuses(seen.text), [431]);
    assert.equal(seen.closed, true);
  });

  it("bounds the chunked framing too: an endless chunk-size line or a trailer section past the head limit cuts the body (BodyAborted, saying why)", async () => {
    const port = await start(
      (req, res) => void req.body().then((b) => res.respond(200, {}, JSON.stringify({ body: b.toString() })), (err: Error) => res.respond(400, {}, `${err.name}: ${err.message}`)),
      { maxHeaderSize: 2048 },
    );
    const chunked = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const endless = await raw(port, [chunked, "1", ...Array.from({ length: 6 }, () => "0".repeat(500))], 800, 10);
    assert.deepEqual(statuses(endless.text), [400]);
    assert.match(endless.text, /BodyAborted: a line of the chunked framing exceeds 2048 bytes/);
    assert.equal(endless.closed, true);
    const trailers = Array.from({ length: 100 }, (_, i) => `X-T${i}: ${"v".repeat(30)}\r\n`).join("");
    const long = await raw(port, [`${chunked}3\r\nabc\r\n0\r\n${trailers}\r\n`]);
    assert.deepEqual(statuses(long.text), [400]);
    assert.match(long.text, /BodyAborted: request trailer section exceeds 2048 bytes/);
    assert.equal(long.closed, true);
    // Trailers within the limit are fine, and their count starts over with each message.
    const ok = `${chunked}3\r\nabc\r\n0\r\n${trailers.split("\r\n").slice(0, 40).join("\r\n")}\r\n\r\n`;
    const two = await raw(port, [ok + ok], 1000, 0, false, 2);
    assert.deepEqual(bodies(two.text), [{ body: "abc" }, { body: "abc" }]);
  });

  it("hands a body out as the pieces it arrived in (pieces(), not joined) or joined (body())", async () => {
    const seen: { pieces: string[]; joined: string }[] = [];
    const port = await start((req, res) => {
      req.pieces().then(async (pieces) => {
        seen.push({ pieces: pieces.map((p) => p.toString()), joined: (await req.body()).toString() });
        res.respond(200, {}, "ok");
      });
    });
    const sent = await raw(port, ["POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n", "abc", "def", "ghi"], 1000, 40, false, 1);
    assert.deepEqual(statuses(sent.text), [200]);
    assert.deepEqual(seen, [{ pieces: ["abc", "def", "ghi"], joined: "abcdefghi" }]);
  });

  it("passes the body limit to the handler: declared or actual, as BodyTooLarge", async () => {
    const port = await start(echo, { bodyLimitBytes: 10 });
    assert.deepEqual(statuses((await raw(port, [post("/a", "x".repeat(11))])).text), [413]);
    const chunked = await raw(port, ["POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"]);
    assert.deepEqual(statuses(chunked.text), [413]);
    assert.equal(chunked.closed, true);
    assert.deepEqual(statuses((await raw(port, [post("/a", "x".repeat(10))], 1000, 0, false, 1)).text), [200]);
  });

  it("holds request bodies within one budget across connections: declared or arriving past it is BodyOverBudget; bytes come back when answered or abandoned", async () => {
    const server = new H1Server({ bodyLimitBytes: 1000, bodyBudgetBytes: 1500, ownAnswer }, echo);
    servers.push(server);
    const port = (await server.listen(0, "127.0.0.1")).port;
    const budget = server.bodyBudget;
    const heldReaches = async (bytes: number): Promise<void> => {
      for (let i = 0; i < 200 && budget.held !== bytes; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(budget.held, bytes);
    };
    // A: 800 of its 1000 bytes sent, then it waits; the budget holds exactly what arrived.
    const a = connect(port, "127.0.0.1");
    sockets.push(a);
    let aText = "";
    a.on("data", (d) => (aText += d.toString("latin1")));
    a.write(`POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"a".repeat(800)}`);
    await heldReaches(800);
    // B declares 800 with 700 free: refused at once, before it sends a byte of it, and closed.
    const b = await raw(port, ["POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n"], 1000);
    assert.deepEqual(statuses(b.text), [429]);
    assert.match(b.text, /BodyOverBudget/);
    assert.equal(b.closed, true);
    assert.equal(budget.refusals, 1);
    // C is chunked: its first 500 bytes fit (1300 held), the next 500 would not; what it held comes back.
    const c = await raw(port, ["POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n" + "c".repeat(500) + "\r\n", "1f4\r\n" + "c".repeat(500) + "\r\n0\r\n\r\n"], 1000, 100);
    assert.deepEqual(statuses(c.text), [429]);
    assert.equal(budget.refusals, 2);
    await heldReaches(800);
    // A's last 200 bytes: it is answered whole, and its 1000 bytes go back.
    a.write("a".repeat(200));
    for (let i = 0; i < 200 && completeAnswers(aText) < 1; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(statuses(aText), [200]);
    assert.equal((bodies(aText)[0] as { body: string }).body, "a".repeat(1000));
    await heldReaches(0);
    // Now B's request fits.
    assert.deepEqual(statuses((await raw(port, [post("/b", "b".repeat(800))], 1000, 0, false, 1)).text), [200]);
    await heldReaches(0);
    // A client that leaves mid-body gives its bytes back.
    const d = connect(port, "127.0.0.1");
    sockets.push(d);
    d.write(`POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"d".repeat(600)}`);
    await heldReaches(600);
    d.destroy();
    await heldReaches(0);
    assert.equal(budget.refusals, 2);
  });

  it("keeps at most maxConnections open: one more gets 503 with Retry-After and a close, unread, while the open ones are served; a freed place is taken again", async () => {
    const about: OwnAnswerContext[] = [];
    const server = new H1Server({ bodyLimitBytes: 1024, maxConnections: 2, ownAnswer: (status, message, a) => (about.push(a), ownAnswer(status, message)) }, echo);
    servers.push(server);
    const port = (await server.listen(0, "127.0.0.1")).port;
    /** A keep-alive client: sends one request, resolves with the text once its answer is whole. */
    const ask = (s: Socket, path: string): Promise<string> =>
      new Promise((resolve) => {
        let text = "";
        const onData = (d: Buffer): void => {
          text += d.toString("latin1");
          if (completeAnswers(text) === 1) {
            s.off("data", onData);
            resolve(text);
          }
        };
        s.on("data", onData);
        s.write(post(path, "x"));
      });
    const open = async (): Promise<Socket> => {
      const s = connect(port, "127.0.0.1");
      sockets.push(s);
      await new Promise((r) => s.once("connect", r));
      return s;
    };
    const [a, b] = [await open(), await open()];
    assert.deepEqual(statuses(await ask(a, "/a")), [200]);
    assert.deepEqual(statuses(await ask(b, "/b")), [200]);
    assert.equal(server.openConnections, 2);
    // The third sends its whole request at once: it still gets the 503 (not a reset), and nothing of it reaches the handler.
    const third = await raw(port, [post("/third", "y")], 2000);
    assert.deepEqual(statuses(third.text), [503]);
    assert.equal(third.closed, true);
    assert.match(third.text, /^retry-after: 1\r$/m);
    assert.match(third.text, /^connection: close\r$/m);
    assert.deepEqual(bodies(third.text), [{ status: 503, message: "the gateway has its limit of 2 client connections open: retry shortly, or reuse a keep-alive connection" }]);
    assert.equal(about.length, 1);
    assert.equal(about[0]!.code, "too_many_connections");
    assert.equal(about[0]!.handled, false);
    assert.equal(about[0]!.method, undefined);
    assert.equal(server.refusedConnections, 1);
    assert.equal(server.openConnections, 2);
    // The open ones are served as before.
    assert.deepEqual(bodies(await ask(a, "/a2")).map((x) => (x as { url: string }).url), ["/a2"]);
    assert.deepEqual(bodies(await ask(b, "/b2")).map((x) => (x as { url: string }).url), ["/b2"]);
    // One leaves: its place is taken by the next client.
    a.destroy();
    const openNow = (): number => server.openConnections;
    for (let i = 0; i < 200 && openNow() !== 1; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(openNow(), 1);
    const next = await raw(port, [post("/next", "z")], 2000, 0, false, 1);
    assert.deepEqual(statuses(next.text), [200]);
    assert.equal(server.refusedConnections, 1);
  });

  it("times out a slow head (408) and a stalled body (408; the handler sees BodyAborted); closes idle connections", async () => {
    const errors: string[] = [];
    const seen: { status: number; statusCode: number }[] = [];
    const asked: OwnAnswerContext[] = [];
    const port = await start(
      (req, res) => {
        req.id = "handler-id";
        req.body().then(
          () => res.respond(200, {}, "ok"),
          (err: Error) => {
            errors.push(err.constructor.name);
            res.respond(400, {}, "late");
            seen.push({ status: req.status, statusCode: res.statusCode });
          },
        );
      },
      {
        headersTimeoutMs: 150,
        requestTimeoutMs: 300,
        keepAliveTimeoutMs: 200,
        ownAnswer: (status, message, about) => {
          asked.push(about);
          return ownAnswer(status, message);
        },
      },
    );
    const slowHead = await raw(port, ["POST /a HTTP/1.1\r\n", "Host: x\r\n"], 800, 50);
    assert.deepEqual(statuses(slowHead.text), [408]);
    assert.equal(slowHead.closed, true);
    const stalled = await raw(port, ["POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"], 1000);
    assert.deepEqual(statuses(stalled.text), [408]);
    assert.equal(stalled.closed, true);
    assert.deepEqual(errors, [BodyAborted.name]);
    // The handler's late answer is dropped; its response reports the 408 the client got.
    assert.deepEqual(seen, [{ status: 408, statusCode: 408 }]);
    // The layer's answer to a handled request names the handler's id; the slow head never became one.
    assert.deepEqual(
      asked.map(({ method, url, handled, requestId }) => ({ method, url, handled, requestId })),
      [
        { method: undefined, url: undefined, handled: false, requestId: undefined },
        { method: "POST", url: "/a", handled: true, requestId: "handler-id" },
      ],
    );
    const idle = await raw(port, [post("/a", "")], 1000);
    assert.deepEqual(statuses(idle.text), [200]);
    assert.equal(idle.closed, true, "an idle keep-alive connection is closed after keepAliveTimeoutMs");
  });

  it("omits the body of a HEAD answer but keeps its length; closes HTTP/1.0 connections", async () => {
    const port = await start((_req, res) => res.respond(200, { "content-type": "text/plain" }, "hello"));
    const head = await raw(port, ["HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"], 300);
    assert.match(head.text, /^content-length: 5\r$/m);
    assert.ok(head.text.endsWith("\r\n\r\n"), JSON.stringify(head.text));
    const old = await raw(port, ["GET / HTTP/1.0\r\n\r\n"]);
    assert.match(old.text, /^connection: close\r$/m);
    assert.ok(old.text.endsWith("hello"));
    assert.equal(old.closed, true);
  });

  it("answers a long pipeline of quick answers in order without growing the stack", async () => {
    const port = await start((req, res) => res.respond(200, { "content-type": "application/json" }, `{"u":"${req.url}"}`));
    const n = 2000;
    const seen = await raw(port, [Array.from({ length: n }, (_, i) => `GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join("")], 5000, 0, false, n);
    const urls = bodies(seen.text).map((b) => (b as { u: string }).u);
    assert.equal(urls.length, n);
    assert.deepEqual(urls.slice(0, 3), ["/r0", "/r1", "/r2"]);
    assert.equal(urls[n - 1], `/r${n - 1}`);
  });

  it("sends neither a body nor a length with 204", async () => {
    const port = await start((_req, res) => res.respond(204, { "content-length": 5 }, "ignored"));
    const seen = await raw(port, ["GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"], 1000, 0, false, 2);
    assert.deepEqual(statuses(seen.text), [204, 204]);
    assert.doesNotMatch(seen.text, /content-length|ignored/);
  });

  it("leaves out a header value that would split the response", async () => {
    const port = await start((_req, res) => res.respond(200, { "x-safe": "a", "x-evil": "a\r\nset-cookie: pwned=1" }, "ok"));
    const seen = await raw(port, ["GET / HTTP/1.1\r\nHost: x\r\n\r\n"], 1000, 0, false, 1);
    assert.match(seen.text, /^x-safe: a\r$/m);
    assert.doesNotMatch(seen.text, /set-cookie|x-evil/i);
  });

  it("answers a client that half-closes after sending its request", async () => {
    const port = await start((req, res) => void req.body().then((b) => setTimeout(() => res.respond(200, {}, `got ${b.length}`), 50)));
    const seen = await raw(port, [post("/a", "abcd")], 600, 0, true);
    assert.deepEqual(statuses(seen.text), [200]);
    assert.ok(seen.text.endsWith("got 4"));
    assert.equal(seen.closed, true);
  });

  /** A handler streaming "one", then "two" 60 ms later, then ending; `events` sees what the connection reports. */
  const streamer =
    (log: string[]) =>
    (req: H1Request, res: H1Response): void => {
      if (req.url !== "/stream") return void res.respond(200, {}, `plain ${req.url}`);
      const w = res.stream(200, { "content-type": "text/event-stream", "content-length": 99 }, { drain: () => log.push("drain"), closed: () => log.push("closed") });
      assert.ok(w);
      w.write(Buffer.from("one"));
      w.write(Buffer.alloc(0));
      setTimeout(() => {
        if (!w.write(Buffer.from("two"))) log.push("behind");
        w.end();
        log.push("ended");
      }, 60);
    };

  it("streams an answer as chunks to an HTTP/1.1 client, keeps the connection, and answers the pipelined request after it", async () => {
    const log: string[] = [];
    const port = await start(streamer(log));
    const seen = await raw(port, ["GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"], 600);
    const [first, second] = seen.text.split(/(?=HTTP\/1\.1 200 )/);
    assert.match(first!, /^transfer-encoding: chunked\r$/m);
    assert.doesNotMatch(first!, /content-length/i, "a streamed answer has no length (the handler's is dropped)");
    assert.match(first!, /^connection: keep-alive\r$/m);
    assert.ok(first!.endsWith("\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"), JSON.stringify(first));
    assert.ok(second!.endsWith("plain /next"), JSON.stringify(second));
    assert.equal(seen.closed, false);
    assert.deepEqual(log, ["ended"]);
  });

  it("streams an answer of known length under its content-length, unchunked, to HTTP/1.1 and keep-alive HTTP/1.0 clients, keeping the connection", async () => {
    const port = await start((req, res) => {
      if (req.url !== "/known") return void res.respond(200, {}, `plain ${req.url}`);
      const w = res.stream(200, { "content-type": "application/octet-stream" }, { drain: () => {}, closed: () => {} }, 6);
      assert.ok(w);
      w.write(Buffer.from("one"));
      setTimeout(() => {
        w.write(Buffer.from("two"));
        w.end();
      }, 40);
    });
    const seen = await raw(port, ["GET /known HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"], 1000, 0, false, 2);
    const [first, second] = seen.text.split(/(?=HTTP\/1\.1 200 )/);
    assert.match(first!, /^content-length: 6\r$/m);
    assert.doesNotMatch(first!, /transfer-encoding/i);
    assert.match(first!, /^connection: keep-alive\r$/m);
    assert.ok(first!.endsWith("\r\n\r\nonetwo"), JSON.stringify(first));
    assert.ok(second!.endsWith("plain /next"), JSON.stringify(second));
    assert.equal(seen.closed, false);
    const old = await raw(port, ["GET /known HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"], 1000, 0, false, 1);
    assert.match(old.text, /^content-length: 6\r$/m);
    assert.match(old.text, /^connection: keep-alive\r$/m);
    assert.ok(old.text.endsWith("\r\n\r\nonetwo"), JSON.stringify(old.text));
    assert.equal(old.closed, false);
  });

  it("streams the whole answer to a client that half-closed after its request, then closes", async () => {
    const port = await start(streamer([]));
    const seen = await raw(port, ["GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"], 600, 0, true);
    assert.ok(seen.text.endsWith("3\r\ntwo\r\n0\r\n\r\n"), JSON.stringify(seen.text));
    assert.equal(seen.closed, true, "nothing more can come from this client: the connection closes after the answer");
  });

  it("streams to an HTTP/1.0 client up to the close, and to HEAD with no body", async () => {
    const port = await start(streamer([]));
    const old = await raw(port, ["GET /stream HTTP/1.0\r\n\r\n"], 600);
    assert.match(old.text, /^connection: close\r$/m);
    assert.doesNotMatch(old.text, /transfer-encoding/i);
    assert.ok(old.text.endsWith("\r\n\r\nonetwo"), JSON.stringify(old.text));
    assert.equal(old.closed, true);
    const head = await raw(port, ["HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n"], 300);
    assert.ok(head.text.endsWith("\r\n\r\n"), JSON.stringify(head.text));
  });

  it("tells a streamed answer's writer when the client goes away; abort() cuts the answer without its last chunk", async () => {
    const log: string[] = [];
    // A piece every 20 ms until the connection reports the client gone (noticed at the latest by the next write).
    const port = await start((_req, res) => {
      let n = 0;
      const t = setInterval(() => w.write(Buffer.from(`p${n++}`)), 20);
      const w = res.stream(200, {}, { drain: () => {}, closed: () => (clearInterval(t), log.push(`closed after ${n}`)) })!;
    });
    const left = await raw(port, ["GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"], 70);
    assert.match(left.text, /2\r\np0\r\n/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(log.length, 1, JSON.stringify(log));
    assert.match(log[0]!, /^closed after \d+$/);

    const cut = await start((_req, res) => {
      const w = res.stream(200, {}, { drain: () => {}, closed: () => log.push("closed after abort") })!;
      w.write(Buffer.from("partial"));
      setTimeout(() => w.abort(), 20);
    });
    const seen = await raw(cut, ["GET / HTTP/1.1\r\nHost: x\r\n\r\n"], 500);
    assert.equal(seen.closed, true);
    assert.ok(seen.text.endsWith("7\r\npartial\r\n"), JSON.stringify(seen.text));
    assert.ok(!log.includes("closed after abort"), "the writer that aborted is not told again");
  });

  it("reports a client that is behind (write false) and tells the writer when it drained", async () => {
    const log: string[] = [];
    let behind = false;
    const port = await start((_req, res) => {
      const w = res.stream(200, {}, { drain: () => (log.push("drain"), w.end()), closed: () => {} })!;
      behind = !w.write(Buffer.alloc(8 * 1024 * 1024, 0x61));
      if (!behind) w.end();
    });
    const seen = await raw(port, ["GET / HTTP/1.1\r\nHost: x\r\n\r\n"], 3000);
    assert.ok(seen.text.endsWith("0\r\n\r\n"), "whole answer read");
    assert.equal(behind, true, "an 8 MiB piece is more than the socket takes at once");
    assert.deepEqual(log, ["drain"]);
  });

  it("closes gracefully: the request in flight is answered, idle connections close, close() resolves", async () => {
    let release: () => void = () => {};
    const s = new H1Server({ bodyLimitBytes: 1024, ownAnswer }, (req, res) => {
      if (req.url === "/wait") release = () => res.respond(200, {}, "finished");
      else res.respond(200, {}, "quick");
    });
    const { port } = await s.listen(0, "127.0.0.1");
    const idle = raw(port, ["GET /q HTTP/1.1\r\nHost: x\r\n\r\n"], 2000);
    const busy = raw(port, ["GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"], 2000);
    await new Promise((r) => setTimeout(r, 100));
    const closed = s.close(5000);
    setTimeout(() => release(), 100);
    await closed;
    const [i, b] = await Promise.all([idle, busy]);
    assert.ok(i.text.endsWith("quick") && i.closed, JSON.stringify(i));
    assert.ok(b.text.endsWith("finished") && b.closed, JSON.stringify(b));
    assert.match(b.text, /^connection: close\r$/m);
    assert.equal(s.listening, false);
  });
});
