// Warm instances' bookkeeping: which jobs may leave warm workers, how many stay, who gets them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JobConfig } from "../../../../src/server/batch/types";
import { jobNeutral, overCapacity, WarmPool, warmFingerprint, warmToKeep } from "../../../../src/server/batch/warm";
import { DEFAULT_BATCH_SETTINGS } from "../../../../src/spec/defaults";

const settings = { ...DEFAULT_BATCH_SETTINGS, environment_variables: { FROM_SETTINGS: "s" } };
const config: JobConfig = {
  deployment: { image: "modelplane-t/x:1", cluster: "cpu", model_server: "custom", binds: [], instance_count: 2, settings, environment_variables: { FROM_DEP: "d" } },
  settings,
  environment_variables: { FROM_DEP: "d", FROM_SETTINGS: "s" },
  input: { uri: "/data", type: "uri_folder" },
};
const key = { cluster: "cpu", endpoint: "e", deployment: "blue", fingerprint: warmFingerprint(config) };

function pool(n: number, over: Partial<typeof key> = {}): WarmPool {
  const p = new WarmPool();
  for (let i = 0; i < n; i++) p.keep({ id: `wi-${i}`, containerId: `c${i}`, name: `w${i}`, ...key, ...over }, 1000 + i);
  return p;
}

describe("warm instances", () => {
  it("only a job without a host mount or environment overrides is job-neutral", () => {
    assert.equal(jobNeutral(config), true);
    assert.equal(jobNeutral({ ...config, environment_variables: { ...config.environment_variables, EXTRA: "1" } }), false);
    assert.equal(jobNeutral({ ...config, environment_variables: { FROM_DEP: "other", FROM_SETTINGS: "s" } }), false);
    assert.equal(jobNeutral({ ...config, input: { ...config.input, hostMount: { source: "/srv/in", target: "/mnt/input" } } }), false);
  });

  it("the fingerprint changes with the deployment's image and the workers' concurrency", () => {
    assert.notEqual(warmFingerprint({ ...config, deployment: { ...config.deployment, image: "modelplane-t/x:2" } }), key.fingerprint);
    assert.notEqual(warmFingerprint({ ...config, settings: { ...settings, max_concurrency_per_instance: 3 } }), key.fingerprint);
    assert.equal(warmFingerprint({ ...config, settings: { ...settings, mini_batch_size: 99 } }), key.fingerprint);
  });

  it("keeps at most min_instances warm on a cluster in all", () => {
    assert.equal(warmToKeep(0, 0, 3), 0);
    assert.equal(warmToKeep(1, 0, 3), 1);
    assert.equal(warmToKeep(2, 1, 3), 1);
    assert.equal(warmToKeep(2, 2, 3), 0);
    assert.equal(warmToKeep(5, 0, 2), 2);
  });

  it("gives a starting job the oldest idle instances of its deployment as instances 0, 1, ...", () => {
    const p = pool(3);
    const { assigned, stale } = p.assign("job-2", key, 2, 5000);
    assert.deepEqual(
      assigned.map((w) => [w.id, w.instance, w.job]),
      [
        ["wi-0", 0, "job-2"],
        ["wi-1", 1, "job-2"],
      ],
    );
    assert.deepEqual(stale, []);
    assert.deepEqual(
      p.idle("cpu").map((w) => w.id),
      ["wi-2"],
    );
    assert.deepEqual(
      p.ofJob("job-2").map((w) => w.id),
      ["wi-0", "wi-1"],
    );
    // Each instance serves one job at a time: a second job gets only what is left.
    assert.deepEqual(
      p.assign("job-3", key, 2, 6000).assigned.map((w) => w.id),
      ["wi-2"],
    );
  });

  it("another deployment gets none, and a changed deployment's idle instances are stale", () => {
    const p = pool(2);
    assert.deepEqual(p.assign("job-x", { ...key, deployment: "green" }, 2, 5000).assigned, []);
    const r = p.assign("job-y", { ...key, fingerprint: "changed" }, 2, 5000);
    assert.deepEqual(r.assigned, []);
    assert.deepEqual(
      r.stale.map((w) => w.id),
      ["wi-0", "wi-1"],
    );
    assert.equal(p.all().length, 0, "stale instances are forgotten");
  });

  it("idle instances give way, oldest first, when running jobs need the cluster's instances", () => {
    const idle = pool(3).idle("cpu");
    assert.deepEqual(overCapacity(idle, 1, 4), []);
    assert.deepEqual(
      overCapacity(idle, 3, 4).map((w) => w.id),
      ["wi-0", "wi-1"],
    );
  });

  it("drop forgets the instances that match and returns them", () => {
    const p = pool(2);
    p.keep({ id: "wi-9", containerId: "c9", name: "w9", ...key, endpoint: "other" }, 2000);
    assert.deepEqual(
      p.drop((w) => w.endpoint === "e").map((w) => w.id),
      ["wi-0", "wi-1"],
    );
    assert.deepEqual(
      p.all().map((w) => w.id),
      ["wi-9"],
    );
  });
});
