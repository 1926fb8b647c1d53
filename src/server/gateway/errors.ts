import { STATUS_CODES } from "node:http";
import type { ResponseHeaders } from "../http/h1/message";
import { UpstreamTooLarge } from "./upstream";

/** Stable codes of every failure the gateway answers with. */
export type GatewayErrorCode =
  | "bad_request"
  | "unauthorized"
  | "endpoint_not_found"
  | "deployment_not_found"
  | "no_deployment_with_traffic"
  | "not_found"
  | "method_not_allowed"
  | "request_timeout"
  | "payload_too_large"
  | "expectation_failed"
  | "headers_too_large"
  | "http_version_not_supported"
  | "model_error"
  | "too_many_requests"
  | "upstream_connection_failed"
  | "upstream_response_too_large"
  | "no_healthy_instance"
  | "too_many_connections"
  | "internal_error";

/**
 * The one error type of the gateway. `detail` is extra safe-to-echo context. It carries no stack
 * trace: it is an answer (401, 404, 429, ...), not a bug, and capturing one cost about 17 us per
 * error against 1 us without, which a flood of bad keys or a 429 storm would pay on every request.
 */
export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly detail: { upstreamStatus?: number; upstreamBody?: Buffer; upstreamContentType?: string } = {},
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "GatewayError";
  }
}

const STATUS: Record<GatewayErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  endpoint_not_found: 404,
  deployment_not_found: 404,
  no_deployment_with_traffic: 404,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  expectation_failed: 417,
  headers_too_large: 431,
  http_version_not_supported: 505,
  model_error: 424,
  too_many_requests: 429,
  upstream_connection_failed: 502,
  upstream_response_too_large: 502,
  no_healthy_instance: 503,
  too_many_connections: 503,
  internal_error: 500,
};

/**
 * The one mapping from any failure to the HTTP answer. GatewayErrors keep their code; anything
 * else is the gateway's own bug (500, message not echoed).
 */
export function failureStatus(err: unknown): { status: number; code: GatewayErrorCode; message: string } {
  if (err instanceof GatewayError) return { status: STATUS[err.code], code: err.code, message: err.message };
  return { status: 500, code: "internal_error", message: "the gateway failed to handle the request" };
}

/**
 * The JSON error body of an answer the HTTP layer gives itself (bad framing, timeouts), by status,
 * or by `code` when the HTTP layer names one (a status alone can mean more than one thing: 503).
 */
export function protocolErrorBody(status: number, message: string, code?: string): { contentType: string; body: Buffer } {
  code = code !== undefined && code in STATUS ? code : ((Object.keys(STATUS) as GatewayErrorCode[]).find((c) => STATUS[c] === status) ?? "bad_request");
  return { contentType: "application/json; charset=utf-8", body: Buffer.from(JSON.stringify({ error: { code, message } })) };
}

/** The headers a 424 carries (Azure's names): the model's own status code and its reason phrase. */
export function modelErrorHeaders(upstreamStatus: number): ResponseHeaders {
  return { "ms-azureml-model-error-statuscode": String(upstreamStatus), "ms-azureml-model-error-reason": STATUS_CODES[upstreamStatus] ?? "Unknown" };
}

/** Makes a user-supplied value safe to echo: printable ASCII only, bounded length. */
export function sanitize(value: string, max = 64): string {
  const clean = value.replace(/[^A-Za-z0-9._~:/@+-]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** Classifies an upstream failure (the upstream client's transport errors, an answer past the limit) into a GatewayError. */
export function upstreamFailure(err: unknown, timedOut: boolean, timeoutMs: number): GatewayError {
  if (err instanceof GatewayError) return err;
  if (timedOut) return new GatewayError("request_timeout", `the model did not answer within request_timeout_ms (${timeoutMs} ms)`);
  if (err instanceof UpstreamTooLarge) {
    return new GatewayError("upstream_response_too_large", `the model's answer exceeds the gateway's response limit of ${err.limitBytes} bytes: answer with less, or start the server with a larger --response-limit-bytes`);
  }
  const code = (err as { code?: unknown })?.code;
  // The gateway's own request could not be written (a header value with CR, LF or NUL): its bug, not the model's.
  if (code === "UPSTREAM_BAD_REQUEST") return new GatewayError("internal_error", "the gateway could not send the request to the model");
  return new GatewayError("upstream_connection_failed", `connection to the model failed${typeof code === "string" ? ` (${sanitize(code)})` : ""}`);
}

/**
 * Whether a failed exchange says the instance itself is broken (passive health: it is ejected until
 * an active check passes). A timeout or an oversized answer came from a live instance, and a request
 * the gateway could not write never reached it.
 */
export function isInstanceFault(err: unknown, timedOut: boolean): boolean {
  return ejectsInstance(upstreamFailure(err, timedOut, 0));
}

/** The same rule on a failure already classified by upstreamFailure: those answered as a broken connection eject. */
export function ejectsInstance(failure: GatewayError): boolean {
  return failure.code === "upstream_connection_failed";
}
