import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bindProblem, imageProblem } from "../../../../src/server/batch/docker-workers";

describe("batch worker containers: what the server may start", () => {
  it("runs only images under the stack's prefix", () => {
    assert.equal(imageProblem("modelplane-dev/custom-server:abc", "modelplane-dev/"), undefined);
    assert.match(imageProblem("modelplane-dev-evil/x:1", "modelplane-dev/")!, /not under this stack's image prefix "modelplane-dev\/"/);
    assert.match(imageProblem("busybox", "modelplane-dev/")!, /batch workers run only images the stack built/);
    assert.ok(imageProblem("modelplane-dev/x@sha256:abc", "modelplane-dev/"), "no digest references");
    assert.match(imageProblem("anything", "")!, /no image prefix/);
  });

  it("refuses binds of the engine's socket, the root, relative or reserved paths", () => {
    assert.equal(bindProblem({ source: "/models/m1", target: "/var/azureml-app/azureml-models/m1" }), undefined);
    assert.match(bindProblem({ source: "/var/run/docker.sock", target: "/s" })!, /never given to a worker/);
    assert.match(bindProblem({ source: "/", target: "/host" })!, /never given to a worker/);
    assert.match(bindProblem({ source: "models", target: "/m" })!, /must be absolute/);
    assert.match(bindProblem({ source: "/m", target: "/datastore" })!, /reserved/);
    assert.match(bindProblem({ source: "/m:rw", target: "/x" })!, /may not contain ':'/);
  });
});
