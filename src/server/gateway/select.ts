/** Pure routing choices: weighted deployment pick, mirror decision, least-outstanding instance. */

export interface Weighted {
  name: string;
  weight: number;
}

/** Cumulative weights for O(n) picks with one random number. Zero weights are dropped. */
export function cumulative(traffic: Record<string, number>): { names: string[]; bounds: number[]; total: number } {
  const names: string[] = [];
  const bounds: number[] = [];
  let total = 0;
  for (const [name, w] of Object.entries(traffic).sort(([a], [b]) => a.localeCompare(b))) {
    if (!(w > 0)) continue;
    total += w;
    names.push(name);
    bounds.push(total);
  }
  return { names, bounds, total };
}

/** Picks a deployment for r in [0, 1); undefined when no deployment has weight. */
export function pickWeighted(c: { names: string[]; bounds: number[]; total: number }, r: number): string | undefined {
  if (c.total <= 0) return undefined;
  const x = r * c.total;
  for (let i = 0; i < c.bounds.length; i++) if (x < c.bounds[i]!) return c.names[i];
  return c.names[c.names.length - 1];
}

/** True when a request drawn with r in [0, 1) is mirrored at `percent`. */
export function shouldMirror(percent: number, r: number): boolean {
  return percent > 0 && r * 100 < percent;
}

/** Index of the healthy instance with the fewest outstanding requests; ties go to the first after `start`. */
export function leastOutstanding(instances: readonly { healthy: boolean; outstanding: number }[], start = 0): number {
  let best = -1;
  const n = instances.length;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    const inst = instances[i]!;
    if (!inst.healthy) continue;
    if (best < 0 || inst.outstanding < instances[best]!.outstanding) best = i;
  }
  return best;
}
