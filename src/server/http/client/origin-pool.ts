import { UpstreamConnection, UpstreamSocketError, type ConnectionOwner, type ExchangeHandler, type ExchangeRequest } from "./connection";

export interface OriginPoolOptions {
  /** Most connections open to the origin at once; exchanges past it wait in order. @default 256 */
  connections?: number;
  /** An idle connection is closed after this long (sooner when the instance's keep-alive header says so). @default 30000 */
  idleTimeoutMs?: number;
  /** Connecting fails with UPSTREAM_CONNECT_TIMEOUT past this. @default 5000 */
  connectTimeoutMs?: number;
}

/** What an exchange gets when the pool closed before it got a connection. */
const shuttingDown = (): UpstreamSocketError => new UpstreamSocketError("UPSTREAM_POOL_CLOSED", "the gateway is shutting down");

/** Margin under an instance's own keep-alive timeout: a connection it is about to close is not reused. */
const INSTANCE_IDLE_MARGIN_MS = 1000;

/**
 * Keep-alive connections to one origin (`http://host:port`): an exchange takes the most recently
 * idle connection (warm, and least likely to have been closed by the instance), else opens one up to
 * `connections`, else waits its turn. Idle connections past their limit are closed on the next
 * checkout and by a sweep every few seconds (an unref'd timer: it keeps no process alive).
 */
export class OriginPool implements ConnectionOwner {
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiting: { req: ExchangeRequest; handler: ExchangeHandler }[] = [];
  private open = 0;
  private closing = false;
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly max: number;
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(origin: string, options: OriginPoolOptions = {}) {
    const u = new URL(origin);
    if (u.protocol !== "http:") throw new Error(`instance origin ${origin}: the gateway reaches instances over plain HTTP; give the instance an http:// URL`);
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
    this.max = options.connections ?? 256;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  }

  /** Runs one exchange on a connection of this origin; every outcome reaches `handler`. */
  dispatch(req: ExchangeRequest, handler: ExchangeHandler): void {
    if (this.closing) {
      handler.onError(shuttingDown());
      return;
    }
    const c = this.checkout();
    if (c !== undefined) c.send(req, handler);
    else this.waiting.push({ req, handler });
  }

  /** Closes every connection; exchanges still waiting fail. */
  close(): void {
    this.closing = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of this.idle.splice(0)) c.close();
    for (const w of this.waiting.splice(0)) w.handler.onError(shuttingDown());
  }

  released(c: UpstreamConnection): void {
    if (this.closing) {
      c.close();
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) {
      c.send(next.req, next.handler);
      return;
    }
    c.idleSince = Date.now();
    this.idle.push(c);
    this.sweeper ??= setInterval(() => this.sweep(), 5_000).unref();
  }

  closed(c: UpstreamConnection): void {
    this.open--;
    const i = this.idle.lastIndexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    // A slot is free: the next waiting exchange gets a new connection.
    if (!this.closing && this.waiting.length > 0 && this.open < this.max) {
      const next = this.waiting.shift()!;
      this.connect().send(next.req, next.handler);
    }
  }

  retry(req: ExchangeRequest, handler: ExchangeHandler): void {
    if (this.closing) handler.onError(shuttingDown());
    // A new connection: another idle one may be just as stale.
    else if (this.open < this.max) this.connect().send(req, handler);
    else this.waiting.unshift({ req, handler });
  }

  /** An idle connection still worth using, or a new one when under the cap. */
  private checkout(): UpstreamConnection | undefined {
    const now = Date.now();
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (c.usable && now - c.idleSince < this.idleLimit(c)) return c;
      c.close();
    }
    return this.open < this.max ? this.connect() : undefined;
  }

  private connect(): UpstreamConnection {
    this.open++;
    return new UpstreamConnection(this, this.host, this.port, this.connectTimeoutMs, this.hostHeader);
  }

  private idleLimit(c: UpstreamConnection): number {
    return c.instanceIdleMs === undefined ? this.idleTimeoutMs : Math.min(this.idleTimeoutMs, c.instanceIdleMs - INSTANCE_IDLE_MARGIN_MS);
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of [...this.idle]) if (now - c.idleSince >= this.idleLimit(c)) c.close();
    if (this.idle.length === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
