// Markdown for a reviewer: per stack the counts by operation, per endpoint a table of its
// deployments with the changes that matter, then warnings and errors. Pure: no I/O.
import type { Change, DeploymentChange, PreviewSummary } from "./types";

/** Finds modelplane's sticky PR comment among the others. */
export const COMMENT_MARKER = "<!-- modelplane-preview -->";

const ARROW = "→";

function cell<T>(c: Change<T>, show: (v: T) => string = String): string {
  const b = c.before === undefined ? undefined : show(c.before);
  const a = c.after === undefined ? undefined : show(c.after);
  if (b === a) return b ?? "";
  if (b === undefined) return `**${a}** (new)`;
  if (a === undefined) return `~~${b}~~`;
  return `${b} ${ARROW} **${a}**`;
}

const pct = (v: number) => `${v}%`;
const code = (v: string) => `\`${v}\``;

function envCell(d: DeploymentChange): string {
  if (d.envChanged.length === 0) return "";
  return d.envChanged.map((n) => `\`${n}\`${d.envSecret.includes(n.slice(1)) ? " [secret]" : ""}`).join(", ");
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** `create 1 · update 2` (or `no changes`). */
export function formatCounts(counts: Record<string, number>): string {
  const order = ["create", "update", "replace", "delete"];
  const ops = Object.keys(counts).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  return ops.length === 0 ? "no changes" : ops.map((op) => `${op} ${counts[op]}`).join(" · ");
}

/** One stack's section. */
export function renderStack(s: PreviewSummary): string {
  const lines: string[] = [];
  const failed = s.errors.length > 0;
  lines.push(`### Stack \`${s.stack}\`${failed ? " — preview failed" : ""}`, "");
  if (!failed) lines.push(`Resources: ${formatCounts(s.counts)}`, "");
  if (failed) {
    lines.push("**Errors** (nothing was previewed; fix these first):", "", "```");
    for (const e of s.errors) lines.push(e);
    lines.push("```", "");
  }
  for (const e of s.endpoints) {
    lines.push(`#### Endpoint \`${e.name}\`${e.op !== "same" ? ` (${e.op})` : ""}`, "");
    lines.push("| deployment | change | traffic | mirror | model | image | code+model | instances | instance type | env vars changed |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|");
    for (const d of e.deployments) {
      const row = [
        code(d.name),
        d.op,
        cell(d.traffic, pct),
        cell(d.mirror, pct),
        cell(d.model, code),
        cell(d.image, code),
        cell(d.content, code),
        cell(d.instanceCount),
        cell(d.instanceType),
        envCell(d),
      ];
      lines.push(`| ${row.map(escapeCell).join(" | ")} |`);
    }
    lines.push("");
  }
  if (s.others.length > 0) {
    lines.push(`Other resources: ${s.others.map((o) => `\`${o.name}\` (${o.kind}) ${o.op}`).join(", ")}`, "");
  }
  if (s.warnings.length > 0) {
    lines.push("**Warnings**", "");
    for (const w of s.warnings) lines.push(`- ⚠️ ${w}`);
    lines.push("");
  }
  if (!failed && s.endpoints.length === 0 && s.others.length === 0) lines.push("No changes.", "");
  return lines.join("\n");
}

/** The whole comment: the marker, a heading, every stack. */
export function renderComment(stacks: PreviewSummary[], title = "modelplane preview"): string {
  return [COMMENT_MARKER, `## ${title}`, "", ...stacks.map(renderStack)].join("\n").trimEnd() + "\n";
}
