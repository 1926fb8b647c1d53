import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo, type Server } from "node:net";
import { httpCall, HttpCallError } from "../../../src/api-client/http-call";

describe("httpCall (the CLI's and the providers' HTTP client)", () => {
  const servers: { close(): unknown }[] = [];
  after(() => {
    for (const s of servers) s.close();
  });
  const listen = async (s: Server | ReturnType<typeof createHttpServer>): Promise<string> => {
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  const failure = async (p: Promise<unknown>): Promise<HttpCallError> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof HttpCallError, `an HttpCallError, got ${String(err)}`);
      return err;
    }
    assert.fail("it should have failed");
  };

  it("fails with ECONNRESET at once when the server closes the connection right after accepting it (what Docker's port proxy does while its container is not listening)", async () => {
    const url = await listen(createServer((s) => s.end()));
    const t0 = Date.now();
    const err = await failure(httpCall(`${url}/healthz`, { method: "GET", timeoutMs: 10_000 }));
    assert.equal(err.code, "ECONNRESET");
    assert.ok(Date.now() - t0 < 2000, "not at the timeout");
  });

  it("sends method, headers and a body with its length; answers status, lower-case headers and the text", async () => {
    const url = await listen(
      createHttpServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          res.writeHead(201, { "X-Echo": `${req.method} ${req.url} ${req.headers["content-length"]} ${req.headers.authorization}` });
          res.end(`got ${body}`);
        });
      }),
    );
    const res = await httpCall(`${url}/score`, { method: "POST", headers: { authorization: "Bearer k" }, body: '{"é":1}', timeoutMs: 5000 });
    assert.equal(res.status, 201);
    assert.equal(res.headers["x-echo"], "POST /score 8 Bearer k", "the length in bytes (é is two)");
    assert.equal(await res.text(), 'got {"é":1}');
  });

  it("a body cut short breaks off with ECONNRESET; silence past timeoutMs fails with ETIMEDOUT; a closed port with ECONNREFUSED", async () => {
    const cut = await listen(
      createServer((s) =>
        s.once("data", () => {
          s.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
          setTimeout(() => s.destroy(), 50);
        }),
      ),
    );
    const res = await httpCall(cut, { method: "GET", timeoutMs: 5000 });
    assert.equal(res.status, 200);
    assert.equal((await failure(res.text())).code, "ECONNRESET");

    const silent = await listen(createServer(() => {}));
    const t0 = Date.now();
    const late = await failure(httpCall(silent, { method: "GET", timeoutMs: 200 }));
    assert.equal(late.code, "ETIMEDOUT");
    assert.ok(Date.now() - t0 >= 190);

    const closedServer = createServer();
    const closed = await listen(closedServer);
    await new Promise((r) => closedServer.close(r));
    assert.equal((await failure(httpCall(closed, { method: "GET", timeoutMs: 5000 }))).code, "ECONNREFUSED");
  });
});
