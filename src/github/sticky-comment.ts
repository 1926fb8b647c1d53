// One sticky pull-request comment through GitHub's REST API: the comment whose body carries
// `marker` is updated in place, else one is created. GITHUB_API_URL is honoured (GitHub
// Enterprise, and tests' local fake servers).
import { readFileSync } from "node:fs";
import { httpCall, type HttpCallError } from "../api-client/http-call";

export interface CommentTarget {
  /** `owner/name` (GITHUB_REPOSITORY). */
  repository: string;
  pr: number;
  token: string;
  /** @default "https://api.github.com" */
  apiUrl?: string;
}

export interface CommentResult {
  action: "created" | "updated" | "unchanged";
  id: number;
  url?: string;
}

/** A GitHub problem the user fixes; the message says which call failed and what to do. */
export class GitHubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitHubError";
  }
}

interface IssueComment {
  id: number;
  body?: string;
  html_url?: string;
}

/** Where to comment, from the flags and the Actions environment; throws GitHubError naming what is missing. */
export function commentTarget(env: NodeJS.ProcessEnv, pr?: number): CommentTarget {
  const token = env.GITHUB_TOKEN;
  if (!token) throw new GitHubError("GITHUB_TOKEN is not set: in a workflow pass `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` (with `permissions: pull-requests: write`), locally export a token with the repo scope");
  const repository = env.GITHUB_REPOSITORY;
  if (!repository || !/^[^/\s]+\/[^/\s]+$/.test(repository)) throw new GitHubError(`GITHUB_REPOSITORY is ${repository ? `"${repository}"` : "not set"}: set it to owner/name (Actions sets it for you)`);
  const number = pr ?? prFromEvent(env.GITHUB_EVENT_PATH);
  return { repository, pr: number, token, apiUrl: env.GITHUB_API_URL };
}

/** The pull request's number from the event file Actions writes ($GITHUB_EVENT_PATH). */
export function prFromEvent(eventPath: string | undefined): number {
  if (!eventPath) throw new GitHubError("no pull request number: pass --pr <number>, or run in a pull_request workflow (GITHUB_EVENT_PATH is not set)");
  let event: { pull_request?: { number?: unknown }; number?: unknown; issue?: { number?: unknown } };
  try {
    event = JSON.parse(readFileSync(eventPath, "utf8")) as typeof event;
  } catch (err) {
    throw new GitHubError(`cannot read the event file ${eventPath} (GITHUB_EVENT_PATH): ${(err as Error).message}; pass --pr <number>`);
  }
  const n = event.pull_request?.number ?? event.issue?.number ?? event.number;
  if (typeof n !== "number") throw new GitHubError(`the event in ${eventPath} is not a pull request's (no pull_request.number): run on \`pull_request\` events, or pass --pr <number>`);
  return n;
}

async function call<T>(t: CommentTarget, method: string, path: string, body?: unknown): Promise<T> {
  const base = (t.apiUrl ?? "https://api.github.com").replace(/\/+$/, "");
  const url = `${base}${path}`;
  let res;
  try {
    res = await httpCall(url, {
      method,
      headers: {
        authorization: `Bearer ${t.token}`,
        accept: "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
        "user-agent": "modelplane-preview",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: 30_000,
    });
  } catch (err) {
    throw new GitHubError(`${method} ${url} got no answer (${(err as HttpCallError).code ?? (err as Error).message}): check GITHUB_API_URL and the network`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    const fix =
      res.status === 401
        ? "the token was refused: check GITHUB_TOKEN"
        : res.status === 403
          ? "the token may not write here: give the workflow `permissions: pull-requests: write` (forks' pull requests get a read-only token)"
          : res.status === 404
            ? `check GITHUB_REPOSITORY (${t.repository}) and the pull request number (${t.pr}), and that the token can see the repository`
            : "see GitHub's message";
    throw new GitHubError(`${method} ${path}: ${res.status} ${message}; ${fix}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The first comment of the pull request whose body holds `marker` (all pages read). */
async function findComment(t: CommentTarget, marker: string): Promise<IssueComment | undefined> {
  for (let page = 1; page <= 50; page++) {
    const comments = await call<IssueComment[]>(t, "GET", `/repos/${t.repository}/issues/${t.pr}/comments?per_page=100&page=${page}`);
    const hit = comments.find((c) => (c.body ?? "").includes(marker));
    if (hit) return hit;
    if (comments.length < 100) return undefined;
  }
  return undefined;
}

/** Creates the comment, or updates the one carrying `marker` (nothing is sent when it already reads `body`). */
export async function upsertStickyComment(t: CommentTarget, marker: string, body: string): Promise<CommentResult> {
  if (!body.includes(marker)) throw new GitHubError("the comment body lacks its marker: the next run could not find it to update");
  const existing = await findComment(t, marker);
  if (existing) {
    if (existing.body === body) return { action: "unchanged", id: existing.id, url: existing.html_url };
    const c = await call<IssueComment>(t, "PATCH", `/repos/${t.repository}/issues/comments/${existing.id}`, { body });
    return { action: "updated", id: c.id, url: c.html_url };
  }
  const c = await call<IssueComment>(t, "POST", `/repos/${t.repository}/issues/${t.pr}/comments`, { body });
  return { action: "created", id: c.id, url: c.html_url };
}
