import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { findCorpusRoot, sharedCandidates } from "../../conformance-corpus";

test("conformance corpus: MODELPLANE_SHARED_DIR is tried first, then ../shared and /work/shared", () => {
  const tried = sharedCandidates({ MODELPLANE_SHARED_DIR: "/data/shared" });
  assert.equal(tried.length, 3);
  assert.equal(tried[0], "/data/shared");
  assert.equal(tried[1], path.resolve(__dirname, "../../../../shared"));
  assert.equal(tried[2], "/work/shared");
  assert.deepEqual(sharedCandidates({}), tried.slice(1));
});

test("conformance corpus: the first folder holding it wins; none holding it is an error naming each place and the fix", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mp-corpus-"));
  try {
    const empty = path.join(dir, "empty");
    const shared = path.join(dir, "shared");
    mkdirSync(empty);
    mkdirSync(path.join(shared, "conformance/azureml-examples"), { recursive: true });
    assert.equal(findCorpusRoot([empty, shared]), path.join(shared, "conformance/azureml-examples"));
    const missing = findCorpusRoot([empty]);
    assert.ok(missing instanceof Error);
    assert.match(missing.message, new RegExp(`looked for conformance/azureml-examples in ${empty}\\.`));
    assert.match(missing.message, /Set MODELPLANE_SHARED_DIR/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
