export { ControlPlane, validateControlPlaneArgs, type ControlPlaneArgs } from "./control-plane";
export { OnlineDeployment, type OnlineDeploymentArgs } from "./online-deployment";
export { OnlineEndpoint, validateOnlineEndpointArgs, type OnlineEndpointArgs } from "./online-endpoint";
export { BatchCluster, validateBatchClusterArgs, type BatchClusterArgs } from "./batch-cluster";
export { BatchDeployment, type BatchDeploymentArgs } from "./batch-deployment";
export { BatchEndpoint, defaultDeploymentOf, validateBatchEndpointArgs, type BatchEndpointArgs } from "./batch-endpoint";
export { DataAsset, type DataAssetArgs } from "./data-asset";
export { batchArgsProblems, type ControlPlaneBatchArgs } from "../src/targets/docker/batch-server";
export { deployBatch, stackHasBatch, type BatchEndpointOutput } from "./batch-stack";
