/** ".001" ... ".999" with trailing zeros dropped (".5", ".25"); "" for 0. */
const FRACTIONS = Array.from({ length: 1000 }, (_, f) => (f === 0 ? "" : `.${String(f).padStart(3, "0").replace(/0+$/, "")}`));

/**
 * `String(Math.round(ms * 1000) / 1000)` (a duration in milliseconds to the microsecond, as the
 * access log prints it) without converting a fractional number to text. V8 keeps every number it
 * converts in a cache held by the old generation, so a new fraction per request left one dead
 * string per request there: two thirds of the gateway's old-generation growth under load, and with
 * it the full GCs that stalled it for tens of milliseconds. Whole numbers of milliseconds repeat and
 * fractions come from a table, so nothing new is cached. `ms` is at least 0.
 */
export function durationText(ms: number): string {
  const us = Math.round(ms * 1000);
  const whole = Math.floor(us / 1000);
  return `${whole}${FRACTIONS[us - whole * 1000]!}`;
}
