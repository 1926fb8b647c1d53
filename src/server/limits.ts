// The server's size and time limits: defaults, the one check of their values, and the command-line
// flags that set them. Kept apart from main.ts so the Pulumi program (components/ControlPlane) can
// check a stack's limits and pass them to the server container without loading the server itself.

/**
 * Default body limit: 100 MiB. Bodies are buffered (they may be mirrored and retried), so the limit
 * also bounds memory per request. The HTTP layer (src/server/http/h1) enforces it.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 100 * 1024 * 1024;
/** Default bytes of request bodies buffered at once, across all requests: 1 GiB. */
export const DEFAULT_BODY_BUDGET_BYTES = 1024 * 1024 * 1024;
/** Default cap on an instance's answer: 100 MiB, as the request body limit. */
export const DEFAULT_RESPONSE_LIMIT_BYTES = 100 * 1024 * 1024;
/** Default time a client has to send a whole scoring request: 5 minutes. */
export const DEFAULT_CLIENT_REQUEST_TIMEOUT_MS = 300_000;
/**
 * Default cap on open client connections: 10 000. An idle connection holds about 4.5 KiB of the
 * server's memory (measured: 20 000 of them took 91 MB), so the cap bounds that at about 45 MB.
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

export interface ServerLimits {
  /** Largest scoring request body; larger ones get 413. @default 100 MiB */
  bodyLimitBytes?: number;
  /**
   * Bytes of scoring request bodies buffered at once across all requests; a request whose body
   * would go past it gets 429 with Retry-After, and its connection closes. At least bodyLimitBytes.
   * @default 1 GiB
   */
  bodyBudgetBytes?: number;
  /** Largest answer read from a model instance (answers are buffered); larger ones get 502 upstream_response_too_large. @default 100 MiB */
  responseLimitBytes?: number;
  /**
   * How long a client has to send a whole scoring request, head and body; 408 after that (the head
   * alone has 15 s). @default 300000 (5 minutes)
   */
  clientRequestTimeoutMs?: number;
  /**
   * Client connections the gateway keeps open at once. One past it is answered 503
   * `too_many_connections` with `Retry-After: 1` and closed, and the connections already open keep
   * being served. @default 10000
   */
  maxConnections?: number;
}

/** The limits in check order, each with its `modelplane server` flag (src/server/cli.ts). */
export const SERVER_LIMIT_FLAGS: Record<keyof ServerLimits, string> = {
  bodyLimitBytes: "--body-limit-bytes",
  bodyBudgetBytes: "--body-budget-bytes",
  responseLimitBytes: "--response-limit-bytes",
  clientRequestTimeoutMs: "--client-request-timeout-ms",
  maxConnections: "--max-connections",
};

/** A limit the server could not keep: which one, and a message quoting its value and the fix. */
export interface LimitProblem {
  field: keyof ServerLimits;
  message: string;
}

/** Every limit the server could not keep (NaN would silently mean "no limit"); empty when all are fine. */
export function serverLimitProblems(l: ServerLimits): LimitProblem[] {
  const problems: LimitProblem[] = [];
  const b = l.bodyLimitBytes;
  const bodyLimitOk = b === undefined || (Number.isSafeInteger(b) && b >= 0);
  if (!bodyLimitOk) problems.push({ field: "bodyLimitBytes", message: `bodyLimitBytes: ${String(b)} is not a whole number of bytes; give 0 or more (default ${DEFAULT_BODY_LIMIT_BYTES})` });
  const budget = l.bodyBudgetBytes;
  const limit = bodyLimitOk ? (b ?? DEFAULT_BODY_LIMIT_BYTES) : 0;
  if (budget !== undefined && !(Number.isSafeInteger(budget) && budget >= limit)) {
    problems.push({
      field: "bodyBudgetBytes",
      message: `bodyBudgetBytes: ${String(budget)} is not a whole number of bytes of at least bodyLimitBytes (${limit}); a body at the limit must fit, so give ${limit} or more, or lower bodyLimitBytes (default ${DEFAULT_BODY_BUDGET_BYTES})`,
    });
  }
  const r = l.responseLimitBytes;
  if (r !== undefined && !(Number.isSafeInteger(r) && r >= 1)) {
    problems.push({ field: "responseLimitBytes", message: `responseLimitBytes: ${String(r)} is not a whole number of bytes of at least 1; give the largest model answer to accept (default ${DEFAULT_RESPONSE_LIMIT_BYTES})` });
  }
  const t = l.clientRequestTimeoutMs;
  if (t !== undefined && !(Number.isSafeInteger(t) && t >= 1000)) {
    problems.push({ field: "clientRequestTimeoutMs", message: `clientRequestTimeoutMs: ${String(t)} is not a whole number of milliseconds of at least 1000; the layer checks timeouts once a second, so give 1000 or more` });
  }
  const c = l.maxConnections;
  if (c !== undefined && !(Number.isSafeInteger(c) && c >= 1)) {
    problems.push({ field: "maxConnections", message: `maxConnections: ${String(c)} is not a whole number of connections of at least 1; give how many clients may be connected at once (default ${DEFAULT_MAX_CONNECTIONS})` });
  }
  return problems;
}

/** Throws the first problem of serverLimitProblems, if any. */
export function checkServerOptions(l: ServerLimits): void {
  const first = serverLimitProblems(l)[0];
  if (first) throw new Error(first.message);
}

/** The command-line flags that set the given limits (those left out keep the server's defaults). */
export function serverLimitFlags(l: ServerLimits): string[] {
  const flags: string[] = [];
  for (const field of Object.keys(SERVER_LIMIT_FLAGS) as (keyof ServerLimits)[]) {
    const v = l[field];
    if (v !== undefined) flags.push(SERVER_LIMIT_FLAGS[field], String(v));
  }
  return flags;
}
