// A file backend's stack files torn by a kill mid-write. Pulumi writes a checkpoint through
// gocloud's fileblob: the content goes to a temporary file renamed into place (atomic), but its
// `.attrs` sidecar is written in place, so a kill -9 can leave it empty and every later command
// fails "failed to load checkpoint: EOF" while the checkpoint itself is whole.
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

export interface StateFile {
  path: string;
  text: string;
}

export interface TornFile {
  file: string;
  /** What to do about it, as a command a user can run. */
  fix: string;
}

/** The checkpoints (`*.json`), their backups (`*.json.bak`) and sidecars (`*.attrs`) under `.pulumi/stacks`. */
export function readStackFiles(backendDir: string): StateFile[] {
  const root = path.join(backendDir, ".pulumi", "stacks");
  const out: StateFile[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // no stacks yet
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.json(\.bak)?(\.attrs)?$/.test(e.name)) out.push({ path: p, text: readFileSync(p, "utf8") });
    }
  };
  walk(root);
  return out;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The files that do not parse, each with its fix. Pure: the caller reads the files. */
export function tornStateFiles(files: StateFile[]): TornFile[] {
  const present = new Set(files.map((f) => f.path));
  const torn: TornFile[] = [];
  for (const f of files) {
    if (parses(f.text)) continue;
    if (f.path.endsWith(".attrs")) {
      // The sidecar holds only a content type; fileblob reads a missing one as the default.
      torn.push({ file: f.path, fix: `rm '${f.path}' (only metadata; the checkpoint beside it is read without it)` });
    } else if (!f.path.endsWith(".bak") && present.has(`${f.path}.bak`)) {
      torn.push({ file: f.path, fix: `cp '${f.path}.bak' '${f.path}' (the backend's previous checkpoint), then \`pulumi refresh\`` });
    } else {
      torn.push({ file: f.path, fix: `restore it from a copy, or \`pulumi stack import\` an export of this stack` });
    }
  }
  return torn;
}
