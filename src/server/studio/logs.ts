import { existsSync } from "node:fs";
import { containerLogTail, dockerClient } from "../../providers/docker/client";
import { LABELS } from "../../providers/docker/labels";

/** The last lines of one instance's container. */
export interface InstanceLog {
  instance: string;
  container: string;
  state: string;
  text: string;
}

/** Where the studio reads instance logs from; tests pass their own. */
export interface LogSource {
  /** Logs of the containers among `hosts` (the instance URLs' host names), or a note saying why there are none. */
  read(endpoint: string, deployment: string, hosts: readonly string[], lines: number): Promise<{ logs: InstanceLog[]; note?: string }>;
}

/** The engine's unix socket as the server sees it, when it can reach one. */
function engineReachable(env: NodeJS.ProcessEnv): boolean {
  const host = env.DOCKER_HOST;
  if (host && !host.startsWith("unix://")) return true;
  return existsSync(host ? host.slice("unix://".length) : "/var/run/docker.sock");
}

/**
 * Instance logs from the Docker engine: containers labelled with the endpoint and deployment whose
 * names are the hosts of the deployment's instance URLs (another stack on the same engine may
 * have an endpoint of the same name, never a container of the same name).
 */
export function dockerLogSource(env: NodeJS.ProcessEnv = process.env): LogSource {
  return {
    async read(endpoint, deployment, hosts, lines) {
      if (!engineReachable(env)) {
        return { logs: [], note: `this server has no Docker engine socket, so it cannot read instance logs; run \`modelplane logs ${endpoint} --deployment ${deployment}\`` };
      }
      const docker = dockerClient();
      const rows = await docker.listContainers({ all: true, filters: { label: [`${LABELS.role}=instance`, `${LABELS.endpoint}=${endpoint}`, `${LABELS.deployment}=${deployment}`] } });
      const wanted = new Set(hosts);
      const logs: InstanceLog[] = [];
      for (const c of rows) {
        const name = (c.Names[0] ?? c.Id).replace(/^\//, "");
        if (!wanted.has(name)) continue;
        logs.push({ instance: name, container: name, state: c.State, text: await containerLogTail(docker, c.Id, lines) });
      }
      logs.sort((a, b) => a.instance.localeCompare(b.instance));
      return logs.length ? { logs } : { logs, note: `no instance container of ${endpoint}/${deployment} on this engine (removed after failing, or another target); run \`modelplane logs ${endpoint} --deployment ${deployment}\` for saved logs` };
    },
  };
}
