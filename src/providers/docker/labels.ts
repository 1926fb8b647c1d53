/** Labels that tie every Docker object modelplane makes to its stack (used by cleanup and tests). */
export const LABELS = {
  managed: "modelplane.managed",
  stack: "modelplane.stack",
  /** The stack's identity (src/providers/stack/identity.ts): absent on objects of stacks made before identities. */
  stackId: "modelplane.stack-id",
  endpoint: "modelplane.endpoint",
  deployment: "modelplane.deployment",
  role: "modelplane.role",
} as const;

/**
 * The labels for an object of `stack`, plus extra ones (`undefined` values are dropped). With a
 * `stackId` the object also carries the identity; "" (a stack from before identities) keeps the
 * labels such objects always had, so they are not replaced.
 */
export function stackLabels(stack: string, extra: Record<string, string | undefined> = {}, stackId = ""): Record<string, string> {
  const out: Record<string, string> = { [LABELS.managed]: "true", [LABELS.stack]: stack };
  if (stackId) out[LABELS.stackId] = stackId;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out;
}

/** The identity an object's labels say it belongs to: "" for objects of pre-identity stacks. */
export function labelledStackId(labels: Record<string, string> | undefined | null): string {
  return labels?.[LABELS.stackId] ?? "";
}

/**
 * Pure: why an engine object of `kind` named `name` is not this stack's to adopt, change or
 * remove: its labels name another stack or another identity (undefined when it is ours).
 */
export function foreignObjectProblem(kind: string, name: string, ours: Record<string, string>, theirs: Record<string, string> | null | undefined): string | undefined {
  const t = theirs ?? {};
  if (t[LABELS.stack] === ours[LABELS.stack] && labelledStackId(t) === labelledStackId(ours)) return undefined;
  const owner = t[LABELS.stack] ? `modelplane stack "${t[LABELS.stack]}" (identity ${labelledStackId(t) || "(none)"})` : "something other than modelplane";
  return (
    `${kind} ${name} already exists and belongs to ${owner}, not to this stack (identity ${labelledStackId(ours) || "(none)"}): ` +
    "modelplane never adopts, changes or removes another stack's objects, so this up stopped. " +
    `Fix: give this stack its own identity (remove modelplane:stackId from its config), or remove that ${kind} yourself if it is a leftover.`
  );
}
