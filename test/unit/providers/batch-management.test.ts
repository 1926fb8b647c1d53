// The batch providers (cluster, batch endpoint, batch deployment, defaults, data asset): what
// replaces and what updates in place, and what they send to a fake management API.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { localManifest, manifestDigest } from "../../../src/datastore/manifest";
import { batchDeploymentBody, batchDeploymentProvider, type BatchDeploymentInputs } from "../../../src/providers/management/batch-deployment";
import { batchEndpointBody, batchEndpointProvider } from "../../../src/providers/management/batch-endpoint";
import { clusterProvider, type ClusterInputs } from "../../../src/providers/management/cluster";
import { dataAssetProvider } from "../../../src/providers/management/data-asset";
import { defaultsProvider, type DefaultsInputs } from "../../../src/providers/management/defaults";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

interface Call {
  method: string;
  url: string;
  body?: unknown;
}

describe("batch providers against a fake management API", () => {
  const calls: Call[] = [];
  const blobs = new Set<string>();
  /** DELETEs of the default deployment answered 409 before it goes. */
  let conflictsLeft = 0;
  let server: Server;
  let access = { managementUrl: "", managementToken: "tok" };
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mp-batch-prov-"));

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks);
        const url = req.url ?? "";
        const isBlob = url.startsWith("/datastore/blobs/");
        calls.push({ method: req.method ?? "", url, ...(raw.length && !isBlob ? { body: JSON.parse(raw.toString("utf8")) as unknown } : {}) });
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        };
        if (req.headers.authorization !== "Bearer tok") return json(401, { error: { code: "unauthorized", message: "no" } });
        if (isBlob) {
          const h = url.split("/").pop()!;
          if (req.method === "HEAD") {
            res.writeHead(blobs.has(h) ? 200 : 404);
            return res.end();
          }
          assert.equal(sha(raw), h);
          blobs.add(h);
          return json(201, {});
        }
        if (url === "/datastore/folders") return json(200, { uri: "datastore://folders/f0" });
        if (url.startsWith("/clusters/")) return req.method === "DELETE" ? json(409, { error: { code: "cluster_in_use", message: "batch deployment d names it; delete it first" } }) : json(200, { provisioningState: "Succeeded" });
        if (/\/deployments\/default-dep$/.test(url) && req.method === "DELETE" && conflictsLeft > 0) {
          conflictsLeft--;
          return json(409, { error: { code: "default_deployment", message: "it is the default" } });
        }
        if (url.includes("/deployments/")) return json(req.method === "PUT" ? 201 : 200, { provisioningState: "Succeeded" });
        if (url.endsWith("/defaults")) return req.method === "GET" ? json(200, { deployment_name: null }) : json(200, {});
        if (url.endsWith("/keys")) return json(200, { primaryKey: "p", secondaryKey: "s" });
        if (url.startsWith("/data/")) return req.method === "DELETE" ? json(404, { error: { code: "not_found", message: "x" } }) : json(200, {});
        if (url.startsWith("/endpoints/")) return json(200, { provisioningState: "Succeeded", kind: "batch" });
        json(404, { error: { code: "not_found", message: url } });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    access = { managementUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, managementToken: "tok" };
  });
  beforeEach(() => {
    calls.length = 0;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it("cluster: only the name replaces; PUT sends the bounds; a cluster in use fails the delete with the server's reason", async () => {
    const olds: ClusterInputs = { ...access, name: "cpu", min_instances: 0, max_instances: 2, idle_time_before_scale_down: 120 };
    assert.deepEqual(await clusterProvider.diff!("cpu", olds as never, { ...olds }), { changes: false, replaces: [] });
    assert.deepEqual(await clusterProvider.diff!("cpu", olds as never, { ...olds, max_instances: 4 }), { changes: true, replaces: [] });
    assert.deepEqual(await clusterProvider.diff!("cpu", olds as never, { ...olds, name: "gpu" }), { changes: true, replaces: ["name"] });
    const created = await clusterProvider.create(olds);
    assert.equal(created.id, "cpu");
    assert.deepEqual(calls, [{ method: "PUT", url: "/clusters/cpu", body: { min_instances: 0, max_instances: 2, idle_time_before_scale_down: 120 } }]);
    await assert.rejects(clusterProvider.delete!("cpu", created.outs as never), /409 cluster_in_use batch deployment d names it; delete it first/);
  });

  it("batch endpoint: PUT with kind batch and token auth, then its keys", async () => {
    const i = { ...access, name: "heart", auth_mode: "aad_token" as const, tags: { a: "1" } };
    assert.deepEqual(batchEndpointBody(i), { kind: "batch", auth_mode: "aml_token", tags: { a: "1" } });
    const r = await batchEndpointProvider.create(i);
    assert.deepEqual(calls.map((c) => [c.method, c.url, c.body]), [["PUT", "/endpoints/heart", { kind: "batch", auth_mode: "aml_token", tags: { a: "1" } }], ["POST", "/endpoints/heart/keys", undefined]]);
    assert.equal((r.outs as { primaryKey: string }).primaryKey, "p");
  });

  it("batch deployment: the body is the contract's (kind batch, no access fields); endpoint and name replace, the rest updates", async () => {
    const i: BatchDeploymentInputs = {
      ...access,
      endpointName: "heart",
      name: "default-dep",
      image: "modelplane-dev/mlflow-server-x:abc",
      cluster: "cpu",
      model_server: "mlflow",
      model_dir: "/var/azureml-app/azureml-models/m/1",
      binds: [{ source: "/m", target: "/var/azureml-app/azureml-models/m/1/model" }],
      instance_count: 2,
      settings: { max_concurrency_per_instance: 2, mini_batch_size: 2, output_action: "append_row", output_file_name: "predictions.csv", retry_settings: { max_retries: 3, timeout: 300 }, error_threshold: -1, logging_level: "info", environment_variables: {} },
      environment_variables: { AZUREML_MODEL_DIR: "/var/azureml-app/azureml-models/m/1" },
    };
    const { managementUrl: _u, managementToken: _t, endpointName: _e, name: _n, ...rest } = i;
    assert.deepEqual(batchDeploymentBody(i), { kind: "batch", ...rest });
    for (const change of [{ image: "x:2" }, { cluster: "c2" }, { instance_count: 1 }, { settings: { ...i.settings, mini_batch_size: 5 } }, { spec: { content_hash: "1" } }]) {
      assert.deepEqual(await batchDeploymentProvider.diff!("heart/default-dep", i as never, { ...i, ...change }), { changes: true, replaces: [] }, JSON.stringify(change));
    }
    assert.deepEqual(await batchDeploymentProvider.diff!("heart/default-dep", i as never, { ...i, endpointName: "e2" }), { changes: true, replaces: ["endpointName"] });
    const r = await batchDeploymentProvider.create(i);
    assert.equal(r.id, "heart/default-dep");
    assert.deepEqual(calls.map((c) => [c.method, c.url]), [["PUT", "/endpoints/heart/deployments/default-dep"]]);
    // The default's delete is refused while the others go; it is retried until it is allowed.
    calls.length = 0;
    conflictsLeft = 2;
    await batchDeploymentProvider.delete!("heart/default-dep", r.outs as never);
    assert.equal(calls.filter((c) => c.method === "DELETE").length, 3);
  });

  it("defaults: switching the deployment is an in-place update; delete unsets it; read of an unset default is gone", async () => {
    const olds: DefaultsInputs = { ...access, endpointName: "heart", deployment_name: "blue" };
    assert.deepEqual(await defaultsProvider.diff!("heart", olds, { ...olds, deployment_name: "green" }), { changes: true, replaces: [] });
    assert.deepEqual(await defaultsProvider.diff!("heart", olds, { ...olds }), { changes: false, replaces: [] });
    assert.deepEqual(await defaultsProvider.diff!("heart", olds, { ...olds, endpointName: "other" }), { changes: true, replaces: ["endpointName"] });
    await defaultsProvider.update!("heart", olds, { ...olds, deployment_name: "green" });
    await defaultsProvider.delete!("heart", olds);
    assert.deepEqual(calls.map((c) => [c.method, c.url, c.body]), [["PUT", "/endpoints/heart/defaults", { deployment_name: "green" }], ["PUT", "/endpoints/heart/defaults", { deployment_name: null }]]);
    assert.deepEqual(await defaultsProvider.read!("heart", olds), {});
  });

  it("data asset: sends only the blobs the datastore lacks, then registers the folder (a uri_file names its file in it)", async () => {
    const dir = path.join(tmp, "data");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "a.csv"), "a\n1\n");
    writeFileSync(path.join(dir, "b.csv"), "b\n2\n");
    blobs.add(sha("a\n1\n"));
    const digest = manifestDigest(await localManifest(dir));
    const r = await dataAssetProvider.create({ ...access, name: "heart-data", version: "1", type: "uri_folder", localPath: dir, contentDigest: digest });
    assert.equal((r.outs as { path: string }).path, "datastore://folders/f0");
    assert.deepEqual(calls.map((c) => [c.method, c.url.replace(/[0-9a-f]{64}/, "<sha>")]), [
      ["HEAD", "/datastore/blobs/<sha>"],
      ["HEAD", "/datastore/blobs/<sha>"],
      ["PUT", "/datastore/blobs/<sha>"],
      ["POST", "/datastore/folders"],
      ["PUT", "/data/heart-data/versions/1"],
    ]);
    assert.equal(calls.find((c) => c.method === "PUT" && c.url.startsWith("/datastore"))!.url, `/datastore/blobs/${sha("b\n2\n")}`);
    assert.deepEqual(calls.find((c) => c.url === "/datastore/folders")!.body, { files: [{ path: "a.csv", sha256: sha("a\n1\n") }, { path: "b.csv", sha256: sha("b\n2\n") }] });
    assert.deepEqual(calls.at(-1)!.body, { type: "uri_folder", path: "datastore://folders/f0" });

    calls.length = 0;
    const file = path.join(dir, "b.csv");
    const one = await dataAssetProvider.create({ ...access, name: "one-file", version: "2", type: "uri_file", localPath: file, contentDigest: manifestDigest(await localManifest(file)) });
    assert.equal((one.outs as { path: string }).path, "datastore://folders/f0/b.csv");
    assert.equal(calls.filter((c) => c.method === "PUT" && c.url.startsWith("/datastore")).length, 0, "b.csv is already there");
    // Files changed since the preview: the up stops rather than register other bytes.
    await assert.rejects(dataAssetProvider.create({ ...access, name: "x", version: "1", type: "uri_folder", localPath: dir, contentDigest: "0".repeat(64) }), /changed while `pulumi up` ran/);
    assert.deepEqual(await dataAssetProvider.diff!("heart-data:1", r.outs as never, { ...r.outs!, contentDigest: "1".repeat(64) }), { changes: true, replaces: [] });
    assert.deepEqual(await dataAssetProvider.diff!("heart-data:1", r.outs as never, { ...r.outs!, version: "2" }), { changes: true, replaces: ["version"] });
  });
});
