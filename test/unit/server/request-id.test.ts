import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newRequestId } from "../../../src/server/gateway/request-id";

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newRequestId", () => {
  it("returns version 4 UUIDs in randomUUID's format, all different, past several pool refills", () => {
    const ids = Array.from({ length: 2000 }, () => newRequestId());
    for (const id of ids) assert.match(id, V4);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("spreads every random hex digit over all 16 values", () => {
    // Digits outside the version and variant positions: each should take all 16 values in 2000 ids.
    const seen = Array.from({ length: 36 }, () => new Set<string>());
    for (let n = 0; n < 2000; n++) [...newRequestId()].forEach((c, i) => seen[i]!.add(c));
    for (let i = 0; i < 36; i++) {
      if ([8, 13, 18, 23].includes(i)) assert.deepEqual([...seen[i]!], ["-"]);
      else if (i === 14) assert.deepEqual([...seen[i]!], ["4"]);
      else if (i === 19) assert.deepEqual([...seen[i]!].sort(), ["8", "9", "a", "b"]);
      else assert.equal(seen[i]!.size, 16, `position ${i}`);
    }
  });
});
