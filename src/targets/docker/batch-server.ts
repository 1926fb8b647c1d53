// What a stack with batch endpoints adds to its control plane's server container
// (docs/batch-api.md, "Server environment"): the datastore volume, the engine's socket (the server
// starts each job's workers), the batch driver folder and the host folders jobs may read.
import { statSync } from "node:fs";
import * as path from "node:path";
import type { BindMount } from "../../providers/docker/container";
import { objectPrefix, stackObjectNames } from "../../providers/docker/names";
import type { BatchServerArgs } from "../target";

/** The batch settings of a Docker control plane. */
export type ControlPlaneBatchArgs = BatchServerArgs;

/** Where the server sees the datastore volume. */
export const DATASTORE_DIR = "/datastore";
/** Where the server reaches the engine. */
export const SERVER_DOCKER_SOCKET = "/var/run/docker.sock";
/** The project's batch driver (driver.py), bind-mounted into each worker by the server. */
export const BATCH_DRIVER_DIR = path.resolve(__dirname, "../../../templates/batch");

/** The engine's socket on this host: DOCKER_HOST when it is unix://, else the default; undefined for a tcp:// engine. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = env.DOCKER_HOST;
  if (!host) return "/var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Pure check of the batch args (field, value, fix), before anything is created. */
export function batchArgsProblems(b: ControlPlaneBatchArgs, env: NodeJS.ProcessEnv = process.env, isDir: (p: string) => boolean = isDirectory): string[] {
  const problems: string[] = [];
  const key = "stack config modelplane:batchInputRoots";
  const roots = b.inputRoots ?? [];
  if (!Array.isArray(roots)) return [`batchInputRoots is ${JSON.stringify(roots)}: give a list of absolute host folders, e.g. ["/srv/batch-input"] (${key})`];
  const seen = new Set<string>();
  for (const r of roots) {
    if (typeof r !== "string" || !path.isAbsolute(r)) problems.push(`batchInputRoots entry ${JSON.stringify(r)} is not an absolute path: give host folders such as /srv/batch-input (${key})`);
    else if (r.includes(":")) problems.push(`batchInputRoots entry ${JSON.stringify(r)} contains ":", which separates the roots given to the server: rename or link the folder (${key})`);
    else if (path.resolve(r) === "/") problems.push(`batchInputRoots entry "/" would let jobs read the whole host: give the folders that hold job input (${key})`);
    else if (seen.has(path.resolve(r))) problems.push(`batchInputRoots lists ${JSON.stringify(r)} twice: keep one (${key})`);
    else if (!isDir(path.resolve(r))) problems.push(`batchInputRoots entry ${JSON.stringify(r)} is not a folder on this host: create it or remove it from the list (${key})`);
    if (typeof r === "string") seen.add(path.resolve(r));
  }
  if (b.dockerSocket === undefined && dockerSocketPath(env) === undefined) {
    problems.push(`DOCKER_HOST is ${JSON.stringify(env.DOCKER_HOST)}: the control plane starts batch workers through the engine's unix socket; point DOCKER_HOST at it (unix:///var/run/docker.sock) or run the stack against a local engine`);
  }
  return problems;
}

/** What the server container gets for batch: env (docs/batch-api.md) and the datastore volume, both named by the stack's identity. */
export interface BatchServerNamed {
  env: Record<string, string>;
  volumes: Record<string, string>;
}

/** The binds and the socket's group: known at preview (they do not depend on the stack's identity). */
export interface BatchServerMounts {
  binds: BindMount[];
  groupAdd?: string[];
}

export function batchServerMounts(b: ControlPlaneBatchArgs, env: NodeJS.ProcessEnv = process.env): BatchServerMounts {
  const roots = (b.inputRoots ?? []).map((r) => path.resolve(r));
  const socket = b.dockerSocket ?? dockerSocketPath(env) ?? "/var/run/docker.sock";
  let gid: number | undefined;
  try {
    gid = statSync(socket).gid;
  } catch {
    gid = undefined; // no engine here (a preview elsewhere): the server then reports it cannot start workers
  }
  return {
    // The socket is read-write (the API needs it); the input roots are read-only at their own paths.
    binds: [{ source: socket, target: SERVER_DOCKER_SOCKET, readOnly: false }, ...roots.map((r) => ({ source: r, target: r, readOnly: true }))],
    // The server runs as uid 10001: the socket's group lets it reach the engine, nothing more.
    ...(gid !== undefined ? { groupAdd: [String(gid)] } : {}),
  };
}

export function batchServerNamed(stack: string, stackId: string, b: ControlPlaneBatchArgs): BatchServerNamed {
  const names = stackObjectNames(stack, stackId);
  const roots = (b.inputRoots ?? []).map((r) => path.resolve(r));
  return {
    env: {
      MODELPLANE_NETWORK: names.network,
      MODELPLANE_DATASTORE_VOLUME: names.datastoreVolume,
      MODELPLANE_DATASTORE_DIR: DATASTORE_DIR,
      MODELPLANE_BATCH_DRIVER_DIR: BATCH_DRIVER_DIR,
      MODELPLANE_IMAGE_PREFIX: `${objectPrefix(stack, stackId)}/`,
      ...(roots.length > 0 ? { MODELPLANE_INPUT_ROOTS: roots.join(":") } : {}),
    },
    volumes: { [names.datastoreVolume]: DATASTORE_DIR },
  };
}
