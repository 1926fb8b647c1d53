// Parsing of repeatable `--set KEY=VALUE` options into a map.
import { InvalidArgumentError } from "commander";

export function collectSet(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
