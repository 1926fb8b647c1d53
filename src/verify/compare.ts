// Whether a scoring answer matches what a verify request expects: the same JSON, numbers within
// the tolerance. Pure.

/** The first difference as `at <path>: got X, expected Y`, or undefined when the answer matches. */
export function answerDifference(expected: unknown, got: unknown, tolerance: number, at = "$"): string | undefined {
  if (typeof expected === "number" && typeof got === "number") {
    const off = Math.abs(got - expected);
    return off <= tolerance ? undefined : `at ${at}: got ${got}, expected ${expected} (off by ${off}${tolerance > 0 ? `, tolerance ${tolerance}` : ""})`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(got)) return `at ${at}: got ${describe(got)}, expected an array of ${expected.length}`;
    if (got.length !== expected.length) return `at ${at}: got ${got.length} items, expected ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = answerDifference(expected[i], got[i], tolerance, `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === "object") {
    if (got === null || typeof got !== "object" || Array.isArray(got)) return `at ${at}: got ${describe(got)}, expected an object`;
    const e = expected as Record<string, unknown>;
    const g = got as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!(k in g)) return `at ${at}.${k}: missing`;
      const d = answerDifference(e[k], g[k], tolerance, `${at}.${k}`);
      if (d) return d;
    }
    const extra = Object.keys(g).filter((k) => !(k in e));
    return extra.length ? `at ${at}: unexpected field(s) ${extra.join(", ")}` : undefined;
  }
  return Object.is(expected, got) ? undefined : `at ${at}: got ${describe(got)}, expected ${JSON.stringify(expected)}`;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
