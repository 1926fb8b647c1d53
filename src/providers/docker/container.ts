import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { createHash } from "node:crypto";
import { containerLogTail, dockerClient, isNotFound } from "./client";
import { portHolder, takenPortMessage } from "./host-ports";
import { foreignObjectProblem, LABELS } from "./labels";
import { httpCall } from "../../api-client/http-call";

export interface BindMount {
  /** Absolute host path. */
  source: string;
  /** Path inside the container. */
  target: string;
  /** @default true */
  readOnly?: boolean;
}

export interface PublishedPort {
  container: number;
  host: number;
  /** @default "127.0.0.1" (never all interfaces unless asked) */
  hostIp?: string;
}

/** HostConfig.DeviceRequests entry (what `docker run --gpus N` sends). */
export interface DeviceRequest {
  Driver: string;
  /** -1 = all GPUs. */
  Count: number;
  Capabilities: string[][];
}

/** Config.Healthcheck: the engine execs `test` (no shell) in the container every `intervalS`. */
export interface ContainerHealthcheck {
  /** Command and arguments (run as Docker's `CMD` form). */
  test: string[];
  intervalS: number;
  timeoutS: number;
  /** Consecutive failures before the engine reports the container unhealthy. */
  retries: number;
  /** Failures in this window after start are not counted (a success ends it). */
  startPeriodS: number;
}

/** Plain (resolved) inputs of a container. */
export interface ContainerInputs {
  /** Base name; the real name adds a hash of the replace-forcing inputs, so a replacement can start before the old one stops. */
  name: string;
  image: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  binds?: BindMount[];
  /** Named volumes: volume name -> container path. */
  volumes?: Record<string, string>;
  network?: string;
  networkAliases?: string[];
  ports?: PublishedPort[];
  command?: string[];
  user?: string;
  /** @default "unless-stopped" */
  restart?: "no" | "always" | "unless-stopped" | "on-failure";
  memoryBytes?: number;
  nanoCpus?: number;
  /** HostConfig.DeviceRequests, e.g. `[{Driver: "nvidia", Count: 1, Capabilities: [["gpu"]]}]` (GPU passthrough). */
  deviceRequests?: DeviceRequest[];
  /** HostConfig.Init: the engine's init (tini) runs as PID 1, forwards signals and reaps children. */
  init?: boolean;
  /** HostConfig.GroupAdd: extra groups of the container's user, e.g. the engine socket's group for a server that starts batch workers. */
  groupAdd?: string[];
  /** Config.Healthcheck (e.g. the liveness probe, src/providers/docker/probe.ts). A change replaces the container. */
  healthcheck?: ContainerHealthcheck;
  /** Published host port -> the stack config key that chooses it (named in the error when the port is taken). Not part of the container's identity. */
  portConfigKeys?: Record<string, string>;
  /** After start, poll this URL (from the host) until it answers 2xx; the create fails with the container's last log lines otherwise. */
  waitForHttp?: { url: string; timeoutSeconds: number };
}

export interface ContainerOutputs extends ContainerInputs {
  containerName: string;
  containerId: string;
  /** The name other containers on its network reach it by: the container's name, or its short alias when the name is longer than a DNS label (hostName). */
  hostName?: string;
}

/** Inputs whose change needs a new container (a running container's config is immutable). */
export const CONTAINER_REPLACE_FIELDS = [
  "image", "env", "labels", "binds", "volumes", "network", "networkAliases", "ports", "command", "user", "restart", "memoryBytes", "nanoCpus",
  "deviceRequests", "init", "healthcheck", "groupAdd",
] as const;

/** Fields added after containers existed: hashed into the name only when set, so existing names stay valid. */
const HASHED_WHEN_SET = new Set<string>(["deviceRequests", "init", "healthcheck", "groupAdd"]);

/** Longest DNS label: Docker's embedded DNS does not resolve a longer container name. */
const MAX_DNS_LABEL = 63;

/**
 * The host name a container is reached by on its network: its name when that is a valid DNS
 * label, else a 63-character alias (the name's start plus a hash of the whole name, so it stays
 * unique). Long stack, endpoint and deployment names together exceed 63 characters.
 */
export function hostName(containerName: string): string {
  if (containerName.length <= MAX_DNS_LABEL) return containerName;
  return `${containerName.slice(0, MAX_DNS_LABEL - 9)}-${createHash("sha256").update(containerName).digest("hex").slice(0, 8)}`;
}

/** Real container name: base name + hash of everything that forces a replacement. */
export function containerName(inputs: ContainerInputs): string {
  const h = createHash("sha256");
  for (const f of CONTAINER_REPLACE_FIELDS) {
    if (inputs[f] === undefined && HASHED_WHEN_SET.has(f)) continue;
    h.update(`${f}=${JSON.stringify(inputs[f] ?? null)}\0`);
  }
  return `${inputs.name}-${h.digest("hex").slice(0, 8)}`;
}

