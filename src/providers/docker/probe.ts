// The liveness probe (tools/liveness-probe): where set-up put the binary and the Docker health
// check that runs it in an instance container (docs/architecture.md "Probes").
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ProbeSettings } from "../../spec/types";
import type { BindMount, ContainerHealthcheck } from "./container";

/** Where instance containers see the probe (bind-mounted read-only). */
export const PROBE_TARGET = "/opt/modelplane/bin/modelplane-probe";
/** The probe's failure count inside the container (falls back to /dev/shm on a read-only root). */
export const PROBE_STATE = "/tmp/.modelplane-liveness";

const SOURCE = path.resolve(__dirname, "../../../tools/liveness-probe");

/** Same hash as scripts/toolchain/liveness-probe.sh: sha256 of go.mod then main.go, 16 hex digits. */
export function probeSourceHash(sourceDir = SOURCE): string {
  const h = createHash("sha256");
  for (const f of ["go.mod", "main.go"]) h.update(fs.readFileSync(path.join(sourceDir, f)));
  return h.digest("hex").slice(0, 16);
}

/**
 * The host path of the probe binary: `$MODELPLANE_PROBE_BIN` when set, else the build of the
 * current source in `$MODELPLANE_CACHE/tools`. Throws, naming the fix, when it is not there.
 */
export function probeBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.MODELPLANE_CACHE || path.join(env.HOME || os.homedir(), ".cache/modelplane");
  const file = env.MODELPLANE_PROBE_BIN || path.join(cache, "tools", `modelplane-probe-${probeSourceHash()}`);
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(
      `the liveness probe binary ${file} is missing (it is built from tools/liveness-probe by set-up); run \`bash scripts/setup.sh\`` +
        (env.MODELPLANE_PROBE_BIN ? ` or fix MODELPLANE_PROBE_BIN` : ""),
    );
  }
  return path.resolve(file);
}

/** The read-only bind mount that puts the probe into a container. */
export function probeBind(hostPath: string): BindMount {
  return { source: hostPath, target: PROBE_TARGET, readOnly: true };
}

/**
 * The Docker health check enforcing a liveness probe: the engine runs the probe every `period` s
 * (first after `initial_delay` s of start period); the probe GETs the server's liveness route on
 * its port inside the container and, after `failure_threshold` consecutive failures, stops PID 1
 * so the restart policy restarts the container. Docker's `retries` only sets when the engine calls
 * the container unhealthy: the probe does the counting and the restart.
 */
export function livenessHealthcheck(probe: ProbeSettings, route: string, port: number): ContainerHealthcheck {
  const r = route.startsWith("/") ? route : `/${route}`;
  return {
    test: [
      PROBE_TARGET,
      "--url", `http://127.0.0.1:${port}${r}`,
      "--timeout", `${probe.timeout}s`,
      "--failures", String(probe.failure_threshold),
      "--initial-delay", `${probe.initial_delay}s`,
      "--state", PROBE_STATE,
    ],
    intervalS: probe.period,
    timeoutS: probe.timeout + 1, // slack for the exec itself: the GET has `timeout`
    retries: probe.failure_threshold,
    startPeriodS: probe.initial_delay,
  };
}
