import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { indexedJob, parseIndexes, WorkerKubernetes } from "../../../../src/server/batch/kubernetes-workers";
import type { WorkerSpec } from "../../../../src/server/batch/workers";

const spec = (instance: number, extra: Partial<WorkerSpec> = {}): WorkerSpec => ({
  jobId: "batchjob-0123456789abcdef",
  endpoint: "heart",
  deployment: "xgb",
  instance,
  instanceId: `wi-${instance}`,
  image: "modelplane-dev-1a2b3c4d/mlflow-server-xgb:abc",
  python: "/opt/venv/bin/python",
  env: { MODELPLANE_JOB_ID: "batchjob-0123456789abcdef", MODELPLANE_INSTANCE: String(instance), MODELPLANE_INSTANCE_ID: `wi-${instance}`, MODELPLANE_INSTANCE_TOKEN: "t", AZUREML_MODEL_DIR: "/var/azureml-app/model" },
  binds: [],
  podVolumes: [{ config_map: "xgb-content-1", mount_path: "/var/azureml-app/model", items: [{ key: "f0", path: "MLmodel" }] }],
  ...extra,
});
const OPTS = { stack: "dev", stackId: "1a2b3c4d", namespace: "modelplane-dev", driverConfigMap: "modelplane-batch-driver", stateClaim: "modelplane-state", datastoreSubPath: "datastore" };

describe("parseIndexes", () => {
  it("reads a Job's completedIndexes ranges", () => {
    assert.deepEqual([...parseIndexes("0-2,4,7-8")], [0, 1, 2, 4, 7, 8]);
    assert.deepEqual([...parseIndexes("")], []);
    assert.deepEqual([...parseIndexes(undefined)], []);
  });
});

describe("indexedJob", () => {
  it("one template for the instances: the index maps to them; no per-instance env, no token, read-only mounts", () => {
    const j = indexedJob(OPTS, "bj-x-abc123", [spec(1), spec(3)]) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(j.metadata.namespace, "modelplane-dev");
    assert.deepEqual(j.metadata.annotations, { "modelplane.io/instances": "1,3" });
    assert.deepEqual(
      { mode: j.spec.completionMode, completions: j.spec.completions, parallelism: j.spec.parallelism, perIndex: j.spec.backoffLimitPerIndex, ttl: j.spec.ttlSecondsAfterFinished },
      { mode: "Indexed", completions: 2, parallelism: 2, perIndex: 0, ttl: 30 },
    );
    assert.deepEqual(j.metadata.labels, {
      "app.kubernetes.io/managed-by": "modelplane",
      "app.kubernetes.io/component": "batch-worker",
      "modelplane.io/stack": "dev",
      "modelplane.io/stack-id": "1a2b3c4d",
      "modelplane.io/batch-job": "batchjob-0123456789abcdef",
      "modelplane.io/endpoint": "heart",
      "modelplane.io/deployment": "xgb",
    });
    const pod = j.spec.template.spec;
    assert.equal(pod.restartPolicy, "Never");
    assert.equal(pod.automountServiceAccountToken, false);
    const c = pod.containers[0];
    assert.deepEqual(c.env, [
      { name: "MODELPLANE_JOB_ID", value: "batchjob-0123456789abcdef" },
      { name: "AZUREML_MODEL_DIR", value: "/var/azureml-app/model" },
      { name: "MODELPLANE_INSTANCE_MAP", value: "1,3" },
    ]);
    assert.deepEqual(c.volumeMounts, [
      { name: "driver", mountPath: "/opt/modelplane/batch", readOnly: true },
      { name: "datastore", mountPath: "/datastore", subPath: "datastore", readOnly: true },
      { name: "content-0", mountPath: "/var/azureml-app/model", readOnly: true },
    ]);
    assert.deepEqual(pod.volumes, [
      { name: "driver", configMap: { name: "modelplane-batch-driver" } },
      { name: "datastore", persistentVolumeClaim: { claimName: "modelplane-state", readOnly: true } },
      { name: "content-0", configMap: { name: "xgb-content-1", items: [{ key: "f0", path: "MLmodel" }] } },
    ]);
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } });
  });
});