/** Pure diff: which replace-forcing fields changed. */
export function diffContainer(olds: ContainerInputs, news: ContainerInputs): pulumi.dynamic.DiffResult {
  const replaces = CONTAINER_REPLACE_FIELDS.filter((f) => JSON.stringify(olds[f] ?? null) !== JSON.stringify(news[f] ?? null));
  const changes = replaces.length > 0 || JSON.stringify(olds.waitForHttp ?? null) !== JSON.stringify(news.waitForHttp ?? null) || olds.name !== news.name;
  // A published host port can be held by one container only: such containers stop first.
  return { changes, replaces: [...replaces, ...(olds.name !== news.name ? ["name"] : [])], deleteBeforeReplace: (news.ports?.length ?? 0) > 0 };
}

async function waitForHttp(url: string, timeoutSeconds: number, isAlive: () => Promise<boolean>): Promise<string | undefined> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const res = await httpCall(url, { method: "GET", timeoutMs: 2000 });
      await res.text();
      if (res.ok) return undefined;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (!(await isAlive())) return `the container exited (${last})`;
    await new Promise((r) => setTimeout(r, 250));
  }
  return `${url} did not answer 2xx within ${timeoutSeconds} s (last: ${last})`;
}

function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(err)).trim();
}

const NS_PER_S = 1_000_000_000;

/** Docker's Config.Healthcheck (durations in nanoseconds) for a healthcheck input. */
export function dockerHealthcheck(h: ContainerHealthcheck): { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number } {
  return { Test: ["CMD", ...h.test], Interval: h.intervalS * NS_PER_S, Timeout: h.timeoutS * NS_PER_S, Retries: h.retries, StartPeriod: h.startPeriodS * NS_PER_S };
}

/** Why a created container could not start, with what to do: GPUs, a taken host port, or the engine's words. */
export function startError(name: string, inputs: Pick<ContainerInputs, "labels" | "deviceRequests" | "ports">, engine: string): string {
  if (inputs.deviceRequests?.length) return gpuStartError(name, inputs, engine);
  const ports = (inputs.ports ?? []).map((p) => `${p.hostIp ?? "127.0.0.1"}:${p.host}`);
  if (ports.length > 0 && /address already in use/i.test(engine)) {
    return (
      `container ${name} could not start: one of its host ports (${ports.join(", ")}) is already in use by another process (engine: ${engine}). ` +
      "Fix: stop what listens there, or choose other ports (the control plane's are the stack config modelplane:gatewayPort and modelplane:managementPort)."
    );
  }
  return `container ${name} could not start (engine: ${engine})`;
}

/** The failed start of a GPU container: which deployment, what it asked for, why, and the two fixes. */
export function gpuStartError(name: string, inputs: Pick<ContainerInputs, "labels" | "deviceRequests">, engine: string): string {
  const who = inputs.labels?.["modelplane.deployment"] ? `deployment "${inputs.labels["modelplane.deployment"]}"` : `container ${name}`;
  const asked = inputs.labels?.["modelplane.gpus"] ?? (inputs.deviceRequests ?? []).map((d) => `${d.Count === -1 ? "all" : d.Count} ${d.Driver} GPU(s)`).join(", ");
  return (
    `${who} requests GPUs (${asked}) and modelplane:gpus is passthrough, but this Docker engine has no NVIDIA GPU support ` +
    `(engine: ${engine}). Fix: install the NVIDIA driver and nvidia-container-toolkit on the engine's host (then restart dockerd), ` +
    `or set \`pulumi config set modelplane:gpus off\` to run it on CPU. Containers already running were left as they are.`
  );
}

