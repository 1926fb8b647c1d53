/** Puts the batch part together on the server's store: tables, datastore, the worker engine (Docker or Kubernetes), service, routes. */
import * as path from "node:path";
import type { Store } from "../store/store";
import { batchOptions, type BatchOptions } from "./config";
import { Datastore } from "./datastore";
import { loadKubeconfig } from "../../targets/kubernetes/kubeconfig";
import { inClusterConnection } from "../../targets/kubernetes/in-cluster";
import { WorkerDocker } from "./docker-workers";
import { WorkerKubernetes } from "./kubernetes-workers";
import type { WorkerEngine } from "./workers";
import { GatewayJobs } from "./gateway-jobs";
import { BatchManagement } from "./management-batch";
import { BatchService } from "./service";
import { BatchTables } from "./tables";

export interface BatchPart {
  options: BatchOptions;
  tables: BatchTables;
  service: BatchService;
  management: BatchManagement;
  gateway: GatewayJobs;
  /** Starts the scheduler (resumes every Running job). */
  start(): void;
  stop(): Promise<void>;
}

export async function createBatchPart(store: Store, stateDir: string, given: Partial<BatchOptions> | undefined, gatewayUrl: () => string): Promise<BatchPart> {
  const options = batchOptions(stateDir, given);
  const tables = new BatchTables(store.database());
  const datastore = new Datastore(options.datastoreDir);
  await datastore.init();
  const workers = workerEngine(options, stateDir);
  const service = new BatchService({ tables, datastore, workers, options, workerSecret: store.secret("batch-worker-token"), gatewayUrl });
  const management = new BatchManagement({ tables, service, datastore, imagePrefix: options.imagePrefix, inputRoots: options.inputRoots, gatewayUrl });
  return {
    options,
    tables,
    service,
    management,
    gateway: new GatewayJobs(service, tables, datastore),
    start: () => service.start(),
    stop: () => service.stop(),
  };
}

/** Where a connection to the cluster comes from: the pod's ServiceAccount, else KUBECONFIG (a server beside the cluster). */
function kubeConnection(env: NodeJS.ProcessEnv = process.env) {
  const inCluster = inClusterConnection(env);
  if (inCluster) return inCluster;
  const file = env.KUBECONFIG;
  if (!file) throw new Error("the server runs batch workers on Kubernetes but is not in a pod and KUBECONFIG is not set: run it in the cluster (pulumi up with modelplane:target kubernetes) or set KUBECONFIG");
  const r = loadKubeconfig(file, env.MODELPLANE_KUBE_CONTEXT || undefined);
  if (!r.ok) throw new Error(r.problem);
  return r.connection;
}

function workerEngine(options: BatchOptions, stateDir: string): WorkerEngine {
  if (options.target === "kubernetes") {
    return new WorkerKubernetes({
      stack: options.stack,
      ...(options.stackId ? { stackId: options.stackId } : {}),
      namespace: options.namespace,
      imagePrefix: options.imagePrefix,
      driverConfigMap: options.driverConfigMap,
      stateClaim: options.stateClaim,
      // The claim is mounted at the state dir: the datastore's place in it.
      datastoreSubPath: path.relative(stateDir, options.datastoreDir) || ".",
      connection: () => kubeConnection(),
    });
  }
  return new WorkerDocker({
    stack: options.stack,
    ...(options.stackId ? { stackId: options.stackId } : {}),
    ...(options.network ? { network: options.network } : {}),
    imagePrefix: options.imagePrefix,
    datastore: { ...(options.datastoreVolume ? { volume: options.datastoreVolume } : {}), hostDir: options.datastoreDir },
    driverDir: options.driverDir,
    extraHosts: options.workerExtraHosts,
  });
}