describe("WorkerKubernetes against a fake API server", () => {
  let server: Server;
  let url = "";
  const calls: string[] = [];
  const jobs = new Map<string, any>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  const pods = new Map<string, any>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  const body = async (req: IncomingMessage): Promise<any> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  };
  before(async () => {
    server = createServer((req, res) => {
      void (async () => {
        const u = new URL(req.url!, "http://x");
        calls.push(`${req.method} ${u.pathname}`);
        const send = (status: number, o: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(o));
        const job = /\/jobs\/([^/]+)$/.exec(u.pathname)?.[1];
        const pod = /\/pods\/([^/]+)$/.exec(u.pathname)?.[1];
        if (req.method === "POST" && u.pathname.endsWith("/jobs")) {
          const j = await body(req);
          jobs.set(j.metadata.name, { ...j, status: {} });
          return send(201, j);
        }
        if (req.method === "GET" && u.pathname.endsWith("/jobs")) return send(200, { items: [...jobs.values()] });
        if (req.method === "GET" && u.pathname.endsWith("/pods")) {
          const sel = u.searchParams.get("labelSelector") ?? "";
          const of = /batch.kubernetes.io\/job-name=(.+)/.exec(sel)?.[1];
          return send(200, { items: [...pods.values()].filter((p) => !of || p.metadata.labels["batch.kubernetes.io/job-name"] === of) });
        }
        if (job && req.method === "GET") return jobs.has(job) ? send(200, jobs.get(job)) : send(404, {});
        if (job && req.method === "PATCH") {
          const p = await body(req);
          jobs.get(job).spec.suspend = p.spec.suspend;
          return send(200, jobs.get(job));
        }
        if (req.method === "DELETE") await body(req);
        if (job && req.method === "DELETE") return jobs.delete(job) ? send(200, {}) : send(404, {});
        if (pod && req.method === "GET") return pods.has(pod) ? send(200, pods.get(pod)) : send(404, {});
        if (pod && req.method === "DELETE") return pods.delete(pod) ? send(200, {}) : send(404, {});
        send(404, {});
      })();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const engine = () => new WorkerKubernetes({ ...OPTS, imagePrefix: "modelplane-dev-1a2b3c4d/", connection: () => ({ context: "t", server: url, insecureSkipTlsVerify: false }) });
  const podOf = (job: string, index: number, phase: string) => ({
    metadata: { name: `${job}-${index}-xyz`, labels: { ...jobs.get(job).spec.template.metadata.labels, "batch.kubernetes.io/job-name": job }, annotations: { "batch.kubernetes.io/job-completion-index": String(index), "modelplane.io/instances": jobs.get(job).metadata.annotations["modelplane.io/instances"] } },
    status: { phase },
  });

  it("the instances asked for in one tick become one Indexed Job; an image outside the prefix is refused", async () => {
    const w = engine();
    const launched = await Promise.all([w.launch(spec(0), "a"), w.launch(spec(1), "b")]);
    assert.equal(jobs.size, 1);
    const [name] = [...jobs.keys()];
    assert.match(name!, /^bj-0123456789abcdef-[0-9a-f]{6}$/);
    assert.deepEqual(launched, [{ id: `${name}#0`, name: `${name}-0` }, { id: `${name}#1`, name: `${name}-1` }]);
    await assert.rejects(w.launch(spec(2, { image: "busybox" }), "c"), /not under this stack's image prefix/);
    assert.equal(jobs.size, 1);
  });

  it("list: a pod per created index, an index without its pod yet is a starting instance", async () => {
    const w = engine();
    const [name] = [...jobs.keys()];
    pods.set(`${name}-0-xyz`, podOf(name!, 0, "Running"));
    const l = await w.list();
    assert.deepEqual(
      l.map((c) => [c.id, c.instance, c.alive, c.state]),
      [
        [`${name}-0-xyz`, 0, true, "running"],
        [`${name}#1`, 1, true, "creating"],
      ],
    );
    assert.ok(l.every((c) => c.jobId === "batchjob-0123456789abcdef"));
    // A finished pod being deleted (held by the Job controller's finalizer) was removed already: not listed again.
    pods.set(`${name}-1-old`, { ...podOf(name!, 1, "Succeeded"), metadata: { ...podOf(name!, 1, "Succeeded").metadata, name: `${name}-1-old`, deletionTimestamp: "2026-12-07T00:00:00Z" } });
    assert.deepEqual((await w.list()).map((c) => c.id), [`${name}-0-xyz`, `${name}#1`]);
    pods.delete(`${name}-1-old`);
  });

  it("remove: the pod goes, and the Job with its last pod once every index is done; stop suspends the Job", async () => {
    const w = engine();
    const [name] = [...jobs.keys()];
    pods.set(`${name}-1-xyz`, podOf(name!, 1, "Succeeded"));
    pods.get(`${name}-0-xyz`).status.phase = "Succeeded";
    jobs.get(name!).status = { completedIndexes: "0" };
    await w.remove(`${name}-0-xyz`);
    assert.equal(pods.has(`${name}-0-xyz`), false);
    assert.equal(jobs.has(name!), true, "index 1's pod is still there");
    jobs.get(name!).status = { completedIndexes: "0-1" };
    await w.remove(`${name}-1-xyz`);
    assert.equal(jobs.has(name!), false, "the Job goes with its last pod");

    const [again] = await Promise.all([w.launch(spec(0), "d")]);
    const job = again!.id.split("#")[0]!;
    await w.stop(again!.id);
    assert.equal(jobs.get(job).spec.suspend, true);
    // Suspended with no pod: list deletes it.
    assert.deepEqual(await w.list(), []);
    assert.equal(jobs.has(job), false);
    assert.ok(calls.includes(`PATCH /apis/batch/v1/namespaces/modelplane-dev/jobs/${job}`));
  });
});
