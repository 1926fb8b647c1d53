import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { durationText } from "../../../src/server/gateway/duration-text";
import { seededRandom } from "./seeded-random";

describe("durationText (access-log duration_ms)", () => {
  it("prints exactly what String(Math.round(ms * 1000) / 1000) prints", () => {
    const fixed = [0, 0.0004, 0.0005, 0.001, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 7.404, 9.9995, 10.2, 22.718, 40.661, 999.999, 1000, 299_999.9999, 86_400_000.123];
    for (const ms of fixed) assert.equal(durationText(ms), String(Math.round(ms * 1000) / 1000), `ms=${ms}`);
    const random = seededRandom(7);
    for (let i = 0; i < 20_000; i++) {
      // Spread over microseconds to hours, as request durations are.
      const ms = random() * 10 ** Math.floor(random() * 8 - 2);
      assert.equal(durationText(ms), String(Math.round(ms * 1000) / 1000), `ms=${ms}`);
    }
  });
});