export const containerProvider: pulumi.dynamic.ResourceProvider<ContainerInputs, ContainerOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!news.name || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(news.name)) failures.push({ property: "name", reason: `name "${news.name}" must match [a-zA-Z0-9][a-zA-Z0-9_.-]*` });
    if (!news.image) failures.push({ property: "image", reason: "image is required (a local tag such as modelplane/custom-server:abc123)" });
    for (const b of news.binds ?? []) if (!b.source.startsWith("/")) failures.push({ property: "binds", reason: `bind source "${b.source}" must be an absolute path` });
    // A configured host port that another stack or process holds fails the preview, before anything is created.
    for (const p of news.ports ?? []) {
      if (typeof p.host !== "number") continue; // chosen by the first up (auto): not known yet
      const host = p.hostIp ?? "127.0.0.1";
      const holder = await portHolder(p.host, host, typeof news.name === "string" && /^[a-zA-Z0-9]/.test(news.name) ? news.name : undefined);
      if (holder) failures.push({ property: "ports", reason: takenPortMessage(p.host, host, holder, news.portConfigKeys?.[String(p.host)], news.labels?.[LABELS.stack]) });
    }
    return { inputs: { ...news, restart: news.restart ?? "unless-stopped" }, failures };
  },

  async diff(id, olds, news) {
    const d = diffContainer(olds, news);
    if (d.changes) return d;
    // Gone (removed after failing readiness, or behind Pulumi's back): the next up recreates it.
    const gone = await dockerClient()
      .getContainer(id)
      .inspect()
      .then(() => false)
      .catch((err: unknown) => isNotFound(err));
    return gone ? { changes: true, replaces: ["containerId"], deleteBeforeReplace: true } : d;
  },

  async create(inputs) {
    const docker = dockerClient();
    const name = containerName(inputs);
    // A container of that exact name is a leftover of an interrupted `up` with the same inputs, if it
    // carries this stack's identity; one of another identity is never adopted or removed.
    try {
      const existing = await docker.getContainer(name).inspect();
      const problem = foreignObjectProblem("container", name, inputs.labels ?? {}, existing.Config.Labels);
      if (problem) throw new Error(problem);
      await docker.getContainer(name).remove({ force: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    const exposed: Record<string, object> = {};
    for (const p of inputs.ports ?? []) {
      portBindings[`${p.container}/tcp`] = [{ HostIp: p.hostIp ?? "127.0.0.1", HostPort: String(p.host) }];
      exposed[`${p.container}/tcp`] = {};
    }
    const container = await docker.createContainer({
      name,
      Image: inputs.image,
      Env: Object.entries(inputs.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: inputs.labels ?? {},
      Cmd: inputs.command,
      User: inputs.user,
      ExposedPorts: exposed,
      ...(inputs.healthcheck ? { Healthcheck: dockerHealthcheck(inputs.healthcheck) } : {}),
      HostConfig: {
        Binds: [
          ...(inputs.binds ?? []).map((b) => `${b.source}:${b.target}:${b.readOnly === false ? "rw" : "ro"}`),
          ...Object.entries(inputs.volumes ?? {}).map(([v, target]) => `${v}:${target}`),
        ],
        PortBindings: portBindings,
        RestartPolicy: { Name: inputs.restart ?? "unless-stopped" },
        Memory: inputs.memoryBytes,
        NanoCpus: inputs.nanoCpus,
        NetworkMode: inputs.network,
        ...(inputs.deviceRequests ? { DeviceRequests: inputs.deviceRequests } : {}),
        ...(inputs.init !== undefined ? { Init: inputs.init } : {}),
        ...(inputs.groupAdd ? { GroupAdd: inputs.groupAdd } : {}),
      },
      NetworkingConfig: inputs.network
        ? { EndpointsConfig: { [inputs.network]: { Aliases: [...(inputs.networkAliases ?? []), ...(hostName(name) !== name ? [hostName(name)] : [])] } } }
        : undefined,
    });
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      throw new Error(startError(name, inputs, engineMessage(err)), { cause: err });
    }
    if (inputs.waitForHttp) {
      const problem = await waitForHttp(inputs.waitForHttp.url, inputs.waitForHttp.timeoutSeconds, async () => (await container.inspect()).State.Running);
      if (problem) {
        const logs = await containerLogTail(docker, container.id);
        await container.remove({ force: true }).catch(() => undefined);
        throw new Error(`container ${name} (${inputs.image}) is not healthy: ${problem}\n--- last log lines ---\n${logs || "(no output)"}`);
      }
    }
    return { id: container.id, outs: { ...inputs, containerName: name, containerId: container.id, hostName: hostName(name) } };
  },

  async read(id, props) {
    const docker = dockerClient();
    try {
      const info = await docker.getContainer(id).inspect();
      return { id, props: { ...(props as ContainerOutputs), containerId: info.Id } };
    } catch (err) {
      if (isNotFound(err)) return {}; // gone behind Pulumi's back: refresh drops it, the next up recreates it
      throw err;
    }
  },

  async update(_id, _olds, news) {
    // Only non-replacing fields (waitForHttp) changed: nothing to do on the running container.
    return { outs: { ...news, containerName: containerName(news), containerId: _id, hostName: hostName(containerName(news)) } as ContainerOutputs };
  },

  async delete(id, props) {
    const docker = dockerClient();
    try {
      const c = docker.getContainer(id);
      // Only a container of this stack's identity is removed (an id is unique, but state can be copied).
      const info = await c.inspect();
      if (foreignObjectProblem("container", info.Name.replace(/^\//, ""), (props as ContainerOutputs).labels ?? {}, info.Config.Labels)) return;
      await c.stop({ t: 10 }).catch(() => undefined); // SIGTERM first: in-flight requests finish
      await c.remove({ force: true, v: true }); // anonymous volumes go with it; named ones stay
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};

/** A Docker container managed through the Docker Engine API (see docs/architecture.md for why not the docker plugin). */
export class DockerContainer extends pulumi.dynamic.Resource {
  declare readonly containerName: pulumi.Output<string>;
  /** Undefined in the state of containers created before it existed: use `reachableName`. */
  declare readonly hostName: pulumi.Output<string | undefined>;
  declare readonly containerId: pulumi.Output<string>;
  declare readonly image: pulumi.Output<string>;

  constructor(name: string, args: Inputs<ContainerInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/docker/container.ts", "containerProvider"), name, { ...args, containerName: undefined, containerId: undefined, hostName: undefined }, opts, "modelplane", "DockerContainer");
  }
}

/** The name a container is reached by on its network (its name for containers made before host names were recorded). */
export function reachableName(c: DockerContainer): pulumi.Output<string> {
  // From the name alone: an output missing from older state would read as unknown in a preview.
  return c.containerName.apply(hostName);
}
