/**
 * The one table of the names a stack's objects get on a Docker engine. Names are written into
 * Pulumi state and onto the engine: change them only with a migration (docs/architecture.md,
 * "Stack identity").
 *
 * A stack's objects are prefixed `modelplane-<stack>-<stackId>`, so two stacks of the same name
 * (two checkouts, two backends) never share a name. A stack created before identities existed
 * keeps its identity "" and so its old names `modelplane-<stack>-...` (src/providers/stack/identity.ts).
 */
export function objectPrefix(stack: string, stackId: string): string {
  return stackId ? `modelplane-${stack}-${stackId}` : `modelplane-${stack}`;
}

export interface StackObjectNames {
  network: string;
  stateVolume: string;
  datastoreVolume: string;
  server: string;
  /** Base name of one instance container (the provider appends a hash of its inputs). */
  instance: (endpoint: string, deployment: string, index: number) => string;
  /** The stack-owned repository an image is tagged into, e.g. `modelplane-dev-1a2b3c4d/server`. */
  imageRepository: (part: string) => string;
}

export function stackObjectNames(stack: string, stackId: string): StackObjectNames {
  const p = objectPrefix(stack, stackId);
  return {
    network: p,
    stateVolume: `${p}-state`,
    datastoreVolume: `${p}-datastore`,
    server: `${p}-server`,
    instance: (endpoint, deployment, index) => `${p}-${endpoint}-${deployment}-${index}`,
    imageRepository: (part) => `${p}/${part}`,
  };
}
