/**
 * The server's only use of the Docker Engine API: batch worker containers. The power is kept
 * narrow here, in one place: a worker is created only from an image under the stack's image prefix,
 * always with this stack's labels (managed, stack, stack-id, role=batch-worker, endpoint,
 * deployment, job, instance), its mounts read-only, no published ports, no privileges; listing
 * filters on those labels, and stop/remove/logs first check that the container carries them, so
 * the server cannot touch a container it did not make for this stack.
 */
import type Docker from "dockerode";
import { demuxDockerStream, dockerClient, isNotFound } from "../../providers/docker/client";
import { WORKER_DATASTORE } from "./datastore";
import type { BindMount } from "./types";
import type { WorkerContainer, WorkerEngine, WorkerSpec } from "./workers";

export type { WorkerContainer, WorkerSpec } from "./workers";

export const WORKER_LABELS = {
  managed: "modelplane.managed",
  stack: "modelplane.stack",
  stackId: "modelplane.stack-id",
  role: "modelplane.role",
  endpoint: "modelplane.endpoint",
  deployment: "modelplane.deployment",
  job: "modelplane.job",
  instance: "modelplane.instance",
  /** The container's own id for the server (MODELPLANE_INSTANCE_ID): how a warm instance is known. */
  instanceId: "modelplane.instance-id",
} as const;

export const WORKER_ROLE = "batch-worker";
/** Where the driver folder is mounted in workers. */
export const DRIVER_MOUNT = "/opt/modelplane/batch";
/** Host paths no worker may get, whatever a deployment says. */
const FORBIDDEN_SOURCES = ["/var/run/docker.sock", "/run/docker.sock", "/"];

export interface WorkerDockerOptions {
  stack: string;
  stackId?: string;
  network?: string;
  imagePrefix: string;
  /** The datastore: a named volume, or (server on the host) the folder itself. */
  datastore: { volume?: string; hostDir: string };
  driverDir: string;
  extraHosts: string[];
  /** @default dockerClient() per call (DOCKER_HOST as the docker CLI reads it) */
  docker?: () => Docker;
}

/** Why an image may not run as a worker, or undefined when it may. */
export function imageProblem(image: string, prefix: string): string | undefined {
  if (!prefix) return "the server has no image prefix (MODELPLANE_IMAGE_PREFIX), so it starts no batch worker: run it as `pulumi up` deploys it (components/ControlPlane sets the prefix for stacks with batch endpoints)";
  if (!image.startsWith(prefix) || image.includes("@") || /\s/.test(image)) return `image ${JSON.stringify(image)} is not under this stack's image prefix ${JSON.stringify(prefix)}; batch workers run only images the stack built`;
  return undefined;
}

/** Why a bind may not be given to a worker, or undefined. */
export function bindProblem(b: BindMount): string | undefined {
  if (!b.source.startsWith("/") || !b.target.startsWith("/")) return `bind ${b.source} -> ${b.target}: both paths must be absolute`;
  if (b.source.includes(":") || b.target.includes(":")) return `bind ${b.source} -> ${b.target}: paths may not contain ':'`;
  if (FORBIDDEN_SOURCES.includes(b.source.replace(/\/+$/, "") || "/")) return `bind ${b.source}: this host path is never given to a worker`;
  if (b.target === WORKER_DATASTORE || b.target === DRIVER_MOUNT || b.target === "/mnt/input") return `bind target ${b.target} is reserved for the server`;
  return undefined;
}

export class WorkerDocker implements WorkerEngine {
  readonly engineName = "the Docker engine";
  readonly reachHint = "batch stacks mount /var/run/docker.sock into the server";
  readonly keepsWarm = true;

  constructor(private readonly o: WorkerDockerOptions) {}

  private docker(): Docker {
    return (this.o.docker ?? dockerClient)();
  }

  /** The labels every worker of this stack carries (and every query filters on). */
  private baseLabels(): Record<string, string> {
    return {
      [WORKER_LABELS.managed]: "true",
      [WORKER_LABELS.stack]: this.o.stack,
      ...(this.o.stackId ? { [WORKER_LABELS.stackId]: this.o.stackId } : {}),
      [WORKER_LABELS.role]: WORKER_ROLE,
    };
  }

  private ours(labels: Record<string, string> | undefined): boolean {
    return Object.entries(this.baseLabels()).every(([k, v]) => labels?.[k] === v);
  }

