import execa from "execa";
import * as path from "node:path";
import { REPO_ROOT, TestStack } from "./pulumi";
import { freePort } from "./docker";

/** scripts/kubernetes/cluster.sh: the loopback control plane with kwok nodes. */
export const CLUSTER_SCRIPT = path.join(REPO_ROOT, "scripts/kubernetes/cluster.sh");

export interface Cluster {
  /** The admin (system:masters) kubeconfig; certificates embedded, so its contents alone suffice. */
  kubeconfig: string;
  /** The kubectl built with the control plane (same version as the server). */
  kubectlBin: string;
  /** Whether this process started the cluster (then `stop` stops it). */
  startedHere: boolean;
  /** `kubectl <args>` as admin; throws with stderr on a non-zero exit. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** `kubectl <args> -o json`, parsed. */
  kubectlJson<T>(args: string[]): Promise<T>;
  /** Stops the cluster if this process started it; leaves a cluster someone else started running. */
  stop(): Promise<void>;
}

async function script(cmd: "start" | "stop" | "status" | "env", timeoutMs = 180_000): Promise<execa.ExecaReturnValue> {
  return execa("bash", [CLUSTER_SCRIPT, cmd], { reject: false, all: true, timeout: timeoutMs });
}

/** The `export NAME=value` lines of `cluster.sh env`. */
async function clusterEnv(): Promise<Record<string, string>> {
  const r = await script("env");
  if (r.exitCode !== 0) throw new Error(`${CLUSTER_SCRIPT} env failed (exit ${r.exitCode}):\n${r.all}`);
  const env: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) env[m[1] as string] = m[2] as string;
  return env;
}

/**
 * Starts the loopback cluster unless it already runs (status exits 0), and records which. Throws
 * (never skips) when the toolchain is missing: cluster.sh says what to build.
 */
export async function startCluster(): Promise<Cluster> {
  const before = await script("status", 30_000);
  let startedHere = false;
  if (before.exitCode !== 0) {
    const r = await script("start");
    if (r.exitCode !== 0) throw new Error(`${CLUSTER_SCRIPT} start failed (exit ${r.exitCode}):\n${r.all}`);
    startedHere = true;
  }
  const env = await clusterEnv();
  const kubeconfig = env.KUBECONFIG;
  const kubectlBin = env.MODELPLANE_KUBECTL;
  if (!kubeconfig || !kubectlBin) throw new Error(`${CLUSTER_SCRIPT} env printed no KUBECONFIG or MODELPLANE_KUBECTL`);
  const kubectl = async (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> => {
    const r = await execa(kubectlBin, ["--kubeconfig", kubeconfig, ...args], { reject: false, input: opts.input, timeout: opts.timeoutMs ?? 120_000 });
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(" ")} failed (exit ${r.exitCode}):\n${r.stderr || r.stdout}`);
    return r.stdout;
  };
  return {
    kubeconfig,
    kubectlBin,
    startedHere,
    kubectl,
    kubectlJson: async <T>(args: string[]) => JSON.parse(await kubectl([...args, "-o", "json"])) as T,
    stop: async () => {
      if (!startedHere) return;
      const r = await script("stop", 60_000);
      if (r.exitCode !== 0) throw new Error(`${CLUSTER_SCRIPT} stop failed (exit ${r.exitCode}):\n${r.all}`);
    },
  };
}

/** A modelplane server on loopback, standing in for the in-cluster one kwok cannot run. */
export interface StandInServer {
  process: execa.ExecaChildProcess;
  managementUrl: string;
  gatewayUrl: string;
}

/**
 * Starts `src/server/run.ts` with its state in `stateDir` on free loopback ports and waits for
 * /healthz; `env` adds to MODELPLANE_MANAGEMENT_TOKEN=token.
 */
export async function startStandInServer(stateDir: string, token: string, env: Record<string, string> = {}): Promise<StandInServer> {
  const [mport, gport] = [await freePort(), await freePort()];
  const managementUrl = `http://127.0.0.1:${mport}`;
  const proc = execa("node", ["--import", "tsx", "src/server/run.ts", "--state-dir", stateDir, "--gateway-port", String(gport), "--gateway-host", "127.0.0.1", "--management-port", String(mport)], {
    cwd: REPO_ROOT,
    env: { MODELPLANE_MANAGEMENT_TOKEN: token, ...env },
    all: true,
  });
  for (let i = 0; ; i++) {
    if (await fetch(`${managementUrl}/healthz`).then((r) => r.ok).catch(() => false)) break;
    if (i > 100 || proc.exitCode !== null) {
      proc.kill("SIGKILL");
      throw new Error(`the stand-in server (state ${stateDir}) did not answer ${managementUrl}/healthz in 20 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { process: proc, managementUrl, gatewayUrl: `http://127.0.0.1:${gport}` };
}

/**
 * A stack with modelplane:target kubernetes on `cluster`, its management API the stand-in's; with
 * no stand-in (`undefined`), the in-cluster server's, at its Service's ClusterIP (the default).
 */
export async function kubernetesStack(name: string, cluster: Cluster, server: StandInServer | undefined, token: string, config: Record<string, string>): Promise<TestStack> {
  const stack = await TestStack.create(REPO_ROOT, name, {
    "modelplane:target": "kubernetes",
    "modelplane:kubeconfig": cluster.kubeconfig,
    ...(server ? { "modelplane:managementUrl": server.managementUrl } : {}),
    ...config,
  });
  await stack.pulumi(["config", "set", "--secret", "modelplane:managementToken", token]);
  return stack;
}
