import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { H1Server } from "../../../src/server/http/h1/server";
import type { H1Request, H1Response } from "../../../src/server/http/h1/message";
import { seededRandom } from "./seeded-random";

// Differential check of the gateway's HTTP/1.1 layer (lenient http-parser-js plus its own refusals)
// against node:http's strict llhttp: seeded mutations of valid (pipelined, chunked) requests go to
// both, and wherever both accept the i-th request of a connection, they must agree on its method,
// target and body. A disagreement is a request-smuggling bug: a proxy in front (or the model behind)
// would frame the same bytes differently. Also: the layer answers only well-formed responses with
// the expected statuses, and stays up.

/** node:http never finished this request's body: not a request it accepted. */
const ABORTED = "\u0000aborted";

interface Seen {
  method: string;
  url: string;
  body: string;
}

const BASES = [
  "GET /a?q=1 HTTP/1.1\r\nHost: x\r\n\r\n",
  "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
  "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n",
  "PUT /p HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
];
/** Bytes that matter to HTTP framing. */
const CHARS = [" ", "\t", "\r", "\n", "\r\n", "\0", ":", ",", ";", "0", "5", "9", "a", "f", "x", "-", "+", "\x7f", "\xff", "\x0b"];
const HEADERS = [
  "Content-Length: 3",
  "Content-Length: 5",
  "Content-Length: +5",
  "Content-Length: 5, 5",
  "Content-Length: 0x5",
  "Content-Length:5",
  "Content-Length: 05",
  "Content-Length: 5 ",
  "Content-Length: 1\r\nContent-Length: 5",
  "Transfer-Encoding: \tchunked",
  "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
  "Transfer-Encoding: xchunked",
  "Transfer-Encoding: chunked",
  "Transfer-Encoding: gzip, chunked",
  "Transfer-Encoding: chunked, identity",
  "Transfer-Encoding : chunked",
  " Transfer-Encoding: chunked",
  "\tContent-Length: 1",
  "Transfer-encoding: CHUNKED",
  "Host: y",
  "Expect: 100-continue",
  "Connection: close",
  "Upgrade: h2c\r\nConnection: Upgrade",
  "X-A: b\r\n c",
];

function mutate(rand: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let s = "";
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) s += pick(BASES);
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (s.length + 1));
    const op = Math.floor(rand() * 5);
    if (op === 0) s = s.slice(0, at) + pick(CHARS) + s.slice(at + 1);
    else if (op === 1) s = s.slice(0, at) + pick(CHARS) + s.slice(at);
    else if (op === 2) s = s.slice(0, at) + s.slice(at + 1);
    else {
      // A header line after some line break of a head.
      const breaks = [...s.matchAll(/\r\n/g)].map((m) => m.index!);
      const b = breaks.length ? pick(breaks) : 0;
      s = `${s.slice(0, b + 2)}${pick(HEADERS)}\r\n${s.slice(b + 2)}`;
    }
  }
  return s;
}

/**
 * Sends `input` in pieces cut at `cuts` (a millisecond apart, so they arrive as separate reads),
 * half-closes, and returns everything answered once the server closes (or 1.5 s pass).
 */
function exchange(port: number, input: string, cuts: number[] = []): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, 1500);
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("close", done);
    s.on("error", done);
    s.on("connect", async () => {
      let from = 0;
      for (const at of [...cuts, input.length]) {
        s.write(Buffer.from(input.slice(from, at), "latin1"));
        from = at;
        if (at < input.length) await new Promise((r) => setTimeout(r, 1));
      }
      s.end();
    });
  });
}