  checkImage(image: string): string | undefined {
    return imageProblem(image, this.o.imagePrefix);
  }

  /** Creates and starts one worker container; refuses images outside the prefix and unsafe binds. */
  async launch(spec: WorkerSpec, nameSuffix: string): Promise<{ id: string; name: string }> {
    const problem = this.checkImage(spec.image) ?? spec.binds.map(bindProblem).find((p) => p !== undefined);
    if (problem) throw new Error(problem);
    const docker = this.docker();
    const name = `${this.o.stack}-batch-${spec.jobId.slice(-12)}-${spec.instance}-${nameSuffix}`.replace(/[^A-Za-z0-9_.-]/g, "-");
    const binds = [
      `${this.o.driverDir}:${DRIVER_MOUNT}:ro`,
      ...(this.o.datastore.volume ? [] : [`${this.o.datastore.hostDir}:${WORKER_DATASTORE}:ro`]),
      ...(spec.hostInput ? [`${spec.hostInput.source}:${spec.hostInput.target}:ro`] : []),
      ...spec.binds.map((b) => `${b.source}:${b.target}:ro`),
    ];
    const container = await docker.createContainer({
      name,
      Image: spec.image,
      Entrypoint: [spec.python],
      Cmd: [`${DRIVER_MOUNT}/driver.py`],
      WorkingDir: "/tmp",
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: {
        ...this.baseLabels(),
        [WORKER_LABELS.endpoint]: spec.endpoint,
        [WORKER_LABELS.deployment]: spec.deployment,
        [WORKER_LABELS.job]: spec.jobId,
        [WORKER_LABELS.instance]: String(spec.instance),
        ...(spec.instanceId ? { [WORKER_LABELS.instanceId]: spec.instanceId } : {}),
      },
      HostConfig: {
        Binds: binds,
        Mounts: this.o.datastore.volume ? [{ Type: "volume", Source: this.o.datastore.volume, Target: WORKER_DATASTORE, ReadOnly: true }] : [],
        NetworkMode: this.o.network,
        ExtraHosts: this.o.extraHosts,
        RestartPolicy: { Name: "no" },
        Init: true,
        Privileged: false,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
      },
    });
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
    return { id: container.id, name };
  }

  /** Every worker container of this stack (any state). */
  async list(): Promise<WorkerContainer[]> {
    const labels = Object.entries(this.baseLabels()).map(([k, v]) => `${k}=${v}`);
    const found = await this.docker().listContainers({ all: true, filters: { label: labels } });
    return found
      .filter((c) => this.ours(c.Labels))
      .map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
        jobId: c.Labels[WORKER_LABELS.job] ?? "",
        instance: Number(c.Labels[WORKER_LABELS.instance] ?? -1),
        ...(c.Labels[WORKER_LABELS.instanceId] ? { instanceId: c.Labels[WORKER_LABELS.instanceId] } : {}),
        alive: c.State === "running" || c.State === "created" || c.State === "restarting",
        state: c.State,
      }));
  }

  /** Logs of one of our containers (stdout and stderr; since `sinceMs`, ms since the epoch, when given), "" when it is gone. */
  async logs(id: string, sinceMs?: number): Promise<string> {
    const c = this.docker().getContainer(id);
    try {
      if (!this.ours((await c.inspect()).Config.Labels)) return "";
      const raw = (await c.logs({ stdout: true, stderr: true, follow: false, ...(sinceMs ? { since: sinceMs / 1000 } : {}) })) as unknown as Buffer;
      return demuxDockerStream(raw);
    } catch (err) {
      if (isNotFound(err)) return "";
      throw err;
    }
  }

  /** Stops (SIGTERM, then SIGKILL after `graceS`) one of our containers; gone is fine. */
  async stop(id: string, graceS = 5): Promise<void> {
    const c = this.docker().getContainer(id);
    try {
      const info = await c.inspect();
      if (!this.ours(info.Config.Labels)) return;
      if (info.State.Running) await c.stop({ t: graceS });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (!isNotFound(err) && code !== 304) throw err;
    }
  }

  /** Removes one of our containers (forced); gone is fine. */
  async remove(id: string): Promise<void> {
    const c = this.docker().getContainer(id);
    try {
      if (!this.ours((await c.inspect()).Config.Labels)) return;
      await c.remove({ force: true });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (!isNotFound(err) && code !== 409) throw err;
    }
  }
}
