import * as pulumi from "@pulumi/pulumi";
import { mkdirSync, writeFileSync } from "node:fs";
import * as nodePath from "node:path";
import { containerLogTail, dockerClient, isNotFound } from "../docker/client";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";
import { managementRequest, type ManagementAccess, unlessGone } from "./client";
import { diffFields } from "./diff-fields";
import { deploymentRoute, type DeploymentState, readDeploymentRegistration } from "./deployment-registration";

export interface ProbeInputs {
  initial_delay: number;
  period: number;
  timeout: number;
  success_threshold: number;
  failure_threshold: number;
}
export interface DeploymentInputs extends ManagementAccess {
  endpointName: string;
  name: string;
  /** The running instances the gateway routes to (container DNS names on the stack network). */
  instances: { id: string; url: string }[];
  routes: { scoring: string; readiness: string; liveness: string; swagger?: string };
  request_settings: { request_timeout_ms: number; max_concurrent_requests_per_instance: number; max_queue_wait_ms: number };
  readiness_probe: ProbeInputs;
  liveness_probe: ProbeInputs;
  model_server: string;
  /** "target": the engine gates readiness (Kubernetes probes and rollout); the server does not probe. @default "server" */
  readiness_owner?: "server" | "target";
  /** The deployment spec as written (stored by the server, shown by `modelplane` and `GET`). */
  spec?: Record<string, unknown>;
  /** Containers whose logs explain a failed readiness. */
  containerNames?: string[];
  /** Keep the instances of a failed readiness running for inspection (`modelplane:keepFailedInstances`). @default false: they are removed, their logs kept */
  keepFailedInstances?: boolean;
}
export interface DeploymentOutputs extends DeploymentInputs {
  provisioningState: string;
}

/** Longest a readiness wait may take: the probe budget plus slack for the first request. */
export function readinessBudgetSeconds(p: ProbeInputs): number {
  return p.initial_delay + p.period * p.failure_threshold + p.timeout + 30;
}

/**
 * The log lines that explain a failure: a window ending shortly after the last error-looking
 * line. A crash-looping container has often restarted and printed its start-up banner again,
 * so its last lines alone would not show why the previous start failed.
 */
export function relevantLogLines(log: string, window = 40): string {
  const lines = log.split("\n");
  let last = -1;
  lines.forEach((l, i) => {
    // Case-sensitive: gunicorn logs routine lines under the logger name "gunicorn.error".
    if (/Traceback|[A-Za-z]*(Error|Exception)\b|\bfailed\b|\bfatal\b/.test(l)) last = i;
  });
  if (last < 0) return lines.slice(-window).join("\n");
  const end = Math.min(lines.length, last + 6);
  return lines.slice(Math.max(0, end - window), end).join("\n");
}

async function explainFailure(i: DeploymentInputs, reason: string): Promise<string> {
  const docker = dockerClient();
  const parts = [`deployment "${i.name}" of endpoint "${i.endpointName}" failed readiness: ${reason}`];
  for (const c of i.containerNames ?? []) {
    const state = await docker
      .getContainer(c)
      .inspect()
      .then((s) => `${s.State.Status}${s.State.Running ? "" : `, exit code ${s.State.ExitCode}`}${s.RestartCount ? `, restarted ${s.RestartCount}x` : ""}`)
      .catch(() => "gone");
    parts.push(`--- ${c} (${state}): log lines around its last error ---\n${relevantLogLines(await containerLogTail(docker, c, 400)) || "(no output)"}`);
  }
  parts.push("Fix the scoring code or environment and run `pulumi up` again; the endpoint's traffic was left unchanged.");
  return parts.join("\n");
}

/** The first container that has restarted twice or more (its entrypoint or init() keeps failing). */
async function crashLoopingContainer(names: string[]): Promise<string | undefined> {
  const docker = dockerClient();
  for (const n of names) {
    const s = await docker.getContainer(n).inspect().catch(() => undefined);
    if (s && s.RestartCount >= 2) return n;
  }
  return undefined;
}

