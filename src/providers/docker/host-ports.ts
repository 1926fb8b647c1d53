import { createServer } from "node:net";
import { dockerClient } from "./client";
import { LABELS } from "./labels";

/** Who holds a host port: a container (with its modelplane labels) or another process. */
export interface PortHolder {
  container?: { name: string; stack?: string; stackId?: string };
}

/** True when `port` can be bound on `host` now (nothing listens there). */
export function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Host ports published by the engine's containers (running or not: a stopped one takes its port back on start). */
export async function publishedPorts(): Promise<Map<number, { name: string; labels: Record<string, string> }>> {
  const out = new Map<number, { name: string; labels: Record<string, string> }>();
  for (const c of await dockerClient().listContainers({ all: true })) {
    const name = (c.Names[0] ?? "").replace(/^\//, "");
    for (const p of c.Ports ?? []) if (p.PublicPort) out.set(p.PublicPort, { name, labels: c.Labels ?? {} });
    // A stopped container lists no Ports; its HostConfig still reserves them.
  }
  return out;
}

/** Whether `port` is free for a container whose base name is `ownBase`, and if not, who holds it. */
export async function portHolder(port: number, host: string, ownBase: string | undefined): Promise<PortHolder | undefined> {
  const published = await publishedPorts();
  const holder = published.get(port);
  if (holder) {
    if (ownBase && (holder.name === ownBase || holder.name.startsWith(`${ownBase}-`))) return undefined; // our own (previous) container
    return { container: { name: holder.name, stack: holder.labels[LABELS.stack], stackId: holder.labels[LABELS.stackId] } };
  }
  return (await canBind(port, host)) ? undefined : {};
}

/** Pure: the message for a configured port that is taken (what, who holds it, the config line). */
export function takenPortMessage(port: number, host: string, holder: PortHolder, configKey: string | undefined, stack: string | undefined): string {
  const who = holder.container
    ? holder.container.stack
      ? `modelplane stack "${holder.container.stack}"${holder.container.stackId ? ` (identity ${holder.container.stackId})` : ""}, container ${holder.container.name}`
      : `container ${holder.container.name}`
    : "another process (not a Docker container)";
  const key = configKey ?? "the port";
  const s = stack ? ` --stack ${stack}` : "";
  return (
    `host port ${host}:${port}${configKey ? ` (${configKey})` : ""} is taken by ${who}. Nothing was created. ` +
    `Fix: let modelplane choose free ports with \`pulumi config set ${key} auto${s}\`, or set another port with \`pulumi config set ${key} <port>${s}\`.`
  );
}

/** A free port in [from, to) that no container publishes and that binds on `host`. */
export async function pickFreePort(host: string, taken: Set<number>, from = 20000, to = 30000): Promise<number> {
  const published = await publishedPorts();
  for (let tries = 0; tries < 200; tries++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (taken.has(port) || published.has(port)) continue;
    if (await canBind(port, host)) return port;
  }
  throw new Error(`no free port found in ${from}-${to} on ${host} after 200 tries; set the ports in the stack config (modelplane:gatewayPort, modelplane:managementPort)`);
}
