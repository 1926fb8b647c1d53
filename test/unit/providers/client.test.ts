import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { demuxDockerStream, isNotFound } from "../../../src/providers/docker/client";

function frame(stream: 0 | 1 | 2, text: string): Buffer {
  const body = Buffer.from(text, "utf8");
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe("demuxDockerStream", () => {
  it("joins stdout and stderr frames in order", () => {
    assert.equal(demuxDockerStream(Buffer.concat([frame(1, "out 1\n"), frame(2, "err ü\n"), frame(1, "out 2\n")])), "out 1\nerr ü\nout 2\n");
  });
  it("accepts stdin (0) frames and empty frames", () => {
    assert.equal(demuxDockerStream(Buffer.concat([frame(0, ""), frame(1, "x")])), "x");
  });
  it("returns a non-multiplexed (TTY) stream as text", () => {
    assert.equal(demuxDockerStream(Buffer.from("plain log line\n")), "plain log line\n");
    assert.equal(demuxDockerStream(Buffer.alloc(0)), "");
  });
  it("stops at a partial header after whole frames; keeps a truncated last payload", () => {
    assert.equal(demuxDockerStream(Buffer.concat([frame(1, "a\n"), Buffer.from([1, 0, 0])])), "a\n");
    assert.equal(demuxDockerStream(frame(1, "abcdef").subarray(0, 11)), "abc");
  });
  it("stops at a frame with an unknown stream byte", () => {
    const bad = frame(1, "zz");
    bad[0] = 7;
    assert.equal(demuxDockerStream(Buffer.concat([frame(2, "ok"), bad])), "ok");
  });
});

describe("isNotFound", () => {
  it("is true only for statusCode 404", () => {
    assert.equal(isNotFound({ statusCode: 404 }), true);
    assert.equal(isNotFound({ statusCode: 500 }), false);
    assert.equal(isNotFound(new Error("404")), false);
    assert.equal(isNotFound(null), false);
  });
});
