/** The batch part's settings: from ServerOptions.batch, else the environment (docs/batch-api.md). */
import * as path from "node:path";

export interface BatchOptions {
  /** Stack name; workers are labelled with it. @default env MODELPLANE_STACK or "default" */
  stack: string;
  /** The stack's identity label value. @default env MODELPLANE_STACK_ID */
  stackId?: string;
  /** Docker network the workers join. @default env MODELPLANE_NETWORK (none: the engine's default bridge) */
  network?: string;
  /** Where the server reads and writes the datastore. @default env MODELPLANE_DATASTORE_DIR, "/datastore" with a volume, else `<stateDir>/datastore` */
  datastoreDir: string;
  /** Named volume holding the datastore, mounted read-only in workers; without it the datastoreDir is bind-mounted (a server on the host). @default env MODELPLANE_DATASTORE_VOLUME */
  datastoreVolume?: string;
  /** HOST folder of driver.py, bind-mounted read-only at /opt/modelplane/batch. @default env MODELPLANE_BATCH_DRIVER_DIR or the checkout's templates/batch */
  driverDir: string;
  /** HOST folders jobs may read directly. @default env MODELPLANE_INPUT_ROOTS (colon-separated), none */
  inputRoots: string[];
  /** URL workers reach the management listener at. @default env MODELPLANE_WORKER_SERVER_URL or http://modelplane-server:8081 */
  workerServerUrl: string;
  /** The only image prefix workers may run. @default env MODELPLANE_IMAGE_PREFIX or `modelplane-<stack>/` */
  imagePrefix: string;
  /** `host:ip` entries added to each worker's /etc/hosts. @default ["host.docker.internal:host-gateway"] */
  workerExtraHosts: string[];
  /** What runs workers: Docker containers, or pods of Indexed Jobs. @default env MODELPLANE_TARGET or "docker" */
  target: "docker" | "kubernetes";
  /** Kubernetes: the namespace workers run in. @default env MODELPLANE_NAMESPACE or `modelplane-<stack>` */
  namespace: string;
  /** Kubernetes: the ConfigMap holding driver.py. @default env MODELPLANE_BATCH_DRIVER_CONFIGMAP or "modelplane-batch-driver" */
  driverConfigMap: string;
  /** Kubernetes: the server's state claim, whose `datastore` folder workers mount read-only. @default env MODELPLANE_STATE_CLAIM or "modelplane-state" */
  stateClaim: string;
  /** Scheduler period. @default 500 */
  tickMs: number;
  /** Largest file an http(s) input may download. @default 1 GiB */
  downloadLimitBytes: number;
}

/** The checkout's templates/batch (this file is src/server/batch/config.ts). */
const CHECKOUT_DRIVER_DIR = path.resolve(__dirname, "../../../templates/batch");

export function batchOptions(stateDir: string, given: Partial<BatchOptions> = {}, env: NodeJS.ProcessEnv = process.env): BatchOptions {
  const stack = given.stack ?? env.MODELPLANE_STACK ?? "default";
  const datastoreVolume = given.datastoreVolume ?? (env.MODELPLANE_DATASTORE_VOLUME || undefined);
  return {
    stack,
    stackId: given.stackId ?? (env.MODELPLANE_STACK_ID || undefined),
    network: given.network ?? (env.MODELPLANE_NETWORK || undefined),
    datastoreDir: path.resolve(given.datastoreDir ?? env.MODELPLANE_DATASTORE_DIR ?? (datastoreVolume ? "/datastore" : path.join(stateDir, "datastore"))),
    datastoreVolume,
    driverDir: given.driverDir ?? env.MODELPLANE_BATCH_DRIVER_DIR ?? CHECKOUT_DRIVER_DIR,
    inputRoots: (given.inputRoots ?? (env.MODELPLANE_INPUT_ROOTS ?? "").split(":")).filter((r) => r.trim() !== "").map((r) => path.resolve(r)),
    workerServerUrl: (given.workerServerUrl ?? env.MODELPLANE_WORKER_SERVER_URL ?? "http://modelplane-server:8081").replace(/\/+$/, ""),
    imagePrefix: given.imagePrefix ?? env.MODELPLANE_IMAGE_PREFIX ?? `modelplane-${stack}/`,
    workerExtraHosts: given.workerExtraHosts ?? ["host.docker.internal:host-gateway"],
    target: given.target ?? (env.MODELPLANE_TARGET === "kubernetes" ? "kubernetes" : "docker"),
    namespace: given.namespace ?? env.MODELPLANE_NAMESPACE ?? `modelplane-${stack}`,
    driverConfigMap: given.driverConfigMap ?? env.MODELPLANE_BATCH_DRIVER_CONFIGMAP ?? "modelplane-batch-driver",
    stateClaim: given.stateClaim ?? env.MODELPLANE_STATE_CLAIM ?? "modelplane-state",
    tickMs: given.tickMs ?? 500,
    downloadLimitBytes: given.downloadLimitBytes ?? 1024 * 1024 * 1024,
  };
}
