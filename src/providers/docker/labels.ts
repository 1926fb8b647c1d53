/** Labels that tie every Docker object modelplane makes to its stack (used by cleanup and tests). */
export const LABELS = {
  managed: "modelplane.managed",
  stack: "modelplane.stack",
  endpoint: "modelplane.endpoint",
  deployment: "modelplane.deployment",
  role: "modelplane.role",
} as const;

/** The labels for an object of `stack`, plus extra ones (`undefined` values are dropped). */
export function stackLabels(stack: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = { [LABELS.managed]: "true", [LABELS.stack]: stack };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out;
}
