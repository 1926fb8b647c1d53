// Public API of the spec module: typed, validated endpoint/deployment specs and the stack loader.
export * from "./types";
export { DEFAULT_PROBE, DEFAULT_REQUEST_SETTINGS, DEFAULT_BATCH_SETTINGS, DEFAULT_CLUSTER } from "./defaults";
export { parseOnlineEndpoint } from "./online-endpoint";
export { parseOnlineDeployment } from "./online-deployment";
export { parseBatchEndpoint } from "./batch-endpoint";
export { parseBatchDeployment } from "./batch-deployment";
export { checkTraffic } from "./traffic";
export { checkOnlineSet, checkBatchSet, checkComputeSet, checkStackSet, clusterNameOf } from "./cross-rules";
export { parseComputeCluster } from "./compute-cluster";
export { parseDataAsset } from "./data-asset";
export { formatDiagnostic } from "./diagnostic";
export { detectKind } from "./kind";
export { loadSpecs, loadStack } from "./loader";
