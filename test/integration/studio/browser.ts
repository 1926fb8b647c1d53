// Debian's chromium driven by playwright-core (no browser download): a fresh profile per launch,
// every console error and page error collected, screenshots into the test's artifact folder.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.MODELPLANE_CHROMIUM ?? "/usr/bin/chromium";

export interface StudioBrowser {
  page: Page;
  /** Console errors, page errors and failed requests seen so far. */
  errors: string[];
  /** Every URL the page requested (the token must be in none). */
  urls: string[];
  /** Full page loads so far (a hash change is none; a reload is one). */
  loads(): number;
  screenshot(name: string, width?: number): Promise<string>;
  close(): Promise<void>;
}

/** Where screenshots go: $MODELPLANE_STATE/artifacts/studio (or .state/artifacts/studio). */
export function artifactDir(): string {
  const dir = path.join(process.env.MODELPLANE_STATE ?? path.resolve(__dirname, "../../../.state"), "artifacts", "studio");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function openStudio(width = 1280, height = 900): Promise<StudioBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), "studio-chromium-"));
  let context: BrowserContext | undefined;
  try {
    // A persistent context is how playwright takes a fresh --user-data-dir of our own.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width, height },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const urls: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
    page.on("request", (r) => urls.push(r.url()));
    page.on("response", (r) => {
      if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
    page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
    let loads = 0;
    page.on("load", () => loads++);
    const b = context;
    return {
      page,
      errors,
      urls,
      loads: () => loads,
      async screenshot(name, w) {
        if (w !== undefined) await page.setViewportSize({ width: w, height });
        const file = path.join(artifactDir(), `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        if (w !== undefined) await page.setViewportSize({ width, height });
        return file;
      },
      async close() {
        await b.close().catch(() => {});
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, studioUrl: string, token: string): Promise<void> {
  await page.goto(studioUrl);
  await page.getByLabel("Management token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Endpoints" }).waitFor();
}

/** The elements that stick out of the viewport's width (a layout break), as tag.class; [] when none. */
export async function overflowing(page: Page): Promise<string[]> {
  // A string: the test files are type-checked without the DOM library.
  return page.evaluate(`(() => {
    const w = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= w + 1) return [];
    const out = [];
    for (const el of Array.from(document.querySelectorAll("body *"))) {
      const r = el.getBoundingClientRect();
      // Inside a horizontal scroller (wide tables) sticking out is by design.
      if (r.right > w + 1 && !el.closest(".scroll")) out.push(el.tagName.toLowerCase() + "." + el.className + " (" + Math.round(r.right) + " px)");
    }
    return out.slice(0, 10);
  })()`);
}

/**
 * Polls `read` from the test (not inside the page: the studio's CSP forbids the string evaluation
 * playwright's waitForFunction uses) until `ok` holds; returns the ms it took, throws after `timeoutMs`.
 */
export async function waitUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await read().catch(() => undefined);
    if (last !== undefined && ok(last)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The newest requests/s the detail page's charts drew for a deployment. */
export async function latestRps(page: Page, deployment: string): Promise<number> {
  const raw = await page.locator("#charts").getAttribute("data-latest-rps", { timeout: 1000 });
  return (JSON.parse(raw ?? "{}") as Record<string, number>)[deployment] ?? 0;
}
