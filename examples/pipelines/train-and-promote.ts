/**
 * An MLOps pipeline written with modelplane's pipeline library (src/pipelines):
 *
 *   npx tsx examples/pipelines/train-and-promote.ts --from dev --to stage
 *
 * 1. trains a small scikit-learn LinearRegression (train.py, real Python, in a built custom-server
 *    image, so the pickle matches the serving scikit-learn),
 * 2. registers it as a new model version in both stacks' registry.yml,
 * 3. adds it to the source stack as a new deployment at 0 % (a copy of --copy-of running the new
 *    model) with a pinned verify request, `pulumi up`, verifies the stack,
 * 4. shifts 10 % of the traffic to it, `pulumi up`,
 * 5. promotes it to the target stack (gated on live state and verification): the target's spec
 *    files get the deployment at 0 %, its traffic stays what the target said.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import execa from "execa";
import { stringify } from "yaml";
import { stackSpecDir } from "../../src/cli/commands/stack-config";
import { addDeployment, PipelineError, promote, registerModel, shiftTraffic, up, verify, type PipelineOptions } from "../../src/pipelines";

const ROOT = path.resolve(__dirname, "../..");
const SAMPLE = path.join(ROOT, "examples/model-1/sample-request.json");
/** What train.py's model answers for examples/model-1/sample-request.json. */
export const EXPECTED = [388, 223];

const { values } = parseArgs({
  options: {
    from: { type: "string" },
    to: { type: "string" },
    endpoint: { type: "string", default: "my-endpoint" },
    "copy-of": { type: "string", default: "blue" },
    "model-name": { type: "string", default: "regression-candidate" },
    "models-dir": { type: "string", default: path.join(__dirname, ".models") },
    image: { type: "string" },
    "no-preview": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});

function step(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

/** A built server image with scikit-learn and joblib (--image, else the newest custom-server image that has them). */
async function pythonImage(): Promise<string> {
  if (values.image) return values.image;
  const r = await execa("docker", ["images", "--filter", "label=modelplane.server=azureml-inference-server-http", "--format", "{{.Repository}}:{{.Tag}}"]);
  const candidates = r.stdout.split("\n").filter((l) => l.includes("custom-server"));
  for (const image of candidates) {
    const probe = await execa("docker", ["run", "--rm", "--entrypoint", "python", image, "-c", "import sklearn, joblib"], { reject: false });
    if (probe.exitCode === 0) return image;
  }
  throw new PipelineError("no built custom-server image with scikit-learn: `pulumi up` a stack with a conda_file deployment first (e.g. stacks/dev), or pass --image <image with python, scikit-learn and joblib>");
}

/** Runs train.py in `image`; returns the model folder (…/model, as score.py expects). */
async function train(image: string): Promise<string> {
  const script = path.join(__dirname, "train.py");
  const r = await execa("docker", ["run", "--rm", "-i", "--network", "none", "--entrypoint", "python", image, "-"], { input: readFileSync(script), encoding: null, reject: false });
  if (r.exitCode !== 0) throw new PipelineError(`training in ${image} failed (exit ${r.exitCode}): ${String(r.stderr)}`);
  process.stdout.write(String(r.stderr));
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const dir = path.join(path.resolve(values["models-dir"]), `${values["model-name"]}-${stamp}`, "model");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "sklearn_regression_model.pkl"), r.stdout as unknown as Buffer);
  return dir;
}

async function main(): Promise<void> {
  const from = values.from;
  const to = values.to;
  if (!from || !to) throw new PipelineError("name both stacks: --from <stack> --to <stack>");
  const opts: PipelineOptions = { root: ROOT, onOutput: values.quiet ? undefined : (l) => process.stdout.write(`   ${l}\n`) };
  const endpoint = values.endpoint;

  step(`train (scikit-learn)`);
  const image = await pythonImage();
  const modelDir = await train(image);

  step(`register the model in ${from} and ${to}`);
  const model = await registerModel({ stack: from, name: values["model-name"], path: modelDir, description: `trained by examples/pipelines (${image})` }, opts);
  await registerModel({ stack: to, name: model.name, version: model.version, path: modelDir, description: `trained by examples/pipelines (${image})` }, opts);

  const deployment = `candidate-${model.version}`;
  step(`add ${endpoint}/${deployment} at 0 % in ${from}`);
  await addDeployment({ stack: from, endpoint, name: deployment, copyOf: values["copy-of"], model: model.reference }, opts);
  const verifyDir = path.join(stackSpecDir(from, ROOT).dir, "verify");
  if (!existsSync(verifyDir)) mkdirSync(verifyDir, { recursive: true });
  const verifyFile = path.join(verifyDir, `${endpoint}-${deployment}.yml`);
  const request = { name: `${deployment}-sample`, request_file: path.relative(verifyDir, SAMPLE), deployment, expect: EXPECTED, tolerance: 1e-6 };
  writeFileSync(verifyFile, `# Written by examples/pipelines/train-and-promote.ts: the pinned answer of ${model.reference}.\n${stringify({ endpoint, requests: [request] })}`);

  step(`pulumi up ${from}`);
  await up(from, opts);
  step(`verify ${from}`);
  const v = await verify(from, opts);
  if (!v.ok) throw new PipelineError(v.failure ?? "verification failed");

  step(`shift 10 % to ${deployment} in ${from}`);
  await shiftTraffic({ stack: from, endpoint, deployment, percent: 10 }, opts);
  await up(from, opts);

  step(`promote ${deployment} ${from} -> ${to}`);
  const p = await promote({ from, to, deployments: [deployment], preview: !values["no-preview"] }, opts);
  step(`done: ${model.reference} runs as ${endpoint}/${deployment} in ${from} (10 %); ${to}'s specs carry it (${p.files.join(", ") || "unchanged"}); apply with \`pulumi up --stack ${to}\``);
}

main().catch((err: unknown) => {
  process.stderr.write(`pipeline failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
