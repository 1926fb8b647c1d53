// Every endpoint/deployment YAML of the Azure ML examples corpus either validates or is rejected
// only for reasons docs/spec-support.md lists as unsupported.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { loadSpecs } from "../../../src/spec";
import { corpusRoot } from "../../conformance-corpus";

/** Values Azure's shell scripts would substitute for `{{NAME}}`. */
const SET: Record<string, string> = {
  ENDPOINT_NAME: "my-endpoint",
  ACR_NAME: "myacr",
  acr_name: "myacr",
  MODEL_VERSION: "1",
  deployment_name: "mlflow-deployment",
  model_name: "sklearn-diabetes",
  environment_name: "mlflow-env",
};

/** Error codes that count as a documented rejection (see docs/spec-support.md, "Unsupported"). */
const UNSUPPORTED_REASONS = new Set([
  "registry_ref", // azureml: model/environment/component references with no registry.yml
  "pipeline_job_definition", // batch deployments created from a pipeline job
  "template_value", // `<ENDPOINT_NAME>`-style documentation templates
  "name_not_dns_safe", // names Azure tolerates but that are not DNS-safe (regular_deployment)
  "required", // endpoint_name given only on the Azure CLI command line
  "path_missing", // model files left out of the corpus
]);

function specFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return specFiles(full);
    return /(endpoint|deployment)[^/]*\.ya?ml$/i.test(e.name) ? [full] : [];
  });
}

/** The corpus left out code files, so path checks are off when the code folder is absent. */
function codeFolderAbsent(file: string): boolean {
  const text = readFileSync(file, "utf8").replace(/\{\{\s*([A-Za-z_]\w*)\s*\}\}/g, (_m, n: string) => SET[n] ?? n);
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return false;
  }
  const code = (raw as { code_configuration?: { code?: unknown } } | null)?.code_configuration?.code;
  return typeof code === "string" && !existsSync(path.resolve(path.dirname(file), code));
}

test("conformance corpus: every spec validates or is rejected for a documented reason", async (t) => {
  const root = corpusRoot();
  const files = specFiles(root).sort();
  assert.ok(files.length > 50, `expected the corpus to hold the endpoint/deployment YAML files, found ${files.length}`);
  let validated = 0;
  const byReason = new Map<string, number>();
  const unexpected: string[] = [];
  for (const file of files) {
    const result = await loadSpecs([file], { set: SET, pathCheck: !codeFolderAbsent(file) });
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    if (errors.length === 0) {
      assert.ok(result.documents[0]?.spec, `${file}: no errors but no spec`);
      validated++;
      continue;
    }
    const bad = errors.filter((e) => !UNSUPPORTED_REASONS.has(e.code) || e.line < 1);
    if (bad.length > 0) unexpected.push(...bad.map((e) => `${path.relative(root, file)}: ${e.code}: ${e.message}`));
    const reason = errors[0]?.code ?? "?";
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  t.diagnostic(`corpus files: ${files.length}, validated: ${validated}`);
  for (const [reason, count] of [...byReason].sort()) t.diagnostic(`rejected (${reason}): ${count}`);
  assert.deepEqual(unexpected, []);
});
