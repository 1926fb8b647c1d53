import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { fingerprint, imageProvider, type ImageInputs } from "../../../src/providers/images/image";

describe("fingerprint", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mp-fp-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const dir = path.join(tmp, "d");
  mkdirSync(path.join(dir, "sub"), { recursive: true });
  writeFileSync(path.join(dir, "a.txt"), "a");
  writeFileSync(path.join(dir, "sub", "b.txt"), "b");

  it("is a sha256 hex digest, stable across calls", () => {
    assert.match(fingerprint([dir]), /^[0-9a-f]{64}$/);
    assert.equal(fingerprint([dir]), fingerprint([dir]));
  });
  it("changes with file content, with a new file, and with the extra strings", () => {
    const before = fingerprint([dir]);
    writeFileSync(path.join(dir, "sub", "b.txt"), "b2");
    const edited = fingerprint([dir]);
    assert.notEqual(edited, before);
    writeFileSync(path.join(dir, "c.txt"), "");
    assert.notEqual(fingerprint([dir]), edited);
    assert.notEqual(fingerprint([dir], ["x"]), fingerprint([dir]));
    assert.notEqual(fingerprint([dir], ["x"]), fingerprint([dir], ["y"]));
  });
  it("ignores node_modules and __pycache__", () => {
    const before = fingerprint([dir]);
    for (const skip of ["node_modules", "__pycache__"]) {
      mkdirSync(path.join(dir, skip), { recursive: true });
      writeFileSync(path.join(dir, skip, "x"), "x");
    }
    assert.equal(fingerprint([dir]), before);
  });
  it("includes file paths (a rename changes it)", () => {
    const f1 = path.join(tmp, "one.txt");
    const f2 = path.join(tmp, "two.txt");
    writeFileSync(f1, "same");
    writeFileSync(f2, "same");
    assert.notEqual(fingerprint([f1]), fingerprint([f2]));
  });
  it("throws for a missing path", () => {
    assert.throws(() => fingerprint([path.join(tmp, "missing")]), /ENOENT/);
  });
});

describe("imageProvider.diff", () => {
  const olds: ImageInputs = { kind: "custom-server", baseImage: "modelplane/base:bookworm", condaFile: "/c/conda.yaml", fingerprint: "f".repeat(64), stackRepository: "modelplane-dev/custom-server" };
  it("no change", async () => {
    assert.deepEqual(await imageProvider.diff!("id", olds as never, { ...olds }), { changes: false, replaces: [] });
  });
  it("every input replaces (an image is immutable)", async () => {
    const changes: Partial<ImageInputs>[] = [{ kind: "modelplane-server" }, { baseImage: "b:2" }, { condaFile: undefined }, { fingerprint: "e".repeat(64) }, { stackRepository: "modelplane-prod/custom-server" }];
    const fields = ["kind", "baseImage", "condaFile", "fingerprint", "stackRepository"];
    for (const [i, c] of changes.entries()) assert.deepEqual(await imageProvider.diff!("id", olds as never, { ...olds, ...c }), { changes: true, replaces: [fields[i]] });
    assert.deepEqual(await imageProvider.diff!("id", olds as never, { ...olds, baseImage: "b:2", fingerprint: "0".repeat(64) }), { changes: true, replaces: ["baseImage", "fingerprint"] });
  });
  it("has no update (every change replaces) and no deleteBeforeReplace (the old tag stays until the new one exists)", () => {
    assert.equal(imageProvider.update, undefined);
  });
});
