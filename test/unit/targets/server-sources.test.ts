// The server image is rebuilt when SERVER_SOURCES change: so every file of the repo its bundle
// takes in must be under one of them (a file outside would change the server without a new image).
import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { SERVER_SOURCES } from "../../../src/targets/server-image";

const ROOT = path.resolve(__dirname, "../../..");

test("every repo file the server bundle takes in is under SERVER_SOURCES", async () => {
  // esbuild comes with tsx, as for the image's own bundle (src/server/image.ts).
  const esbuild = (await import(require.resolve("esbuild", { paths: [path.dirname(require.resolve("tsx/package.json")), ROOT] }))) as { build(o: Record<string, unknown>): Promise<{ metafile: { inputs: Record<string, unknown> } }> };
  const r = await esbuild.build({ entryPoints: [path.join(ROOT, "src/server/run.ts")], bundle: true, platform: "node", target: "node20", format: "cjs", write: false, metafile: true, external: ["better-sqlite3", "dockerode"], logLevel: "silent", absWorkingDir: ROOT });
  const repoFiles = Object.keys(r.metafile.inputs).filter((f) => !f.includes("node_modules"));
  assert.ok(repoFiles.length > 50, `the bundle's inputs: ${repoFiles.length}`);
  const outside = repoFiles.filter((f) => !SERVER_SOURCES.some((s) => f === s || f.startsWith(`${s}/`)));
  assert.deepEqual(outside, [], "bundle inputs the server image's fingerprint does not cover: add them to SERVER_SOURCES");
});
