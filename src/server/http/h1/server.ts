import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { DEFAULT_BODY_BUDGET_BYTES, DEFAULT_MAX_CONNECTIONS } from "../../limits";
import { BodyBudget } from "../body-budget";
import { H1Connection, type ConnectionContext, type OwnAnswer, type OwnAnswerContext } from "./connection";
import { CONNECTION_CLOSE, dateLine, keepAliveLines, responseHead, type H1Request, type H1Response } from "./message";

export interface H1ServerOptions {
  /** Largest request head (request line and headers); larger ones get 431. @default 16 KiB */
  maxHeaderSize?: number;
  /** Largest request body buffered; handlers see BodyTooLarge past it. */
  bodyLimitBytes: number;
  /**
   * Bytes of request bodies all connections together may hold buffered; a body that would go past
   * it is not buffered and its handler sees BodyOverBudget. @default 1 GiB (DEFAULT_BODY_BUDGET_BYTES)
   */
  bodyBudgetBytes?: number;
  /** A head must arrive within this time; otherwise 408 and close. @default 15 s */
  headersTimeoutMs?: number;
  /** A whole request (head and body) must arrive within this time; otherwise 408 and close. @default 300 s */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this time. @default 65 s */
  keepAliveTimeoutMs?: number;
  /**
   * Client connections open at once; one past it is answered 503 (`too_many_connections`, Retry-After)
   * and closed without being read, and those already open are served as before. @default 10 000
   */
  maxConnections?: number;
  /** Body and extra headers (e.g. a request id) of the answers the HTTP layer gives itself (malformed requests, timeouts). */
  ownAnswer(status: number, message: string, about: OwnAnswerContext): OwnAnswer;
}

export type H1Handler = (req: H1Request, res: H1Response) => void;

/** Timeouts are checked this often at most (a quarter of the shortest one when that is shorter). */
const SWEEP_MS = 1000;

/**
 * How long a refused connection is kept to take in (and drop) what its client sends after the 503:
 * closing while its request is still arriving would reset the connection, and the client would see
 * a reset instead of the answer.
 */
const REFUSED_LINGER_MS = 2000;

/**
 * The gateway's HTTP/1.1 server: node:net sockets, http-parser-js for parsing, one write per answer.
 * It exists for speed: node:http builds stream objects per request, which cost the gateway about a
 * fifth of its CPU per request (bench/gateway.ts measures it). Bodies are buffered whole, which is
 * what the gateway does with them anyway (mirroring, retries). The management API stays on node:http.
 */
export class H1Server {
  private readonly server: Server;
  /** The request-body bytes held now and the refusals so far (read by /metrics). */
  readonly bodyBudget: BodyBudget;
  private readonly connections = new Set<H1Connection>();
  /** Client connections open at once (see H1ServerOptions.maxConnections). */
  readonly maxConnections: number;
  /** Connections refused so far for being past maxConnections (read by /metrics). */
  refusedConnections = 0;
  private readonly ctx: ConnectionContext;
  private readonly timeouts: { headersMs: number; requestMs: number; keepAliveMs: number };
  private sweeper: NodeJS.Timeout | undefined;
  /** The `date` header line of every answer, refreshed by the sweep once a second. */
  private dateLine = dateLine(new Date().toUTCString());

  constructor(opts: H1ServerOptions, handler: H1Handler) {
    const keepAliveMs = opts.keepAliveTimeoutMs ?? 65_000;
    this.timeouts = { headersMs: opts.headersTimeoutMs ?? 15_000, requestMs: opts.requestTimeoutMs ?? 300_000, keepAliveMs };
    this.bodyBudget = new BodyBudget(opts.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES);
    this.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.ctx = {
      maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024,
      bodyLimitBytes: opts.bodyLimitBytes,
      bodyBudget: this.bodyBudget,
      keepAliveLines: keepAliveLines(Math.floor(keepAliveMs / 1000)),
      dateLine: () => this.dateLine,
      handle: handler,
      ownAnswer: opts.ownAnswer,
      closed: (c) => this.connections.delete(c),
    };
    // allowHalfOpen: a client that ends its side after sending still gets its answer.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket: Socket) => {
      if (this.connections.size >= this.maxConnections) this.refuse(socket);
      else this.connections.add(new H1Connection(socket, this.ctx));
    });
  }

  /** Client connections open now (refused ones not counted). */
  get openConnections(): number {
    return this.connections.size;
  }

  /**
   * A connection past maxConnections: 503 with Retry-After at once, before anything is read (so it
   * costs no parser, and no request of it reaches a handler), then closed. What the client sends
   * meanwhile is dropped for up to REFUSED_LINGER_MS, so it gets the answer rather than a reset.
   */
  private refuse(socket: Socket): void {
    this.refusedConnections++;
    const message = `the gateway has its limit of ${this.maxConnections} client connections open: retry shortly, or reuse a keep-alive connection`;
    const { contentType, body, headers } = this.ctx.ownAnswer(503, message, { startedAt: Date.now(), handled: false, code: "too_many_connections" });
    socket.on("error", () => socket.destroy());
    socket.on("end", () => socket.destroy());
    socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
    socket.resume();
    socket.write(responseHead(503, { ...headers, "retry-after": "1", "content-type": contentType, "content-length": body.length }, this.dateLine, CONNECTION_CLOSE), "latin1");
    socket.end(body);
  }

  get listening(): boolean {
    return this.server.listening;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const { headersMs, requestMs, keepAliveMs } = this.timeouts;
        const every = Math.max(10, Math.min(SWEEP_MS, Math.floor(Math.min(headersMs, requestMs, keepAliveMs) / 4)));
        this.sweeper = setInterval(() => this.sweep(), every).unref();
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  private sweep(): void {
    const now = Date.now();
    this.dateLine = dateLine(new Date(now).toUTCString());
    for (const c of this.connections) c.sweep(now, this.timeouts);
  }

  /** Stops accepting; idle connections close now, busy ones after their answers, all by `graceMs`. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        if (this.sweeper) clearInterval(this.sweeper);
        for (const c of this.connections) c.destroy();
        resolve();
        return;
      }
      const force = setTimeout(() => {
        for (const c of this.connections) c.destroy();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(force);
        if (this.sweeper) clearInterval(this.sweeper);
        resolve();
      });
      for (const c of this.connections) c.shutdown();
    });
  }
}
