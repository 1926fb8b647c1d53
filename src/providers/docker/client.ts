import Docker from "dockerode";

/**
 * A Docker Engine API client for one call. Providers make a new one inside each method (they are
 * serialized into the provider process, so they must not capture a live client); DOCKER_HOST is
 * read each time, as the docker CLI does.
 */
export function dockerClient(): Docker {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith("tcp://")) {
    const url = new URL(host);
    return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
  }
  return new Docker({ socketPath: host?.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock" });
}

/** True when a dockerode error is the engine's 404. */
export function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { statusCode?: number }).statusCode === 404;
}

/** The last `lines` lines of a container's stdout+stderr, demultiplexed; "" when it is gone. */
export async function containerLogTail(docker: Docker, idOrName: string, lines = 30): Promise<string> {
  try {
    const raw = (await docker.getContainer(idOrName).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxDockerStream(raw).trimEnd();
  } catch (err) {
    if (isNotFound(err)) return "";
    throw err;
  }
}

/** Docker multiplexes stdout/stderr of non-TTY containers in 8-byte-header frames. */
export function demuxDockerStream(buf: Buffer): string {
  const parts: string[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2 || buf[i] === 0) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size).toString("utf8"));
    i += 8 + size;
  }
  return i === 0 ? buf.toString("utf8") : parts.join("");
}
