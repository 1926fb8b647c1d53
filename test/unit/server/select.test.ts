import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cumulative, leastOutstanding, pickWeighted, shouldMirror } from "../../../src/server/gateway/select";
import { seededRandom } from "./seeded-random";

describe("routing choices", () => {
  it("splits 10 000 draws at 90/10 within +-2 points (several seeds)", () => {
    const c = cumulative({ blue: 90, green: 10 });
    for (const seed of [1, 2, 3, 42, 1234]) {
      const r = seededRandom(seed);
      let green = 0;
      for (let i = 0; i < 10_000; i++) if (pickWeighted(c, r()) === "green") green++;
      assert.ok(Math.abs(green / 100 - 10) <= 2, `seed ${seed}: ${green / 100}%`);
    }
  });

  it("maps the unit interval exactly onto the weights and skips 0%", () => {
    const c = cumulative({ a: 0, b: 25, c: 75 });
    assert.deepEqual(c.names, ["b", "c"]);
    assert.equal(pickWeighted(c, 0), "b");
    assert.equal(pickWeighted(c, 0.2499), "b");
    assert.equal(pickWeighted(c, 0.25), "c");
    assert.equal(pickWeighted(c, 0.99999), "c");
    assert.equal(pickWeighted(cumulative({ a: 0, b: 0 }), 0.5), undefined);
    assert.equal(pickWeighted(cumulative({}), 0.5), undefined);
  });

  it("mirrors exactly the configured share", () => {
    assert.equal(shouldMirror(0, 0), false);
    assert.equal(shouldMirror(10, 0.0999), true);
    assert.equal(shouldMirror(10, 0.1), false);
    const r = seededRandom(7);
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (shouldMirror(20, r())) n++;
    assert.ok(Math.abs(n / 100 - 20) <= 2);
  });

  it("picks the healthy instance with the fewest outstanding requests", () => {
    const xs = [
      { healthy: true, outstanding: 3 },
      { healthy: false, outstanding: 0 },
      { healthy: true, outstanding: 1 },
    ];
    assert.equal(leastOutstanding(xs), 2);
    assert.equal(leastOutstanding([{ healthy: false, outstanding: 0 }]), -1);
    // Ties rotate with the start index.
    const tie = [
      { healthy: true, outstanding: 0 },
      { healthy: true, outstanding: 0 },
    ];
    assert.equal(leastOutstanding(tie, 0), 0);
    assert.equal(leastOutstanding(tie, 1), 1);
  });
});
