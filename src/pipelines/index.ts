// Typed functions for MLOps pipelines written in TypeScript (examples/pipelines/): preview, up,
// verify and promote stacks through the Automation API, register model versions and edit
// deployments and traffic in a stack's specs. Each takes PipelineOptions (root, env, onOutput).
export { addDeployment, copyDeployment, shiftSplit, shiftTraffic, type AddDeploymentArgs, type SpecEdit } from "./deployments";
export { promote, verify, type PromoteArgs, type PromoteResult, type VerifyResult } from "./gates";
export { addModelEntry, nextVersion, registerModel, type RegisteredModel, type RegisterModelArgs } from "./register-model";
export { preview, up, type PreviewResult, type UpResult } from "./stack-ops";
export { PipelineError, pipelineEnv, selectStack, stackOutputs, type PipelineOptions } from "./workspace";
