// A fake GitHub REST API on 127.0.0.1 (issue comments of acme/models, in memory) that records every call.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Call {
  method: string;
  url: string;
  auth?: string;
  body?: { body?: string };
}

/** A fake GitHub: issue comments of one repository, in memory. */
export class FakeGitHub {
  calls: Call[] = [];
  comments: Array<{ id: number; body: string; issue: number }> = [];
  /** Answer every call with this status (an error case) when set. */
  failWith?: { status: number; message: string };
  private server?: Server;
  private nextId = 100;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = "";
      req.on("data", (c: Buffer) => (raw += c.toString()));
      req.on("end", () => {
        const call: Call = { method: req.method!, url: req.url!, auth: req.headers.authorization, body: raw ? (JSON.parse(raw) as Call["body"]) : undefined };
        this.calls.push(call);
        const send = (status: number, json: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(json));
        };
        if (this.failWith) return send(this.failWith.status, { message: this.failWith.message });
        if (req.headers.authorization !== "Bearer tok") return send(401, { message: "Bad credentials" });
        let m = /^\/repos\/acme\/models\/issues\/(\d+)\/comments\?per_page=100&page=(\d+)$/.exec(req.url!);
        if (m && req.method === "GET") {
          const all = this.comments.filter((c) => c.issue === Number(m![1]));
          const page = Number(m[2]);
          return send(200, all.slice((page - 1) * 100, page * 100).map((c) => ({ id: c.id, body: c.body, html_url: `https://github.test/c/${c.id}` })));
        }
        m = /^\/repos\/acme\/models\/issues\/(\d+)\/comments$/.exec(req.url!);
        if (m && req.method === "POST") {
          const c = { id: this.nextId++, body: call.body!.body!, issue: Number(m[1]) };
          this.comments.push(c);
          return send(201, { id: c.id, body: c.body, html_url: `https://github.test/c/${c.id}` });
        }
        m = /^\/repos\/acme\/models\/issues\/comments\/(\d+)$/.exec(req.url!);
        const found = m ? this.comments.find((c) => c.id === Number(m![1])) : undefined;
        if (found && req.method === "PATCH") {
          found.body = call.body!.body!;
          return send(200, { id: found.id, body: found.body, html_url: `https://github.test/c/${found.id}` });
        }
        send(404, { message: "Not Found" });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}
