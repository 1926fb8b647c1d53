// Property test: mutated specs only ever produce structured diagnostics (no throw, bounded time).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { parseOnlineDeployment, parseOnlineEndpoint } from "../../../src/spec";
import { loadText } from "../../../src/spec/loader";
import { fixtures } from "./fixture-paths";

const validTexts = ["valid-set/endpoint.yml", "valid-set/blue.yml", "batch-default-missing/deployment.yml", "files/legacy-batch-ok.yml"].map((f) =>
  readFileSync(path.join(fixtures, f), "utf8"),
);

const weird = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.constant(1e308),
  fc.constant(-1),
  fc.constant(null),
  fc.boolean(),
  fc.constant({ a: { b: { c: { d: [1, 2, { e: "x" }] } } } }),
  fc.constant("{{UNSET}}"),
  fc.constant("<TEMPLATE>"),
  fc.constant("azureml:missing:1"),
);

/** Text-level mutations of a valid spec. */
const textMutation = fc.oneof(
  // drop a line
  fc.nat().map((n) => (t: string) => t.split("\n").filter((_, i) => i !== n % Math.max(1, t.split("\n").length)).join("\n")),
  // replace a value with something of the wrong type / huge / unicode
  fc.tuple(fc.nat(), weird).map(([n, v]) => (t: string) => {
    const lines = t.split("\n");
    const i = n % lines.length;
    const line = lines[i] ?? "";
    const colon = line.indexOf(":");
    if (colon > 0) lines[i] = `${line.slice(0, colon)}: ${JSON.stringify(v) ?? "null"}`;
    return lines.join("\n");
  }),
  // duplicate a line (duplicate keys)
  fc.nat().map((n) => (t: string) => {
    const lines = t.split("\n");
    const i = n % lines.length;
    lines.splice(i, 0, lines[i] ?? "");
    return lines.join("\n");
  }),
  // deep nesting
  fc.integer({ min: 50, max: 1000 }).map((depth) => (t: string) => `${t}\ndeep: ${"[".repeat(depth)}${"]".repeat(depth)}\n`),
  // alias bomb
  fc.constant((t: string) => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) rows.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(",")}]`);
    return `${t}\n${rows.join("\n")}\n`;
  }),
  // random garbage
  fc.string({ unit: "binary", maxLength: 200 }).map((g) => (t: string) => t + g),
);

test("mutated spec text yields only structured diagnostics, each within 1 s", () => {
  fc.assert(
    fc.property(fc.constantFrom(...validTexts), fc.array(textMutation, { minLength: 1, maxLength: 4 }), (text, mutations) => {
      const mutated = mutations.reduce((t, m) => m(t), text);
      const started = Date.now();
      const result = loadText("fuzz.yml", mutated, { pathCheck: false }, undefined);
      assert.ok(Date.now() - started < 1000, "loading took longer than 1 s");
      for (const d of result.diagnostics) {
        assert.equal(typeof d.code, "string");
        assert.ok(d.severity === "error" || d.severity === "warning");
        assert.ok(d.line >= 1 && d.col >= 1, `bad position ${d.line}:${d.col}`);
        assert.ok(d.message.length > 0 && d.fix.length > 0);
      }
    }),
    { numRuns: 150 },
  );
});

test("parse functions never throw on arbitrary JS values", () => {
  fc.assert(
    fc.property(fc.anything({ maxDepth: 4 }), (raw) => {
      for (const parse of [parseOnlineEndpoint, parseOnlineDeployment]) {
        const r = parse(raw);
        if (!r.ok) assert.ok(r.issues.length > 0);
      }
    }),
    { numRuns: 300 },
  );
});
