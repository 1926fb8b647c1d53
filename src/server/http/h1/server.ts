import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { DEFAULT_BODY_BUDGET_BYTES } from "../../limits";
import { BodyBudget } from "../body-budget";
import { H1Connection, type ConnectionContext, type OwnAnswer, type OwnAnswerContext } from "./connection";
import { dateLine, keepAliveLines, type H1Request, type H1Response } from "./message";

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
  /** Body and extra headers (e.g. a request id) of the answers the HTTP layer gives itself (malformed requests, timeouts). */
  ownAnswer(status: number, message: string, about: OwnAnswerContext): OwnAnswer;
}

export type H1Handler = (req: H1Request, res: H1Response) => void;

/** Timeouts are checked this often at most (a quarter of the shortest one when that is shorter). */
const SWEEP_MS = 1000;

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
  private readonly ctx: ConnectionContext;
  private readonly timeouts: { headersMs: number; requestMs: number; keepAliveMs: number };
  private sweeper: NodeJS.Timeout | undefined;
  /** The `date` header line of every answer, refreshed by the sweep once a second. */
  private dateLine = dateLine(new Date().toUTCString());

  constructor(opts: H1ServerOptions, handler: H1Handler) {
    const keepAliveMs = opts.keepAliveTimeoutMs ?? 65_000;
    this.timeouts = { headersMs: opts.headersTimeoutMs ?? 15_000, requestMs: opts.requestTimeoutMs ?? 300_000, keepAliveMs };
    this.bodyBudget = new BodyBudget(opts.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES);
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
      this.connections.add(new H1Connection(socket, this.ctx));
    });
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
