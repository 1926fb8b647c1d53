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

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}
