// The page's calls to /studio/api: same-origin, cookie-authenticated, the CSRF token on writes.
export class Unauthorized extends Error {}

let csrf = "";

export function setCsrf(token: string): void {
  csrf = token;
}

export async function get<T>(path: string): Promise<T> {
  const r = await fetch(`/studio/api/${path}`, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (r.status === 401) throw new Unauthorized("sign in");
  const body = (await r.json()) as T & { error?: string };
  if (!r.ok) throw new Error(body.error ?? `the studio answered ${r.status}`);
  return body;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await fetch(`/studio/api/${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-studio-csrf": csrf },
    body: JSON.stringify(body),
  });
  if (r.status === 401) throw new Unauthorized("sign in");
  const answer = (await r.json()) as T & { error?: string };
  if (!r.ok) throw new Error(answer.error ?? `the studio answered ${r.status}`);
  return answer;
}
