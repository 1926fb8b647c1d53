import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GatewayError, failureStatus, isInstanceFault, sanitize, upstreamFailure } from "../../../src/server/gateway/errors";
import { UpstreamTooLarge } from "../../../src/server/gateway/upstream";

describe("gateway failures", () => {
  it("maps every code to its documented status", () => {
    const want: Record<string, number> = {
      unauthorized: 401,
      endpoint_not_found: 404,
      no_deployment_with_traffic: 404,
      request_timeout: 408,
      payload_too_large: 413,
      model_error: 424,
      too_many_requests: 429,
      upstream_connection_failed: 502,
      upstream_response_too_large: 502,
      no_healthy_instance: 503,
    };
    for (const [code, status] of Object.entries(want)) {
      assert.equal(failureStatus(new GatewayError(code as never, "m")).status, status, code);
    }
  });

  it("a GatewayError is an answer, not a bug: no stack frames, and other errors keep theirs", () => {
    const e = new GatewayError("unauthorized", "missing or invalid key");
    assert.equal(e.stack, "GatewayError: missing or invalid key");
    assert.deepEqual([e.code, e.message, e instanceof Error], ["unauthorized", "missing or invalid key", true]);
    assert.match(new Error("bug").stack ?? "", /\n\s+at /, "the stack trace limit is restored");
  });

  it("turns unknown errors into a 500 without echoing their message", () => {
    const f = failureStatus(new Error("secret internals"));
    assert.equal(f.status, 500);
    assert.equal(f.code, "internal_error");
    assert.ok(!f.message.includes("secret"));
  });

  it("classifies upstream transport errors", () => {
    assert.equal(upstreamFailure(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), false, 100).code, "upstream_connection_failed");
    assert.equal(upstreamFailure(new Error("aborted"), true, 100).code, "request_timeout");
  });

  it("answers a request the gateway could not write with 500 and does not blame the instance", () => {
    const unwritable = Object.assign(new Error("header has a CR"), { code: "UPSTREAM_BAD_REQUEST" });
    assert.deepEqual(failureStatus(upstreamFailure(unwritable, false, 100)), { status: 500, code: "internal_error", message: "the gateway could not send the request to the model" });
    assert.equal(isInstanceFault(unwritable, false), false);
  });

  it("blames the instance only for transport failures", () => {
    assert.equal(isInstanceFault(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), false), true);
    assert.equal(isInstanceFault(Object.assign(new Error("x"), { code: "UPSTREAM_CLOSED" }), false), true);
    assert.equal(isInstanceFault(new Error("aborted"), true), false);
    assert.equal(isInstanceFault(new UpstreamTooLarge(65536, 200), false), false);
  });

  it("answers a model's answer past the response limit with 502, naming the limit and the flag that raises it", () => {
    const f = failureStatus(upstreamFailure(new UpstreamTooLarge(65536, 200), false, 100));
    assert.deepEqual(f, {
      status: 502,
      code: "upstream_response_too_large",
      message: "the model's answer exceeds the gateway's response limit of 65536 bytes: answer with less, or start the server with a larger --response-limit-bytes",
    });
  });

  it("sanitizes echoed values", () => {
    assert.equal(sanitize("<script>alert(1)</script>"), "?script?alert?1??/script?");
    assert.equal(sanitize("a\r\nSet-Cookie: x"), "a??Set-Cookie:?x");
    assert.equal(sanitize("x".repeat(100)).length, 67);
  });
});
