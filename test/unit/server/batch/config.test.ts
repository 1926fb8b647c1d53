import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { batchOptions } from "../../../../src/server/batch/config";

describe("batch options", () => {
  it("defaults for a stack's server container: the volume at /datastore, the stack's image prefix, the server's alias", () => {
    const o = batchOptions("/data", {}, { MODELPLANE_STACK: "dev", MODELPLANE_DATASTORE_VOLUME: "modelplane-dev-datastore", MODELPLANE_INPUT_ROOTS: "/srv/in::/home/u/data/" });
    assert.equal(o.datastoreDir, "/datastore");
    assert.equal(o.datastoreVolume, "modelplane-dev-datastore");
    assert.equal(o.imagePrefix, "modelplane-dev/");
    assert.deepEqual(o.inputRoots, ["/srv/in", "/home/u/data"]);
    assert.equal(o.workerServerUrl, "http://modelplane-server:8081");
    assert.equal(o.stackId, undefined);
  });

  it("a server on the host keeps the datastore beside its state and allows no host folders", () => {
    const o = batchOptions("/tmp/state", {}, {});
    assert.equal(o.datastoreDir, "/tmp/state/datastore");
    assert.equal(o.datastoreVolume, undefined);
    assert.deepEqual(o.inputRoots, []);
    assert.equal(o.imagePrefix, "modelplane-default/");
  });

  it("given options win over the environment", () => {
    const o = batchOptions("/s", { stack: "t", imagePrefix: "mp-batch/", workerServerUrl: "http://h:1/" }, { MODELPLANE_STACK: "dev", MODELPLANE_IMAGE_PREFIX: "x/" });
    assert.equal(o.stack, "t");
    assert.equal(o.imagePrefix, "mp-batch/");
    assert.equal(o.workerServerUrl, "http://h:1");
  });
});