/** Parses a stream of answers; throws on anything that is not a well-formed HTTP/1.1 response. */
function answers(text: string): number[] {
  const statuses: number[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf("\r\n\r\n", pos);
    assert.ok(end > 0, `unterminated response head at ${pos}: ${JSON.stringify(text.slice(pos, pos + 80))}`);
    const head = text.slice(pos, end);
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*(\r\n[!#$%&'*+.^_`|~0-9a-z-]+: [^\r\n]*)*$/.exec(head);
    assert.ok(m, `malformed response head: ${JSON.stringify(head)}`);
    const status = Number(m[1]);
    const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (status !== 100) statuses.push(status);
    pos = end + 4 + (status === 100 ? 0 : len);
    assert.ok(pos <= text.length, `response body shorter than its content-length: ${JSON.stringify(head)}`);
  }
  return statuses;
}

describe("HTTP/1.1 layer against node's llhttp (differential, seeded)", () => {
  let ours: H1Server;
  let strict: HttpServer;
  let oursPort = 0;
  let strictPort = 0;
  let seenOurs: Seen[] = [];
  let seenStrict: Seen[] = [];

  before(async () => {
    ours = new H1Server({ bodyLimitBytes: 1024, ownAnswer: (status, message) => ({ contentType: "text/plain", body: Buffer.from(`${status} ${message}`) }) }, (req: H1Request, res: H1Response) => {
      req.body().then(
        (b) => {
          seenOurs.push({ method: req.method, url: req.url, body: b.toString("latin1") });
          res.respond(200, { "content-type": "text/plain" }, "ok");
        },
        () => res.respond(400, { connection: "close" }, "bad body"),
      );
    });
    oursPort = (await ours.listen(0, "127.0.0.1")).port;
    // requireHostHeader off: a missing Host is a policy question (node answers 400 without a
    // 'request' event), not one of framing.
    strict = createHttpServer({ requireHostHeader: false }, (req, res) => {
      // Recorded in arrival order; bodies of pipelined requests may end in another order.
      const seen: Seen = { method: req.method ?? "", url: req.url ?? "", body: "" };
      seenStrict.push(seen);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.body = Buffer.concat(chunks).toString("latin1");
        res.end("ok");
      });
      // A later request's parse error can destroy the socket before this body's 'end' is emitted.
      req.on("aborted", () => (seen.body = ABORTED));
    });
    strict.on("clientError", (_err, socket) => socket.destroy());
    await new Promise<void>((r) => strict.listen(0, "127.0.0.1", r));
    strictPort = (strict.address() as AddressInfo).port;
  });

  after(async () => {
    await ours.close(100);
    strict.closeAllConnections();
    await new Promise((r) => strict.close(r));
  });

  it("agrees with llhttp on every request both accept, answers well-formed responses only, and stays up (400 mutated inputs)", async () => {
    const rand = seededRandom(20261126);
    const allowed = new Set([200, 400, 413, 417, 431, 505]);
    let bothAccepted = 0;
    let refusedByOurs = 0;
    for (let i = 0; i < 400; i++) {
      const input = mutate(rand);
      // Every other input arrives in up to three pieces: the parsers must not depend on read boundaries.
      const cuts = i % 2 ? [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => 1 + Math.floor(rand() * (input.length - 1))))].sort((a, b) => a - b) : [];
      seenOurs = [];
      seenStrict = [];
      const [text] = await Promise.all([exchange(oursPort, input, cuts), exchange(strictPort, input, cuts)]);
      const where = `input #${i} ${JSON.stringify(input)} cut at ${JSON.stringify(cuts)}`;
      const statuses = answers(text);
      for (const s of statuses) assert.ok(allowed.has(s), `unexpected status ${s} for ${where}`);
      assert.equal(statuses.filter((s) => s === 200).length, seenOurs.length, `one 200 per request handled, ${where}`);
      const n = Math.min(seenOurs.length, seenStrict.length);
      for (let k = 0; k < n; k++) {
        if (seenStrict[k]!.body === ABORTED) break;
        assert.deepEqual(seenOurs[k], seenStrict[k], `request ${k} framed differently by the two parsers, ${where}`);
        bothAccepted++;
      }
      if (statuses.some((s) => s !== 200)) refusedByOurs++;
    }
    // The corpus exercises both paths: requests both parsers accept, and inputs the layer refuses.
    assert.ok(bothAccepted >= 100, `only ${bothAccepted} requests accepted by both`);
    assert.ok(refusedByOurs >= 50, `only ${refusedByOurs} inputs refused`);
    // Still serving.
    assert.match(await exchange(oursPort, BASES[1]!), /^HTTP\/1\.1 200 /);
  });
});
