import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chunk, classifyInput, datastoreRel, latestVersion, notAllowed, parseJobRequest, underRoots } from "../../../../src/server/batch/inputs";
import { ApiError } from "../../../../src/server/management/errors";

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    return err;
  }
  assert.fail("expected a refusal");
}

describe("batch job requests", () => {
  it("reads modelplane's body with its overrides", () => {
    assert.deepEqual(parseJobRequest({ input: "datastore://folders/abc", deployment: "blue", mini_batch_size: 2, instance_count: 3, output_file_name: "out.csv", environment_variables: { A: "1", B: 2 } }), {
      input: { uri: "datastore://folders/abc" },
      deployment: "blue",
      mini_batch_size: 2,
      instance_count: 3,
      output_file_name: "out.csv",
      environment_variables: { A: "1", B: "2" },
    });
    assert.deepEqual(parseJobRequest({ input: { type: "UriFile", path: "/data/a.csv" } }).input, { uri: "/data/a.csv", type: "uri_file" });
  });

  it("reads Azure's REST body, in either casing", () => {
    assert.deepEqual(parseJobRequest({ properties: { InputData: { heart: { JobInputType: "UriFolder", Uri: "azureml:heart@latest" } } } }).input, { uri: "azureml:heart@latest", type: "uri_folder" });
    assert.deepEqual(parseJobRequest({ properties: { inputData: { x: { jobInputType: "uri_file", uri: "https://h/x.csv" } } } }).input, { uri: "https://h/x.csv", type: "uri_file" });
    const two = refusal(() => parseJobRequest({ properties: { InputData: { a: { Uri: "x" }, b: { Uri: "y" } } } }));
    assert.match(two.message, /properties\.InputData: has 2 inputs \(a, b\)/);
  });

  it("refuses bad overrides naming the field, the value and the fix", () => {
    const e = refusal(() => parseJobRequest({ input: "/x", mini_batch_size: 0 }));
    assert.equal(e.status, 400);
    assert.equal(e.field, "mini_batch_size");
    assert.match(e.message, /mini_batch_size: 0 is not a whole number from 1 to 1000000; e\.g\. "mini_batch_size": 10/);
    assert.match(refusal(() => parseJobRequest({ input: "/x", instance_count: 1.5 })).message, /instance_count: 1\.5/);
    assert.match(refusal(() => parseJobRequest({ input: "/x", output_file_name: "../p.csv" })).message, /output_file_name: "\.\.\/p\.csv" is not a plain file name/);
    assert.match(refusal(() => parseJobRequest({ input: "/x", environment_variables: { MODELPLANE_JOB_ID: "x" } })).message, /set by the server/);
    assert.match(refusal(() => parseJobRequest({})).message, /input: is missing/);
    assert.match(refusal(() => parseJobRequest([1])).message, /must be a JSON object/);
  });

  it("classifies inputs", () => {
    assert.deepEqual(classifyInput("datastore://folders/h/"), { kind: "datastore", rel: "folders/h" });
    assert.deepEqual(classifyInput("azureml://subscriptions/s/workspaces/w/datastores/workspaceblobstore/paths/data/x/"), { kind: "datastore", rel: "data/x" });
    assert.deepEqual(classifyInput("/srv/data/../data/in"), { kind: "host", path: "/srv/data/in" });
    assert.deepEqual(classifyInput("https://example.org/a.csv"), { kind: "url", url: "https://example.org/a.csv" });
    assert.deepEqual(classifyInput("azureml:heart-data@latest"), { kind: "asset", name: "heart-data", version: "latest" });
    assert.deepEqual(classifyInput("azureml:heart-data:2"), { kind: "asset", name: "heart-data", version: "2" });
    assert.match(refusal(() => classifyInput("datastore://../etc")).message, /leaves the datastore/);
    assert.match(refusal(() => classifyInput("relative/dir")).message, /is not an input this server can read/);
    assert.match(refusal(() => classifyInput("azureml:bad ref")).message, /azureml:<name>@latest/);
    assert.match(refusal(() => classifyInput("https://u:p@h/x")).message, /credentials/);
    assert.equal(datastoreRel("a//b/"), "a/b");
  });

  it("host paths must be a root or inside one (not a sibling that shares its prefix)", () => {
    assert.equal(underRoots("/data", ["/data"]), true);
    assert.equal(underRoots("/data/in/x", ["/srv", "/data"]), true);
    assert.equal(underRoots("/data2/x", ["/data"]), false);
    assert.equal(underRoots("/x", []), false);
    const e = notAllowed("/etc", ["/data", "/srv"]);
    assert.equal(e.status, 403);
    assert.equal(e.code, "input_not_allowed");
    assert.match(e.message, /the allowed roots are \/data, \/srv/);
    assert.match(notAllowed("/etc", []).message, /allows no host folders/);
  });

  it("@latest is the highest version, numbers compared as numbers", () => {
    assert.equal(latestVersion(["1", "10", "9"]), "10");
    assert.equal(latestVersion(["1", "beta"]), "beta");
    assert.equal(latestVersion([]), undefined);
  });

  it("splits files into mini-batches in order", () => {
    assert.deepEqual(chunk(["a", "b", "c", "d", "e"], 2), [["a", "b"], ["c", "d"], ["e"]]);
    assert.deepEqual(chunk([], 3), []);
  });
});
