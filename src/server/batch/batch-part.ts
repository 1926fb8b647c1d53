/** Puts the batch part together on the server's store: tables, datastore, Docker workers, service, routes. */
import type { Store } from "../store/store";
import { batchOptions, type BatchOptions } from "./config";
import { Datastore } from "./datastore";
import { WorkerDocker } from "./docker-workers";
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
  const workers = new WorkerDocker({
    stack: options.stack,
    ...(options.stackId ? { stackId: options.stackId } : {}),
    ...(options.network ? { network: options.network } : {}),
    imagePrefix: options.imagePrefix,
    datastore: { ...(options.datastoreVolume ? { volume: options.datastoreVolume } : {}), hostDir: options.datastoreDir },
    driverDir: options.driverDir,
    extraHosts: options.workerExtraHosts,
  });
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
