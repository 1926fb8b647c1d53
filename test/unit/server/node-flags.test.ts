import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

// The server's node flags (its young-generation size) are set in three places that must agree: the
// image's ENTRYPOINT, `modelplane server` from a checkout, and the benchmark's default.
const ROOT = path.resolve(__dirname, "../../..");
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), "utf8");

describe("server node flags", () => {
  it("are the same in the server image, bin/modelplane server and the benchmark", () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(read("templates/server/Dockerfile"))![1]!) as string[];
    assert.equal(entrypoint[0], "/usr/local/bin/node");
    assert.equal(entrypoint.at(-1), "server.js");
    const image = entrypoint.slice(1, -1);
    assert.ok(image.length > 0, "the image runs node with flags");
    const cli = /^if \[ "\$\{1:-\}" = "server" \]; then NODE_FLAGS=\(([^)]*)\); fi$/m.exec(read("bin/modelplane"))![1]!.split(" ");
    const bench = /const GATEWAY_FLAGS = opt\("node-flags"\) \?\? "([^"]*)";/.exec(read("bench/gateway.ts"))![1]!.split(" ");
    assert.deepEqual(cli, image);
    assert.deepEqual(bench, image);
  });
});
