// The built panel in headless Chromium (Debian's), against the real
// functions under `cargo lambda watch` (SQLite, sandbox provider, local
// identity), as scripts/e2e-web starts them. At 1280 px by keyboard alone,
// at 375 px by pointer (with a long dotted name, whose address has no place
// to break): a taken name, its suggestions, a create, the credentials, the
// list, a rotation, a delete and its quarantine; axe-core at every step;
// screenshots of each for a person to look at.
import { mkdirSync } from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import type { Browser, Locator, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PANEL_URL = required("PANEL_URL");
const SCREENSHOTS = process.env.E2E_SCREENSHOTS ?? path.resolve("e2e/screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const QUARANTINE_DAYS = 30;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/e2e-web`);
  return value;
}

let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // This machine's network is closed: no background calls to Google's hosts.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** Another user takes `username` first, through the same API the panel calls. */
async function takenByBob(username: string): Promise<void> {
  const response = await fetch(`${PANEL_URL}/api/email/create`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-User-Id": "bob" },
    body: JSON.stringify({ username }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

async function checkAsApi(username: string): Promise<{ available: boolean; reason?: string }> {
  const response = await fetch(`${PANEL_URL}/api/email/check-availability`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-User-Id": "carol" },
    body: JSON.stringify({ username }),
  });
  return response.json();
}

/** No serious or critical axe-core violation (WCAG 2.1 A/AA and best practices) on the page as it is. */
async function expectAccessible(page: Page, step: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .analyze();
  const grave = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const others = results.violations.length - grave.length;
  console.log(`axe, ${step}: ${grave.length} serious or critical, ${others} lesser violations`);
  expect(
    grave.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    step,
  ).toEqual([]);
}

/** The page fits its width: nothing to scroll sideways. */
async function expectNoSidewaysScroll(page: Page, step: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(scrollWidth, `${step}: the page is ${scrollWidth} px wide in a ${clientWidth} px window`).toBeLessThanOrEqual(
    clientWidth,
  );
}

/** Each step: accessible, fitting, and photographed. */
async function step(page: Page, width: number, name: string): Promise<void> {
  await expectAccessible(page, `${width} px, ${name}`);
  await expectNoSidewaysScroll(page, `${width} px, ${name}`);
  const file = path.join(SCREENSHOTS, `${width}px-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

/** Tab (forwards, or backwards) until `target` has the focus: it can be reached by keyboard. */
async function tabTo(page: Page, target: Locator, backwards = false): Promise<void> {
  for (let presses = 0; presses < 60; presses++) {
    if (await target.evaluate((element) => element === document.activeElement).catch(() => false)) return;
    await page.keyboard.press(backwards ? "Shift+Tab" : "Tab");
  }
  throw new Error(`${target} cannot be reached with the Tab key`);
}

/** Acts on a control: by keyboard (Tab to it, then Enter) or by pointer. */
type Press = (target: Locator) => Promise<void>;

function presser(page: Page, keyboard: boolean): Press {
  if (!keyboard) return (target) => target.click();
  return async (target) => {
    await tabTo(page, target);
    await page.keyboard.press("Enter");
  };
}

async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement;
    return element ? `${element.tagName.toLowerCase()}: ${element.textContent?.trim()}` : "nothing";
  });
}

async function walkThrough(page: Page, width: number, taken: string, keyboard: boolean): Promise<void> {
  // Under the production Content-Security-Policy (vite preview sends it):
  // a blocked script or style, or any script error, shows here.
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  const press = presser(page, keyboard);
  const chosen = `${taken}-team`;
  const address = `${chosen}@example.com`;
  await takenByBob(taken);

  await page.goto(PANEL_URL);
  await expect.poll(() => page.getByText("You have no address yet.").count()).toBe(1);
  await step(page, width, "1-empty");

  // A taken name: the live region says so, the suggestions are choices.
  const username = page.getByLabel("Username");
  if (keyboard) await tabTo(page, username);
  else await username.click();
  await page.keyboard.type(taken, { delay: 30 });
  // The availability field's live region (the page has others: copied, done).
  const status = page.locator(".availability").getByRole("status");
  await expect.poll(() => status.textContent()).toBe(`${taken}@example.com is already taken.`);
  const suggestion = page.getByRole("button", { name: `Use ${address}` });
  await suggestion.waitFor();
  await step(page, width, "2-taken-with-suggestions");

  await press(suggestion);
  await expect.poll(() => username.inputValue()).toBe(chosen);
  expect(await username.evaluate((input) => input === document.activeElement)).toBe(true);
  await expect.poll(() => status.textContent()).toBe(`${address} is available.`);

  // Create: the credentials once, the focus on them.
  await press(page.getByRole("button", { name: "Create address" }));
  const credentials = page.getByRole("heading", { name: `Credentials of ${address}` });
  await credentials.waitFor();
  expect(await focused(page)).toBe(`h3: Credentials of ${address}`);
  // One set of credentials is on show at a time.
  const shownPassword = page.locator(".credentials .credential").filter({ hasText: "Password" }).locator("code");
  const password = await shownPassword.textContent();
  expect(password).toMatch(/^sandbox-/);
  await press(page.getByRole("button", { name: "Copy the password" }));
  await expect.poll(() => page.getByText("Password copied.").count()).toBe(1);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(password);

  // The list has it, refreshed after the create.
  const card = page.getByRole("article", { name: address });
  await card.waitFor();
  expect(await card.getByText("Sandbox (not real mail)").count()).toBe(1);
  await step(page, width, "3-created");

  // Rotate: another password, shown once, with the focus on it.
  await press(page.getByRole("button", { name: `Rotate credentials of ${address}` }));
  const rotated = page.getByRole("heading", { name: `New credentials of ${address}` });
  await rotated.waitFor();
  expect(await focused(page)).toBe(`h3: New credentials of ${address}`);
  const newPassword = await shownPassword.textContent();
  expect(newPassword).toMatch(/^sandbox-/);
  expect(newPassword).not.toBe(password);
  await step(page, width, "4-rotated");

  // Delete, behind a confirmation naming the address and the quarantine.
  await press(page.getByRole("button", { name: `Delete ${address}` }));
  const confirmation = page.getByRole("group", { name: `Confirm deleting ${address}` });
  await confirmation.waitFor();
  expect(await confirmation.textContent()).toContain(`Delete ${address}?`);
  expect(await confirmation.textContent()).toContain(`for ${QUARANTINE_DAYS} days (quarantine)`);
  expect(await focused(page)).toBe("button: Keep it");
  await step(page, width, "5-confirm-delete");
  const yes = confirmation.getByRole("button", { name: `Yes, delete ${address}` });
  if (keyboard) {
    await tabTo(page, yes, true);
    await page.keyboard.press("Enter");
  } else {
    await yes.click();
  }
  await expect.poll(() => card.count()).toBe(0);
  await expect.poll(() => page.getByText(`${address} is deleted.`).count()).toBe(1);
  expect(await focused(page)).toBe("h2: Your addresses");
  // The live message names the address too.
  await expectNoSidewaysScroll(page, `${width} px, deleted`);

  // The address rests in quarantine: for the API and in the panel.
  expect(await checkAsApi(chosen)).toMatchObject({ available: false, reason: "quarantined" });
  await username.fill(chosen);
  await expect.poll(() => status.textContent()).toBe(`${address} was deleted lately and is not available yet.`);
  await step(page, width, "6-deleted-quarantined");
  expect(problems).toEqual([]);
}

describe("the web panel in Chromium", () => {
  it("at 1280 px, by keyboard alone: taken name, suggestion, create, list, rotate, delete, quarantine", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: PANEL_URL });
    const page = await context.newPage();
    await walkThrough(page, 1280, "contact", true);
    await context.close();
  });

  it("at 375 px, by touch-sized pointer, with a long dotted name: the same, and nothing scrolls sideways", async () => {
    const context = await browser.newContext({
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      hasTouch: true,
    });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: PANEL_URL });
    const page = await context.newPage();
    // kundenservice.zahlungsverkehr-team@example.com: wider than the window, unless it wraps.
    await walkThrough(page, 375, "kundenservice.zahlungsverkehr", false);
    await context.close();
  });
});
