import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { appendWorkerLog, contentType, csvField, csvLine, failedFiles, listOutputs, writePredictions } from "../../../../src/server/batch/outputs";

describe("batch outputs", () => {
  it("writes CSV fields as RFC 4180 does", () => {
    assert.equal(csvField("plain"), "plain");
    assert.equal(csvField('a,"b"'), '"a,""b"""');
    assert.equal(csvField("two\nlines"), '"two\nlines"');
    assert.equal(csvField(" edge"), '" edge"');
    assert.equal(csvField(null), "");
    assert.equal(csvField(1.5), "1.5");
    assert.equal(csvField(true), "true");
    assert.equal(csvField({ a: 1 }), '"{""a"":1}"');
    assert.equal(csvLine([0, "x.csv"]), "0,x.csv\n");
  });

  it("writes predictions in the order given, each mini-batch's rows as returned", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mp-batch-out-"));
    try {
      const file = path.join(dir, "jobs", "j", "predictions.csv");
      const n = await writePredictions(file, [[[1, "a"], [2, "a"]], [], [[3, "b"]]]);
      assert.equal(n, 3);
      assert.equal(readFileSync(file, "utf8"), "1,a\n2,a\n3,b\n");
      // A rewrite (a restarted server finishing the job again) gives the same file, not twice the rows.
      await writePredictions(file, [[[1, "a"], [2, "a"]], [], [[3, "b"]]]);
      assert.equal(readFileSync(file, "utf8"), "1,a\n2,a\n3,b\n");
      assert.deepEqual(await listOutputs(path.join(dir, "jobs", "j")), ["predictions.csv"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps each container's log once per instance file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mp-batch-log-"));
    try {
      await appendWorkerLog(dir, 0, "c1", "one\n");
      await appendWorkerLog(dir, 0, "c1", "one\n");
      await appendWorkerLog(dir, 0, "c2", "two");
      assert.equal(readFileSync(path.join(dir, "logs", "worker-0.log"), "utf8"), "===== container c1 =====\none\n===== container c2 =====\ntwo\n");
      assert.deepEqual(await listOutputs(dir), ["logs/worker-0.log"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists every file of failed mini-batches with the error", () => {
    const f = failedFiles([
      { idx: 0, state: "done", files: ["/a"], error: null, traceback: null },
      { idx: 1, state: "failed", files: ["/b", "/c"], error: "ValueError: x", traceback: "Traceback" },
    ]);
    assert.deepEqual(f, [
      { file: "/b", mini_batch: 1, error: "ValueError: x", traceback: "Traceback" },
      { file: "/c", mini_batch: 1, error: "ValueError: x", traceback: "Traceback" },
    ]);
  });

  it("serves outputs with a content type by extension", () => {
    assert.match(contentType("predictions.csv"), /^text\/csv/);
    assert.match(contentType("summary.json"), /^application\/json/);
    assert.match(contentType("logs/worker-0.log"), /^text\/plain/);
    assert.equal(contentType("x.bin"), "application/octet-stream");
  });
});
