import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { ExchangeHandler, ExchangeRequest } from "../../../src/server/http/client/connection";
import { OriginPool } from "../../../src/server/http/client/origin-pool";

/** What one exchange reported. */
interface Outcome {
  status?: number;
  headers?: readonly string[];
  body: string;
  error?: Error & { code?: string };
}

/** Runs one exchange on `pool`, collecting its answer or error. */
function run(pool: OriginPool, req: Partial<ExchangeRequest> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: "" };
    const handler: ExchangeHandler = {
      onConnect() {},
      onHeaders(status, headers) {
        out.status = status;
        out.headers = [...headers];
        return true;
      },
      onData(piece) {
        out.body += piece.toString();
        return true;
      },
      onComplete: () => resolve(out),
      onError(err) {
        out.error = err;
        resolve(out);
      },
    };
    pool.dispatch({ method: "GET", path: "/", headers: {}, body: undefined, ...req }, handler);
  });
}

/**
 * A raw TCP instance: `answer` gets each request head (up to its blank line) and the socket, and
 * writes whatever bytes the test needs. Counts connections and keeps every head it saw.
 */
class RawInstance {
  connections = 0;
  readonly heads: string[] = [];
  /** The body of each request, in order (latin1). */
  readonly bodies: string[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  constructor(answer: (head: string, socket: Socket, n: number) => void) {
    this.server = createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => {});
      let buffered = "";
      socket.on("data", (d: Buffer) => {
        buffered += d.toString("latin1");
        for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
          const head = buffered.slice(0, end);
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (buffered.length < end + 4 + length) return;
          this.bodies.push(buffered.slice(end + 4, end + 4 + length));
          buffered = buffered.slice(end + 4 + length);
          this.heads.push(head);
          answer(head, socket, this.heads.length);
        }
      });
    });
  }
  async origin(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("OriginPool (the gateway's HTTP/1.1 client)", () => {
  const instances: RawInstance[] = [];
  const pools: OriginPool[] = [];
  after(() => {
    for (const p of pools) p.close();
    for (const i of instances) i.close();
  });
  const setUp = async (answer: (head: string, socket: Socket, n: number) => void, options: ConstructorParameters<typeof OriginPool>[1] = {}): Promise<{ inst: RawInstance; pool: OriginPool }> => {
    const inst = new RawInstance(answer);
    instances.push(inst);
    const pool = new OriginPool(await inst.origin(), options);
    pools.push(pool);
    return { inst, pool };
  };

  it("writes method, path, host, headers and a body with its length; reuses one connection for exchanges in turn", async () => {
    const { inst, pool } = await setUp((_h, s) => s.write(OK));
    const first = await run(pool, { method: "POST", path: "/score?x=1", headers: { "content-type": "application/json" }, body: Buffer.from('{"a":1}') });
    assert.deepEqual([first.status, first.body, first.error], [200, "ok", undefined]);
    assert.match(inst.heads[0]!, /^POST \/score\?x=1 HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\ncontent-type: application\/json\r\ncontent-length: 7$/);
    for (let i = 0; i < 4; i++) assert.equal((await run(pool)).status, 200);
    assert.equal(inst.connections, 1);
    assert.match(inst.heads[1]!, /^GET \/ HTTP\/1\.1\r\nhost: [^\r]+$/, "a GET without a body sends no content-length");
  });

  it("writes a body given as pieces in order, never joined, with their total length: small ones with the head, large ones corked after it", async () => {
    const { inst, pool } = await setUp((_h, s) => s.write(OK));
    const small = [Buffer.from('{"data":'), Buffer.from("[1,2,"), Buffer.from("3]}")];
    assert.equal((await run(pool, { method: "POST", path: "/score", body: small })).status, 200);
    const large = ["a", "b", "c"].map((c) => Buffer.alloc(10 * 1024, c));
    assert.equal((await run(pool, { method: "POST", path: "/score", body: large })).status, 200);
    assert.equal((await run(pool, { method: "POST", path: "/score", body: [] })).status, 200);
    assert.match(inst.heads[0]!, /\r\ncontent-length: 16$/);
    assert.match(inst.heads[1]!, /\r\ncontent-length: 30720$/);
    assert.match(inst.heads[2]!, /\r\ncontent-length: 0$/);
    assert.deepEqual(inst.bodies, ['{"data":[1,2,3]}', "a".repeat(10240) + "b".repeat(10240) + "c".repeat(10240), ""]);
  });

  it("opens at most `connections` at once; the rest wait and run in order as connections free up", async () => {
    const { inst, pool } = await setUp((_h, s) => setTimeout(() => s.write(OK), 30), { connections: 2 });
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => run(pool, { path: `/${i}` })));
    assert.deepEqual(
      all.map((o) => o.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.equal(inst.connections, 2);
    assert.deepEqual(
      inst.heads.map((h) => /^GET (\/\d)/.exec(h)?.[1]),
      ["/0", "/1", "/2", "/3", "/4", "/5"],
    );
  });

  it("reads chunked answers and answers ended by close (then opens a new connection); skips 1xx; a 204 has no body and keeps the connection", async () => {
    const { inst, pool } = await setUp((head, s) => {
      if (head.startsWith("GET /chunked")) s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
      else if (head.startsWith("GET /close")) s.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end");
      else if (head.startsWith("GET /early")) s.write("HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" + OK);
      else s.write("HTTP/1.1 204 No Content\r\n\r\n");
    });
    assert.deepEqual(await run(pool, { path: "/chunked" }), { status: 200, headers: ["transfer-encoding", "chunked"], body: "abcde" });
    const closed = await run(pool, { path: "/close" });
    assert.deepEqual([closed.status, closed.body, closed.error], [200, "until the end", undefined]);
    const early = await run(pool, { path: "/early" });
    assert.deepEqual([early.status, early.headers, early.body], [200, ["content-length", "2"], "ok"]);
    const empty = await run(pool, { path: "/nothing" });
    assert.deepEqual([empty.status, empty.body], [204, ""]);
    assert.equal((await run(pool, { path: "/nothing" })).status, 204);
    assert.equal(inst.connections, 2, "one connection before the close-ended answer, one after");
  });

  it("an idle connection the instance closed is not reused; one past the instance's keep-alive timeout (less 1 s) is closed, not reused", async () => {
    const { inst, pool } = await setUp((head, s) => {
      if (head.startsWith("GET /bye")) {
        s.write(OK);
        setTimeout(() => s.end(), 20);
      } else s.write("HTTP/1.1 200 OK\r\nkeep-alive: timeout=2\r\ncontent-length: 2\r\n\r\nok");
    });
    assert.equal((await run(pool, { path: "/bye" })).status, 200);
    await sleep(100);
    const after = await run(pool, { path: "/hint" });
    assert.deepEqual([after.status, after.error], [200, undefined]);
    assert.equal(inst.connections, 2);
    await sleep(300);
    assert.equal((await run(pool, { path: "/hint" })).status, 200);
    assert.equal(inst.connections, 2, "idle 0.3 s, within the hint's 2 s less 1 s: reused");
    await sleep(1100);
    assert.equal((await run(pool, { path: "/hint" })).status, 200);
    assert.equal(inst.connections, 3, "idle 1.1 s, past 2 s less 1 s: a new connection");
  });

  it("runs an exchange again on a new connection when a reused one closes before any answer byte (the instance closed it as idle); a new connection doing that fails", async () => {
    const { inst, pool } = await setUp((head, s, n) => {
      // The second request arrives on a connection the instance has just given up on.
      if (n === 2 || head.startsWith("GET /always-drops")) s.destroy();
      else s.write(OK);
    });
    assert.equal((await run(pool)).status, 200);
    const again = await run(pool, { method: "POST", path: "/score", body: Buffer.from("{}") });
    assert.deepEqual([again.status, again.error], [200, undefined]);
    assert.equal(inst.connections, 2);
    assert.match(inst.heads[2]!, /^POST \/score /, "the same request went out again");
    const dropped = await run(pool, { path: "/always-drops" });
    assert.equal(dropped.error?.code, "UPSTREAM_CLOSED");
    assert.equal(inst.heads.filter((h) => h.startsWith("GET /always-drops")).length, 2, "once on the reused connection, once more on a new one, then it fails");
  });

  it("an exchange ended while it waited for a connection sends nothing and leaves the connection in use", async () => {
    const { inst, pool } = await setUp((_h, s) => setTimeout(() => s.write(OK), 50), { connections: 1 });
    const first = run(pool, { path: "/first" });
    const gaveUp = new Promise<Error>((resolve) =>
      pool.dispatch(
        { method: "GET", path: "/gave-up", headers: {}, body: undefined },
        {
          // What Exchange does when its timer fired while it waited: abort at once.
          onConnect: (abort) => abort(new Error("timed out waiting")),
          onHeaders: () => true,
          onData: () => true,
          onComplete: () => resolve(new Error("completed")),
          onError: resolve,
        },
      ),
    );
    const third = run(pool, { path: "/third" });
    assert.equal((await gaveUp).message, "timed out waiting");
    assert.deepEqual([(await first).status, (await third).status], [200, 200]);
    assert.equal(inst.connections, 1);
    assert.deepEqual(
      inst.heads.map((h) => h.split(" ")[1]),
      ["/first", "/third"],
    );
  });

  it("fails with a stable code: a close mid-answer, bytes that are not HTTP, a header that would split the head, a refused connection", async () => {
    const { inst, pool } = await setUp((head, s) => {
      if (head.startsWith("GET /cut")) s.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
      else if (head.startsWith("GET /junk")) s.write("NOT HTTP AT ALL\r\n\r\n");
      else s.write(OK);
    });
    assert.equal((await run(pool, { path: "/cut" })).error?.code, "UPSTREAM_CLOSED");
    assert.equal((await run(pool, { path: "/junk" })).error?.code, "UPSTREAM_BAD_ANSWER");
    const heads = inst.heads.length;
    const split = await run(pool, { headers: { "x-a": "1\r\nx-injected: 1" } });
    assert.equal(split.error?.code, "UPSTREAM_BAD_REQUEST");
    assert.equal(inst.heads.length, heads, "nothing was sent");
    assert.equal((await run(pool)).status, 200, "the pool goes on");
    inst.close();
    await sleep(50);
    const refused = await run(pool, { path: "/after-close" });
    assert.equal(refused.error?.code, "ECONNREFUSED");
  });

  it("pauses the instance while the handler refuses a piece; resume() goes on; close() fails exchanges still waiting", async () => {
    const { pool } = await setUp((head, s) => {
      if (head.startsWith("GET /stream")) {
        s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n");
        setTimeout(() => s.write("1\r\nb\r\n"), 50);
        setTimeout(() => s.write("0\r\n\r\n"), 100);
      } else setTimeout(() => s.write(OK), 200);
    }, { connections: 1 });
    const pieces: string[] = [];
    let resume = (): void => {};
    const done = new Promise<void>((resolve, reject) =>
      pool.dispatch(
        { method: "GET", path: "/stream", headers: {}, body: undefined },
        {
          onConnect() {},
          onHeaders(_s, _h, r) {
            resume = r;
            return true;
          },
          onData(p) {
            pieces.push(p.toString());
            return false;
          },
          onComplete: resolve,
          onError: reject,
        },
      ),
    );
    await sleep(250);
    assert.deepEqual(pieces, ["a"], "paused after the first piece");
    resume();
    await sleep(50);
    resume();
    await done;
    assert.deepEqual(pieces, ["a", "b"]);
    const slow = run(pool, { path: "/slow" });
    const waiting = run(pool, { path: "/waits" });
    await sleep(20);
    pool.close();
    assert.equal((await waiting).error?.code, "UPSTREAM_POOL_CLOSED");
    assert.equal((await slow).status, 200, "an exchange under way finishes");
  });

  it("pieces handed out stay intact while later reads arrive: two connections answer at once, in many reads, and every held piece keeps its bytes", async () => {
    // Connections read into one shared buffer; a piece a handler keeps must be its own copy.
    const pieceOf = (tag: string, i: number): string => `${tag}${String(i).padStart(4, "0")}`.repeat(64);
    const inst = new RawInstance((head, socket) => {
      const tag = head.includes("/a") ? "a" : "b";
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
      let i = 0;
      const next = (): void => {
        if (i === 40) {
          socket.write("0\r\n\r\n");
          return;
        }
        const piece = pieceOf(tag, i++);
        socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
        setTimeout(next, 1);
      };
      next();
    });
    const pool = new OriginPool(await inst.origin());
    after(() => {
      pool.close();
      inst.close();
    });
    const held = (path: string): Promise<Buffer[]> =>
      new Promise((resolve, reject) => {
        const pieces: Buffer[] = [];
        pool.dispatch(
          { method: "GET", path, headers: {}, body: undefined },
          { onConnect() {}, onHeaders: () => true, onData: (p) => (pieces.push(p), true), onComplete: () => resolve(pieces), onError: reject },
        );
      });
    const [a, b] = await Promise.all([held("/a"), held("/b")]);
    assert.equal(inst.connections, 2);
    for (const [tag, pieces] of [["a", a], ["b", b]] as const) {
      assert.ok(pieces.length >= 20, `${tag}: the answer came in many reads (${pieces.length})`);
      const expected = Array.from({ length: 40 }, (_, i) => pieceOf(tag, i)).join("");
      assert.equal(Buffer.concat(pieces).toString(), expected, `${tag}: every held piece still has its own bytes`);
    }
  });
});
