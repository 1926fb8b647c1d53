import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { generateKey, hashKey, keyDigests, keyMatches, seal, secretEquals, unseal } from "../../../src/server/auth/keys";
import { issueToken, verifyToken } from "../../../src/server/auth/tokens";

describe("keys", () => {
  it("generates distinct 256-bit keys and matches them by hash", () => {
    const a = generateKey();
    const b = generateKey();
    assert.notEqual(a, b);
    assert.equal(Buffer.from(a, "base64url").length, 32);
    assert.equal(keyMatches(a, keyDigests([hashKey(b), hashKey(a)])), true);
    assert.equal(keyMatches("nope", keyDigests([hashKey(a), hashKey(b)])), false);
    assert.equal(keyMatches(a, keyDigests(["", "zz"])), false);
  });

  it("seals and unseals, and detects tampering", () => {
    const k = randomBytes(32);
    const s = seal("hello", k);
    assert.ok(!s.includes("hello"));
    assert.equal(unseal(s, k), "hello");
    assert.throws(() => unseal(s, randomBytes(32)));
  });

  it("compares secrets in constant time regardless of length", () => {
    assert.equal(secretEquals("abc", "abc"), true);
    assert.equal(secretEquals("abc", "abcd"), false);
  });
});

describe("tokens", () => {
  const secret = new Uint8Array(randomBytes(32));
  it("verifies for its endpoint until expiry", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const t = await issueToken(secret, "ep-a", 3600, now);
    assert.equal(t.expiryTimeUtc, "2026-01-01T01:00:00.000Z");
    assert.equal(t.refreshAfterTimeUtc, "2026-01-01T00:30:00.000Z");
    assert.equal(await verifyToken(secret, "ep-a", t.accessToken, new Date("2026-01-01T00:59:00Z")), true);
    assert.equal(await verifyToken(secret, "ep-a", t.accessToken, new Date("2026-01-01T01:00:01Z")), false, "expired");
    assert.equal(await verifyToken(secret, "ep-b", t.accessToken, now), false, "other endpoint");
    assert.equal(await verifyToken(new Uint8Array(randomBytes(32)), "ep-a", t.accessToken, now), false, "other server");
    assert.equal(await verifyToken(secret, "ep-a", "not-a-jwt", now), false);
  });
});
