// Where the read-only conformance corpus (Azure/azureml-examples specs, models and data) lives.
// The workspace keeps it in `shared/` beside the checkout; a clone elsewhere names it with
// MODELPLANE_SHARED_DIR. Tests fail (never skip) when it is missing, saying where they looked.
import { existsSync } from "node:fs";
import path from "node:path";

const repoRoot = path.resolve(__dirname, "..");
const CORPUS = "conformance/azureml-examples";

/** The shared folders tried, in order: $MODELPLANE_SHARED_DIR, ../shared beside the checkout, /work/shared. */
export function sharedCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const tried = [path.resolve(repoRoot, "../shared"), "/work/shared"];
  const fromEnv = env.MODELPLANE_SHARED_DIR;
  return fromEnv ? [path.resolve(fromEnv), ...tried] : tried;
}

/** The corpus root, or an Error naming every place tried and how to point at the right one. */
export function findCorpusRoot(candidates: string[] = sharedCandidates()): string | Error {
  const found = candidates.map((dir) => path.join(dir, CORPUS)).find((dir) => existsSync(dir));
  if (found) return found;
  return new Error(
    `conformance corpus not found; looked for ${CORPUS} in ${candidates.join(", ")}. ` +
      `Set MODELPLANE_SHARED_DIR to the folder that holds ${CORPUS} (the workspace's shared/).`,
  );
}

/** The corpus root; throws the error of findCorpusRoot when it is missing. */
export function corpusRoot(): string {
  const root = findCorpusRoot();
  if (root instanceof Error) throw root;
  return root;
}
