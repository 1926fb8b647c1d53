import type { IncomingMessage, ServerResponse } from "node:http";

/** The request body exceeded the configured limit. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/** The request's body would go past the bytes all requests together may hold (BodyBudget): retry shortly. */
export class BodyOverBudget extends Error {
  constructor(readonly budgetBytes: number) {
    super(`the gateway is already holding its limit of ${budgetBytes} bytes of request bodies`);
    this.name = "BodyOverBudget";
  }
}

/** The client went away or sent a broken body. */
export class BodyAborted extends Error {
  constructor(message = "request body was not received completely") {
    super(message);
    this.name = "BodyAborted";
  }
}

/** Reads the whole body, refusing (before reading) a declared or (while reading) an actual size over `limit`. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        req.pause();
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!done) {
        done = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      }
    });
    req.on("error", () => {
      if (!done) {
        done = true;
        reject(new BodyAborted());
      }
    });
    req.on("close", () => {
      if (!done && !req.complete) {
        done = true;
        reject(new BodyAborted());
      }
    });
  });
}

/** Path segments of a request target, percent-decoded; undefined for traversal or undecodable input. */
export function pathSegments(rawUrl: string | undefined): string[] | undefined {
  if (!rawUrl || !rawUrl.startsWith("/")) return undefined;
  const q = rawUrl.indexOf("?");
  const p = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const parts = p.split("/");
  const out: string[] = [];
  // Without '%' nothing needs decoding (and no segment can hide a '/' or NUL).
  const encoded = p.includes("%");
  for (let i = 1; i < parts.length; i++) {
    const raw = parts[i]!;
    let seg = raw;
    if (encoded) {
      try {
        seg = decodeURIComponent(raw);
      } catch {
        return undefined;
      }
    }
    if (seg === "." || seg === ".." || /[/\\\0]/.test(seg)) return undefined;
    out.push(seg);
  }
  // "/endpoints/" and "/endpoints" route the same.
  if (out.length > 1 && out[out.length - 1] === "") out.pop();
  return out;
}

/** Resource names accepted in URLs (the spec module decides the stricter ARM naming rules). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(data.length), ...headers });
  res.end(data);
}

/** The bearer credential of an Authorization header value, if any. */
export function bearer(h: string | undefined): string | undefined {
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}
