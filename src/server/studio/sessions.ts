import { randomBytes } from "node:crypto";
import { secretEquals } from "../auth/keys";

export const SESSION_COOKIE = "modelplane_studio";
/** A session lives 8 h after its last use. */
export const SESSION_IDLE_MS = 8 * 60 * 60 * 1000;
/** Sessions kept at most; signing in past it ends the least recently used one (bounded memory). */
export const MAX_SESSIONS = 256;

export interface Session {
  readonly id: string;
  /** Sent by the page in `x-studio-csrf` on every state-changing call. */
  readonly csrf: string;
  lastUsed: number;
}

/** 32 random bytes, base64url: not guessable, safe in a cookie. */
function randomId(): string {
  return randomBytes(32).toString("base64url");
}

/** Studio sign-ins, kept only in memory: a server restart signs everyone out. */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly idleMs = SESSION_IDLE_MS,
    private readonly max = MAX_SESSIONS,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  create(): Session {
    this.sweep();
    if (this.byId.size >= this.max) {
      // Map order is insertion order and get() re-inserts: the first one is the least recently used.
      const lru = this.byId.keys().next().value;
      if (lru !== undefined) this.byId.delete(lru);
    }
    const s: Session = { id: randomId(), csrf: randomId(), lastUsed: this.now() };
    this.byId.set(s.id, s);
    return s;
  }

  /** The live session with this id (its idle time restarts), or undefined. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    const now = this.now();
    if (now - s.lastUsed > this.idleMs) {
      this.byId.delete(id);
      return undefined;
    }
    s.lastUsed = now;
    this.byId.delete(id);
    this.byId.set(id, s);
    return s;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.byId) if (now - s.lastUsed > this.idleMs) this.byId.delete(id);
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a session: HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), scoped to /studio. */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/studio; HttpOnly; SameSite=Strict; Max-Age=${SESSION_IDLE_MS / 1000}${secure ? "; Secure" : ""}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/studio; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The request headers the CSRF check reads (lower-case names, as node gives them). */
export interface CsrfHeaders {
  host?: string;
  origin?: string;
  "sec-fetch-site"?: string;
  "x-studio-csrf"?: string;
}

/**
 * Why a state-changing request must be refused, or undefined when it may go on. A browser sends
 * Sec-Fetch-Site and Origin on cross-site POSTs; a page of another site cannot read the CSRF token
 * (it is given only to this origin's page) nor set a custom header without a preflight this
 * server never grants. `session` undefined checks only the origin (the sign-in form).
 */
export function csrfRefusal(h: CsrfHeaders, session: Session | undefined): string | undefined {
  const site = h["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return `cross-site request refused (Sec-Fetch-Site: ${site})`;
  if (h.origin !== undefined && h.origin !== "null") {
    let host: string;
    try {
      host = new URL(h.origin).host;
    } catch {
      return "cross-site request refused (malformed Origin)";
    }
    if (host !== h.host) return `cross-site request refused (Origin ${h.origin} is not this studio)`;
  } else if (h.origin === "null") return "cross-site request refused (Origin: null)";
  if (session === undefined) return undefined;
  const presented = h["x-studio-csrf"];
  if (!presented || !secretEquals(presented, session.csrf)) return "missing or wrong x-studio-csrf header (reload the studio page)";
  return undefined;
}
