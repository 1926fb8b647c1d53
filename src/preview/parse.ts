// The JSON Pulumi prints for `preview --json`; a preview that cannot run may print none.
import type { PreviewJson } from "./types";

/** Parses Pulumi's output; text that is not a JSON document becomes one error diagnostic holding it. */
export function parsePreviewJson(stdout: string, stderr = ""): PreviewJson {
  const start = stdout.indexOf("{");
  if (start >= 0) {
    try {
      const json = JSON.parse(stdout.slice(start)) as PreviewJson;
      if (json && typeof json === "object") return json;
    } catch {
      // falls through: not JSON
    }
  }
  const text = `${stdout}\n${stderr}`.trim();
  return { steps: [], diagnostics: [{ severity: "error", message: text === "" ? "pulumi preview printed nothing" : text }] };
}
