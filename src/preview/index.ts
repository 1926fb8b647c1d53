// Rendering `pulumi preview --json --diff` for reviewers (modelplane preview, PR comments).
export { resourceKind, summarizePreview } from "./analyze";
export { COMMENT_MARKER, formatCounts, renderComment, renderStack } from "./render";
export { parsePreviewJson } from "./parse";
export type { DeploymentChange, EndpointChange, PreviewJson, PreviewStep, PreviewSummary, StateResource, SummaryOptions } from "./types";
