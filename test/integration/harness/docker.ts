import execa from "execa";

/** Names of containers (any state) carrying all the given labels. */
export async function containersByLabel(labels: Record<string, string>): Promise<string[]> {
  const args = ["ps", "-a", "--format", "{{.Names}}"];
  for (const [k, v] of Object.entries(labels)) args.push("--filter", `label=${k}=${v}`);
  const r = await execa("docker", args);
  return r.stdout.split("\n").filter(Boolean);
}

/** Force-removes every container, network and volume with the label; for test clean-up. */
export async function removeByLabel(label: string, value: string): Promise<void> {
  const f = `label=${label}=${value}`;
  const ids = (await execa("docker", ["ps", "-aq", "--filter", f])).stdout.split("\n").filter(Boolean);
  if (ids.length) await execa("docker", ["rm", "-f", "-v", ...ids], { reject: false });
  const nets = (await execa("docker", ["network", "ls", "-q", "--filter", f])).stdout.split("\n").filter(Boolean);
  if (nets.length) await execa("docker", ["network", "rm", ...nets], { reject: false });
  const vols = (await execa("docker", ["volume", "ls", "-q", "--filter", f])).stdout.split("\n").filter(Boolean);
  if (vols.length) await execa("docker", ["volume", "rm", "-f", ...vols], { reject: false });
}

/**
 * A free TCP port on 127.0.0.1 for a container or server the test binds later. Chosen below the
 * kernel's ephemeral range: a port from `listen(0)` is free now but may be taken by any process's
 * next ephemeral bind (Pulumi's engine and plugins bind their gRPC servers that way) before Docker
 * binds it, which failed an up with "address already in use".
 */
export async function freePort(): Promise<number> {
  const net = await import("node:net");
  const { readFile } = await import("node:fs/promises");
  const ephemeralStart = Number((await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(() => "32768")).trim().split(/\s+/)[0]) || 32768;
  const low = 10_000;
  const high = Math.max(low + 1000, ephemeralStart);
  const canBind = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port between ${low} and ${high} on 127.0.0.1`);
}
