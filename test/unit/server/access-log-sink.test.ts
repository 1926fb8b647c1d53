import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BufferedLines } from "../../../src/server/gateway/access-log-sink";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("BufferedLines (access-log sink)", () => {
  it("writes the lines of an interval in one write, in order, once the interval has passed", async () => {
    const writes: string[] = [];
    const sink = new BufferedLines((t) => writes.push(t), 200);
    sink.push("a");
    sink.push("b");
    await sleep(5);
    sink.push("c");
    assert.deepEqual(writes, [], "nothing is written before the interval ends");
    await sleep(300);
    assert.deepEqual(writes, ["a\nb\nc\n"]);
    sink.push("d");
    await sleep(300);
    assert.deepEqual(writes, ["a\nb\nc\n", "d\n"], "the next line starts a new interval");
  });

  it("writes at once when the pending bytes reach the cap, and flush() writes what is left", () => {
    const writes: string[] = [];
    const sink = new BufferedLines((t) => writes.push(t), 60_000, 10);
    sink.push("1234");
    sink.push("5678");
    assert.deepEqual(writes, ["1234\n5678\n"], "4 + 1 + 4 + 1 bytes reach the cap of 10");
    sink.push("x");
    sink.flush();
    sink.flush();
    assert.deepEqual(writes, ["1234\n5678\n", "x\n"], "flush writes pending lines once, and nothing when none are pending");
  });
});
