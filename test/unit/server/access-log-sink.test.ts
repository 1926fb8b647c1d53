import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BufferedLines } from "../../../src/server/gateway/access-log-sink";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("BufferedLines (access-log sink)", () => {
  it("writes the lines of an interval in one write, in order, once the interval has passed", async () => {
    const writes: string[] = [];
    const sink = new BufferedLines((b) => writes.push(b.toString()), 200);
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

  it("writes a full batch before a line that would not fit, a line longer than a batch on its own, and flush() what is left", () => {
    const writes: string[] = [];
    const sink = new BufferedLines((b) => writes.push(b.toString()), 60_000, 10);
    sink.push("1234");
    sink.push("5678");
    assert.deepEqual(writes, [], "4 + 1 + 4 + 1 bytes fill the batch of 10 exactly");
    sink.push("x");
    assert.deepEqual(writes, ["1234\n5678\n"]);
    sink.push("é€");
    assert.deepEqual(writes, ["1234\n5678\n"], "x\n (2) + é€\n (2 + 3 + 1 UTF-8 bytes) fit in 10");
    sink.push("0123456789abc");
    assert.deepEqual(writes, ["1234\n5678\n", "x\né€\n", "0123456789abc\n"], "pending lines first, then the long line alone");
    sink.push("y");
    sink.flush();
    sink.flush();
    assert.deepEqual(writes.slice(3), ["y\n"], "flush writes pending lines once, and nothing when none are pending");
  });

  it("hands each batch's bytes over for good: a later batch never overwrites an earlier one", () => {
    const chunks: Buffer[] = [];
    const sink = new BufferedLines((b) => chunks.push(b), 60_000, 8);
    for (const line of ["aaa", "bbb", "ccc", "ddd"]) sink.push(line);
    sink.flush();
    assert.deepEqual(chunks.map((c) => c.toString()), ["aaa\nbbb\n", "ccc\nddd\n"]);
  });
});
