// The bench's second control, the Node floor: a proxy on the gateway's own parts (node:net with the
// gateway's strict http-parser-js request parser in, its OriginPool out) doing nothing else: no auth, routing, limits,
// metrics or log. What it adds is the platform's share of the gateway's cost; the rest is the
// gateway's features. Bundled with esbuild and run like the server: node floor.js PORT UPSTREAM_PORT.
import { createServer } from "node:net";
import { HTTPParser } from "http-parser-js";
import { OriginPool } from "../src/server/http/client/origin-pool";
import { strictRequestParser } from "../src/server/http/h1/parser";

const [port, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new OriginPool(`http://127.0.0.1:${upstreamPort}`, { connections: 256 });

createServer({ noDelay: true }, (sock) => {
  const parser = strictRequestParser(16 * 1024);
  let chunks: Buffer[] = [];
  parser[HTTPParser.kOnHeadersComplete] = () => {
    chunks = [];
  };
  parser[HTTPParser.kOnBody] = (b: Buffer, start: number, len: number) => {
    chunks.push(b.subarray(start, start + len));
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    const out: Buffer[] = [];
    let status = 0;
    pool.dispatch(
      { method: "POST", path: "/score", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) },
      {
        onConnect() {},
        onHeaders(s) {
          status = s;
          return true;
        },
        onData(c) {
          out.push(c);
          return true;
        },
        onComplete() {
          const b = Buffer.concat(out);
          sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 ${status} OK\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n`, "latin1"), b]));
        },
        onError() {
          sock.destroy();
        },
      },
    );
  };
  sock.on("data", (d: Buffer) => parser.execute(d));
  sock.on("error", () => {});
}).listen(port, "127.0.0.1");