async function applyAndWait(i: DeploymentInputs): Promise<DeploymentOutputs> {
  const { managementUrl: _u, managementToken: _t, containerNames: _c, endpointName: _e, name: _n, ...body } = i;
  await managementRequest(i, "PUT", deploymentRoute(i), body);
  const deadline = Date.now() + readinessBudgetSeconds(i.readiness_probe) * 1000;
  for (let polls = 0; ; polls++) {
    const d = await managementRequest<DeploymentState>(i, "GET", deploymentRoute(i));
    if (d.provisioningState === "Succeeded") return { ...i, provisioningState: d.provisioningState };
    if (d.provisioningState === "Failed") throw new Error(await explainFailure(i, d.failureReason ?? "no reason given"));
    if (Date.now() > deadline) throw new Error(await explainFailure(i, `still ${d.provisioningState} after the probe budget`));
    // A crash-looping instance will never become ready: say so now, not after the whole probe budget.
    if (polls % 8 === 7) {
      const crashed = await crashLoopingContainer(i.containerNames ?? []);
      if (crashed) throw new Error(await explainFailure(i, `instance ${crashed} keeps exiting (crash loop) before it becomes ready`));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Where the last logs of removed failed instances are kept (read by `modelplane logs`). */
export function failedInstanceLogDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.MODELPLANE_STATE ?? nodePath.join(env.MODELPLANE_ROOT ?? process.cwd(), ".state");
  return nodePath.join(state, "failed-instances");
}

/**
 * A failed readiness leaves no running leftovers: the given instances (a crash loop would go on
 * forever) are removed after their logs are saved to failedInstanceLogDir()/<container>.log.
 * The next `up` recreates them (the container provider's diff sees they are gone).
 */
export async function removeFailedInstances(names: string[], logDir = failedInstanceLogDir()): Promise<string[]> {
  const docker = dockerClient();
  const removed: string[] = [];
  for (const n of names) {
    try {
      const info = await docker.getContainer(n).inspect();
      const log = await containerLogTail(docker, n, 2000);
      mkdirSync(logDir, { recursive: true });
      writeFileSync(nodePath.join(logDir, `${n}.log`), `# ${n} (${info.State.Status}, exit code ${info.State.ExitCode}, restarted ${info.RestartCount}x), removed after failing readiness at ${new Date().toISOString()}\n${log}\n`);
      await docker.getContainer(n).remove({ force: true, v: true });
      removed.push(n);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return removed;
}

async function cleanUpFailed(i: DeploymentInputs, names: string[], err: unknown): Promise<Error> {
  const e = err instanceof Error ? err : new Error(String(err));
  if (i.keepFailedInstances || names.length === 0) return e;
  const removed = await removeFailedInstances(names).catch((x: unknown) => {
    e.message += `\n(removing the failed instances failed too: ${(x as Error).message})`;
    return [] as string[];
  });
  if (removed.length > 0) {
    e.message += `\nThe failed instances were removed (${removed.join(", ")}); their logs are kept in ${failedInstanceLogDir()} and shown by \`modelplane logs ${i.endpointName} --deployment ${i.name}\`. Set \`pulumi config set modelplane:keepFailedInstances true\` to keep them running for inspection.`;
  }
  return e;
}

/** Spec fields shown by the studio that came after stacks existed. */
const LATER_SPEC_FIELDS = ["image", "model_version"];

/**
 * The new inputs as the diff compares them: a registration recorded before LATER_SPEC_FIELDS is
 * not updated for them alone (an old stack's `up` stays a no-op); the next real change carries them.
 */
export function specForDiff(olds: DeploymentInputs, news: DeploymentInputs): DeploymentInputs {
  if (!olds.spec || !news.spec || "image" in olds.spec) return news;
  const spec = Object.fromEntries(Object.entries(news.spec).filter(([k]) => !LATER_SPEC_FIELDS.includes(k)));
  return { ...news, spec };
}

/** Only the identity of a deployment forces a replacement; instances, settings and spec update in place. */
export const DEPLOYMENT_REPLACE_FIELDS = ["endpointName", "name"] as const;

export const deploymentProvider: pulumi.dynamic.ResourceProvider<DeploymentInputs, DeploymentOutputs> = {
  async diff(_id, olds, news) {
    return diffFields(olds, specForDiff(olds, news), DEPLOYMENT_REPLACE_FIELDS, ["instances", "routes", "request_settings", "readiness_probe", "liveness_probe", "model_server", "spec", "managementUrl", "managementToken"]);
  },
  async create(inputs) {
    try {
      return { id: `${inputs.endpointName}/${inputs.name}`, outs: await applyAndWait(inputs) };
    } catch (err) {
      // Pulumi records nothing for a failed create, so the registration must not outlive it
      // (an orphan the next `up` could not see). A failed *update* keeps serving the old instances.
      await managementRequest(inputs, "DELETE", deploymentRoute(inputs)).catch(() => undefined);
      throw await cleanUpFailed(inputs, inputs.containerNames ?? [], err);
    }
  },
  async update(_id, olds, news) {
    try {
      return { outs: await applyAndWait(news) };
    } catch (err) {
      // The old instances keep serving; only the new ones that failed go.
      const old = new Set((olds as DeploymentOutputs).containerNames ?? []);
      throw await cleanUpFailed(news, (news.containerNames ?? []).filter((n) => !old.has(n)), err);
    }
  },
  async read(id, props) {
    return readDeploymentRegistration(id, props as DeploymentOutputs);
  },
  async delete(_id, props) {
    await unlessGone(managementRequest(props as DeploymentOutputs, "DELETE", deploymentRoute(props as DeploymentOutputs)));
  },
};

/** Registers a deployment's instances with the control plane and waits until they are ready. */
export class DeploymentResource extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly provisioningState: pulumi.Output<string>;
  constructor(name: string, args: Inputs<DeploymentInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      lazyProvider("src/providers/management/deployment.ts", "deploymentProvider"),
      name,
      { ...args, provisioningState: undefined },
      { ...opts, additionalSecretOutputs: ["managementToken"] },
      "modelplane",
      "Deployment",
    );
  }
}
