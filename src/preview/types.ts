// The parts of `pulumi preview --json --diff` the renderer reads, and what it makes of them.

/** One resource step of the preview (`steps[]`). */
export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: { type?: string; parent?: string; inputs?: Record<string, unknown> } | null;
  newState?: { type?: string; parent?: string; inputs?: Record<string, unknown> } | null;
  replaceReasons?: string[] | null;
  diffReasons?: string[] | null;
}

export interface PreviewDiagnostic {
  message: string;
  severity: string;
}

/** The whole JSON document Pulumi prints. */
export interface PreviewJson {
  steps?: PreviewStep[];
  diagnostics?: PreviewDiagnostic[];
  changeSummary?: Record<string, number>;
}

export type Change<T> = { before: T | undefined; after: T | undefined };

/** What changes for one deployment of an endpoint. */
export interface DeploymentChange {
  name: string;
  /** create | update | replace | delete | same */
  op: string;
  traffic: Change<number>;
  mirror: Change<number>;
  /** `name:version` of the model (or its folder's name when it has no version). */
  model: Change<string>;
  /** The image's content hash (first 12 hex digits). */
  image: Change<string>;
  /** The code + model content hash the instances carry. */
  content: Change<string>;
  instanceCount: Change<number>;
  instanceType: Change<string>;
  /** Names of environment variables added, removed or changed (never values). */
  envChanged: string[];
  /** Names whose value is a Pulumi secret. */
  envSecret: string[];
  /** The instances are replaced; true when the old ones are deleted first. */
  replaced: boolean;
  deleteBeforeReplace: boolean;
}

export interface EndpointChange {
  name: string;
  op: string;
  deployments: DeploymentChange[];
}

export interface PreviewSummary {
  stack: string;
  /** Resource steps by operation (no `same`). */
  counts: Record<string, number>;
  endpoints: EndpointChange[];
  /** Changed resources outside the endpoints (control plane, batch, data assets), by Pulumi name. */
  others: Array<{ name: string; kind: string; op: string }>;
  warnings: string[];
  errors: string[];
}

export interface SummaryOptions {
  /** Stacks whose traffic shifts are checked against `shiftThreshold`. @default ["prod"] */
  prodStacks?: string[];
  /** The largest traffic move (percentage points for one deployment) a prod stack takes without a flag. @default 20 */
  shiftThreshold?: number;
  /** The stack's live resources (`pulumi stack export`'s deployment.resources): what unchanged resources hold, which the preview JSON leaves out. */
  state?: StateResource[];
  /** Prefixes removed from paths in diagnostics (the checkout's root). */
  stripPrefixes?: string[];
}

/** One resource of `pulumi stack export`. */
export interface StateResource {
  urn: string;
  type?: string;
  parent?: string;
  inputs?: Record<string, unknown>;
}
