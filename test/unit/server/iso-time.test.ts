import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IsoTime } from "../../../src/server/gateway/iso-time";
import { seededRandom } from "./seeded-random";

describe("IsoTime (access-log time)", () => {
  it("formats exactly as Date.toISOString across millisecond, second, day and year boundaries, forwards and back", () => {
    const clock = new IsoTime();
    const random = seededRandom(11);
    const starts = [Date.UTC(2026, 11, 31, 23, 59, 59, 990), Date.UTC(2024, 1, 28, 23, 59, 58, 500), 0, Date.UTC(2026, 10, 26, 5, 0, 0, 0)];
    let checked = 0;
    for (const start of starts) {
      let t = start;
      for (let i = 0; i < 3000; i++) {
        // Mostly small steps forward, sometimes the same millisecond, sometimes a jump back (clock adjusted).
        const r = random();
        t += r < 0.1 ? 0 : r < 0.97 ? Math.floor(random() * 5) : -Math.floor(random() * 5000);
        assert.equal(clock.format(t), new Date(t).toISOString(), `t=${t}`);
        checked++;
      }
    }
    assert.equal(checked, 12_000);
  });
});
