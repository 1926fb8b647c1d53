/**
 * The studio by keyboard alone (Debian chromium): the token field has the focus, Enter signs in,
 * Tab reaches the endpoint's link and Enter opens it, and every control reached has a name.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setupEndpoint, startHarness, startUpstream, TOKEN, type Harness, type Upstream } from "../server/harness";
import { openStudio, type StudioBrowser } from "./browser";

let h: Harness;
let blue: Upstream;
let b: StudioBrowser;

before(async () => {
  h = await startHarness();
  blue = await startUpstream("blue");
  await setupEndpoint(h, "my-endpoint", { blue: [blue.url] }, { blue: 100 });
  b = await openStudio();
});

after(async () => {
  await b?.close();
  await h?.close();
  await blue?.close();
});

/** The focused element: its tag, its text or label, and where a link points. A string: no DOM types here. */
const focused = async (): Promise<{ tag: string; name: string; href: string }> =>
  (await b.page.evaluate(`(() => { const e = document.activeElement; const label = e.labels && e.labels[0] ? e.labels[0].textContent : ""; return { tag: e.tagName.toLowerCase(), name: (e.getAttribute("aria-label") || label || e.textContent || "").trim(), href: e.getAttribute("href") || "" }; })()`)) as { tag: string; name: string; href: string };

test("sign in and open an endpoint with the keyboard only; each control reached has a name", async () => {
  await b.page.goto(`${h.server.managementUrl}/studio/`);
  await b.page.getByLabel("Management token").waitFor();
  assert.deepEqual(await focused(), { tag: "input", name: "Management token", href: "" }, "the token field has the focus");
  await b.page.keyboard.type(TOKEN);
  await b.page.keyboard.press("Enter");
  await b.page.getByRole("heading", { name: "Endpoints" }).waitFor();
  const reached: string[] = [];
  for (let i = 0; i < 40; i++) {
    await b.page.keyboard.press("Tab");
    const f = await focused();
    reached.push(`${f.tag}:${f.name}`);
    assert.notEqual(f.name, "", `a ${f.tag} reached by Tab has no name (after ${reached.join(", ")})`);
    if (f.tag === "a" && f.href === "#/endpoints/my-endpoint") break;
  }
  assert.equal((await focused()).href, "#/endpoints/my-endpoint", `Tab never reached the endpoint's link: ${reached.join(", ")}`);
  await b.page.keyboard.press("Enter");
  await b.page.locator('tr[data-deployment="blue"]').waitFor();
  assert.match(b.page.url(), /#\/endpoints\/my-endpoint$/);
  assert.deepEqual(b.errors, []);
});
