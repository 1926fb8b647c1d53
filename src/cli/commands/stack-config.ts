// Where a stack's config file and its spec folder are, read straight from the checkout (as
// index.ts resolves them): `<stackConfigDir>/Pulumi.<stack>.yaml`, `modelplane:specDir` or
// `stacks/<stack>`.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { CliError } from "./access";

/** Pulumi stack names that are also usable in Docker object and image names (lowercase). */
export const STACK_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/** Why `name` cannot be a modelplane stack name, or undefined when it can. */
export function stackNameProblem(name: string): string | undefined {
  if (STACK_NAME.test(name)) return undefined;
  return `stack name "${name}" is not usable: use 2-32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (it becomes part of Docker container and image names), e.g. my-stack`;
}

/** The project's stack config folder (Pulumi.yaml `stackConfigDir`, else the project root). */
export function stackConfigDir(root: string): string {
  const project = path.join(root, "Pulumi.yaml");
  const dir = existsSync(project) ? (parse(readFileSync(project, "utf8")) as { stackConfigDir?: string } | null)?.stackConfigDir : undefined;
  return path.resolve(root, dir ?? ".");
}

export function stackConfigFile(stack: string, root: string): string {
  return path.join(stackConfigDir(root), `Pulumi.${stack}.yaml`);
}

/** The `config:` map of the stack's config file ({} when it has none). */
function stackConfig(stack: string, root: string): Record<string, unknown> {
  const file = stackConfigFile(stack, root);
  if (!existsSync(file)) return {};
  try {
    return ((parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}; fix its YAML`);
  }
}

/** One plain (not secret) config value of the stack, as its config file holds it. */
export function stackConfigValue(stack: string, root: string, key: string): unknown {
  return stackConfig(stack, root)[key];
}

/** The stack's spec folder (absolute) and where that came from. */
export function stackSpecDir(stack: string, root: string): { dir: string; source: string } {
  const file = stackConfigFile(stack, root);
  const specDir = stackConfig(stack, root)["modelplane:specDir"];
  if (typeof specDir === "string" && specDir !== "") return { dir: path.resolve(root, specDir), source: `modelplane:specDir in ${path.relative(root, file)}` };
  return { dir: path.join(root, "stacks", stack), source: `the default stacks/${stack} (no modelplane:specDir in ${path.relative(root, file)})` };
}
