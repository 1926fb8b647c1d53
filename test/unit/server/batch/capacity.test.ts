import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { instancesInUse, jobInstances, planStarts } from "../../../../src/server/batch/capacity";

const clusters = new Map([
  ["cpu", { max_instances: 4 }],
  ["one", { max_instances: 1 }],
]);
const q = (id: string, seq: number, cluster: string, instances: number) => ({ id, seq, cluster, instances });

describe("batch capacity", () => {
  it("a job's instances are instance_count capped at max_instances and at its mini-batch count", () => {
    assert.equal(jobInstances(3, 1, 10), 1);
    assert.equal(jobInstances(2, 4, 10), 2);
    assert.equal(jobInstances(8, 4, 3), 3);
    assert.equal(jobInstances(1, 4, 0), 1);
  });

  it("starts queued jobs while their cluster has free instances", () => {
    const plan = planStarts(clusters, [], [q("a", 1, "cpu", 2), q("b", 2, "cpu", 2), q("c", 3, "cpu", 1)]);
    assert.deepEqual(plan.start, [
      { id: "a", instances: 2 },
      { id: "b", instances: 2 },
    ]);
    assert.deepEqual(plan.impossible, []);
  });

  it("max_instances caps all running jobs of a cluster together", () => {
    const plan = planStarts(clusters, [{ cluster: "one", instances: 1 }], [q("b", 2, "one", 1)]);
    assert.deepEqual(plan.start, [], "the second job waits while the first holds the only instance");
    assert.deepEqual(planStarts(clusters, [], [q("b", 2, "one", 1)]).start, [{ id: "b", instances: 1 }], "and starts once it is free");
  });

  it("is FIFO per cluster: a head that does not fit holds back smaller jobs behind it", () => {
    const plan = planStarts(clusters, [{ cluster: "cpu", instances: 2 }], [q("small", 9, "cpu", 1), q("big", 3, "cpu", 4)]);
    assert.deepEqual(plan.start, [], "big (seq 3) is first and needs 4; small (seq 9) may not pass it");
  });

  it("clusters are independent, and a job larger than its cluster runs on all of it", () => {
    const plan = planStarts(clusters, [{ cluster: "one", instances: 1 }], [q("x", 1, "one", 1), q("y", 2, "cpu", 9)]);
    assert.deepEqual(plan.start, [{ id: "y", instances: 4 }]);
  });

  it("a job whose cluster is gone can never start, and says so", () => {
    const plan = planStarts(clusters, [], [q("z", 1, "gpu", 1)]);
    assert.equal(plan.start.length, 0);
    assert.equal(plan.impossible[0]!.id, "z");
    assert.match(plan.impossible[0]!.reason, /compute cluster 'gpu' no longer exists; create it again \(PUT \/clusters\/gpu\)/);
  });

  it("counts instances in use per cluster", () => {
    assert.deepEqual([...instancesInUse([{ cluster: "cpu", instances: 2 }, { cluster: "cpu", instances: 1 }, { cluster: "one", instances: 1 }])], [
      ["cpu", 3],
      ["one", 1],
    ]);
  });
});
