// The built panel in headless Chromium (Debian's), against the real
// functions under `cargo lambda watch` (SQLite, sandbox provider, local
// identity), as scripts/e2e-web starts them. At 1280 px by keyboard alone,
// at 375 px by pointer (with a long dotted name, whose address has no place
// to break): a taken name, its suggestions, a create, the credentials, the
// list, a rotation, a delete and its quarantine; axe-core at every step;
// screenshots of each for a person to look at. Then an administrator's panel
// (ADMIN_PANEL_URL: a build acting as root in email-admins), at both widths:
// every address with its owner, filters, a transfer with new credentials,
// an off-boarding and its report, the audit trail and its CSV, the report.
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import type { Browser, Locator, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PANEL_URL = required("PANEL_URL");
const ADMIN_PANEL_URL = required("ADMIN_PANEL_URL");
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

/** `user` creates `username` through the API (as the panel would for them); its address. */
async function createdAs(user: string, username: string): Promise<string> {
  const response = await fetch(`${ADMIN_PANEL_URL}/api/email/create`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-User-Id": user },
    body: JSON.stringify({ username }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { email: string }).email;
}

/** The addresses `user` lists as their own (`GET /api/email/my-accounts`). */
async function addressesOf(user: string): Promise<string[]> {
  const response = await fetch(`${ADMIN_PANEL_URL}/api/email/my-accounts?limit=100`, {
    headers: { "X-User-Id": user },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { accounts: { email: string }[] }).accounts.map((account) => account.email);
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
  for (let presses = 0; presses < 100; presses++) {
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
  // Not an administrator: no trace of the Administration view.
  expect(await page.getByRole("button", { name: "Administration" }).count()).toBe(0);
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


/** Types into a field: by keyboard (Tab to it) or by pointer (tap it). */
async function typeInto(page: Page, field: Locator, text: string, keyboard: boolean): Promise<void> {
  if (keyboard) await tabTo(page, field);
  else await field.click();
  await page.keyboard.type(text);
}

/** Chooses a select's option by its visible name: by keyboard (typing its first letters) or by pointer. */
async function choose(page: Page, select: Locator, option: string, keyboard: boolean): Promise<void> {
  if (keyboard) {
    await tabTo(page, select);
    await page.keyboard.type(option);
  } else {
    await select.selectOption({ label: option });
  }
  expect(await select.evaluate((element: HTMLSelectElement) => element.selectedOptions[0]?.textContent)).toBe(option);
}

/**
 * An administrator's round: every address with its owner, filtered; a
 * transfer with new credentials; an off-boarding and its report; the audit
 * trail of the address and its CSV; the report.
 */
async function administer(page: Page, width: number, tag: string, keyboard: boolean): Promise<void> {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  const press = presser(page, keyboard);
  // Other users' addresses, made through the API: one to hand over, two of a leaver. Letters of
  // this run's own keep the names free against a run that goes on (scripts/run-local).
  const run = Array.from({ length: 4 }, () => "abcdefghijklmnopqrstuvwxyz"[Math.floor(Math.random() * 26)]).join("");
  tag = `${tag}-${run}`;
  const giver = `erin-${tag}`;
  const taker = `frank-${tag}`;
  const leaver = `gina-${tag}`;
  const heir = `hank-${tag}`;
  const handedOver = await createdAs(giver, tag.startsWith("narrow") ? `kundenservice.zahlungsverkehr.uebergabe-${run}` : `handover-${tag}`);
  const leavings = [await createdAs(leaver, `leaver-one-${tag}`), await createdAs(leaver, `leaver-two-${tag}`)];

  await page.goto(ADMIN_PANEL_URL);
  await expect.poll(() => page.getByText("Local run, acting as root (groups: email-admins)").count()).toBe(1);
  const administration = page.getByRole("button", { name: "Administration" });
  await administration.waitFor();
  await press(administration);
  expect(await administration.getAttribute("aria-pressed")).toBe("true");
  const card = page.getByRole("article", { name: handedOver });
  await card.waitFor();
  expect(await card.locator("dt", { hasText: "Owner" }).locator("xpath=following-sibling::dd").textContent()).toBe(giver);
  await step(page, width, "a1-every-address");

  // Filtered by owner and part of the address: that one address.
  await typeInto(page, page.getByLabel("Owner (user id)"), giver, keyboard);
  await typeInto(page, page.getByLabel("Part of the address"), handedOver.split("@")[0].slice(0, 20), keyboard);
  await choose(page, page.getByLabel("Status"), "Active", keyboard);
  await press(page.getByRole("button", { name: "Filter the addresses" }));
  const addresses = page.getByRole("list", { name: "Addresses" }).getByRole("article");
  await expect.poll(() => addresses.count()).toBe(1);
  expect(await addresses.first().getAttribute("aria-labelledby")).toBe(`admin-account-${handedOver}`);
  await step(page, width, "a2-filtered");

  // Transfer, with new credentials, behind a confirmation naming who gets what.
  await press(page.getByRole("button", { name: `Transfer… ${handedOver}` }));
  const newOwner = page.getByLabel("New owner's user id");
  await newOwner.waitFor();
  expect(await newOwner.evaluate((input) => input === document.activeElement)).toBe(true);
  await page.keyboard.type(taker);
  expect(await page.getByLabel("Give it new credentials (the old ones stop working)").isChecked()).toBe(true);
  await press(page.getByRole("button", { name: "Review the transfer" }));
  const confirmation = page.getByRole("group", { name: `Confirm transferring ${handedOver}` });
  await confirmation.waitFor();
  expect(await confirmation.textContent()).toContain(
    `Give ${handedOver} to ${taker}, with new credentials? ${giver} will no longer see it`,
  );
  expect(await focused(page)).toBe("button: Don't transfer");
  await step(page, width, "a3-confirm-transfer");
  const yes = confirmation.getByRole("button", { name: `Yes, give ${handedOver} to ${taker}` });
  if (keyboard) {
    await tabTo(page, yes, true);
    await page.keyboard.press("Enter");
  } else {
    await yes.click();
  }
  const credentials = page.getByRole("heading", { name: `New credentials of ${handedOver}, now ${taker}'s` });
  await credentials.waitFor();
  expect(await focused(page)).toBe(`h3: New credentials of ${handedOver}, now ${taker}'s`);
  const password = await page.locator(".credentials .credential").filter({ hasText: "Password" }).locator("code").textContent();
  expect(password).toMatch(/^sandbox-/);
  await expect.poll(() => page.getByText(`${handedOver} is now ${taker}'s (it was ${giver}'s)`).count()).toBe(1);
  // Filtered by the old owner, the list has it no more; the old owner does not see it, the new one does.
  await expect.poll(() => page.getByText("No address matches these filters.").count()).toBe(1);
  expect(await addressesOf(giver)).not.toContain(handedOver);
  expect(await addressesOf(taker)).toContain(handedOver);
  await step(page, width, "a4-transferred");
  await press(page.getByRole("button", { name: /hide the password/ }));
  await expect.poll(() => credentials.count()).toBe(0);
  expect(await focused(page)).toBe("h2: Every address");

  // Off-board the leaver to the heir: confirmation, then the report address by address.
  await typeInto(page, page.getByLabel("Leaver's user id"), leaver, keyboard);
  await typeInto(page, page.getByLabel("Heir's user id (who gets the addresses)"), heir, keyboard);
  await press(page.getByRole("button", { name: "Review the off-boarding" }));
  const offboarding = page.getByRole("group", { name: `Confirm off-boarding ${leaver}` });
  await offboarding.waitFor();
  expect(await offboarding.textContent()).toContain(
    `Move every address of ${leaver} to ${heir} and give each new credentials?`,
  );
  expect(await focused(page)).toBe("button: Don't off-board");
  await step(page, width, "a5-confirm-offboarding");
  const move = offboarding.getByRole("button", { name: `Yes, move every address of ${leaver} to ${heir}` });
  if (keyboard) {
    await tabTo(page, move, true);
    await page.keyboard.press("Enter");
  } else {
    await move.click();
  }
  const report = page.getByRole("heading", { name: `Off-boarding of ${leaver} to ${heir}` });
  await report.waitFor();
  expect(await focused(page)).toBe(`h3: Off-boarding of ${leaver} to ${heir}`);
  // Address by address: every one moved, and the report says what the API says now.
  const moved = page.getByRole("list", { name: `Addresses of ${leaver}` }).getByRole("listitem");
  await expect.poll(() => moved.count()).toBe(leavings.length);
  const outcomes = new Map<string, string>();
  for (const item of await moved.all()) {
    const address = await item.locator("strong").textContent();
    const outcome = await item.locator("dt", { hasText: "Outcome" }).locator("xpath=following-sibling::dd").textContent();
    outcomes.set(address ?? "", outcome ?? "");
  }
  expect([...outcomes.keys()].sort()).toEqual([...leavings].sort());
  const heirs = await addressesOf(heir);
  const leavers = await addressesOf(leaver);
  for (const [address, outcome] of outcomes) {
    if (outcome === "Transferred") expect([heirs.includes(address), leavers.includes(address)]).toEqual([true, false]);
    else expect([outcome, leavers.includes(address)]).toEqual([expect.stringMatching(/still the leaver's$/), true]);
  }
  const counts = ["Transferred", "Failed", "Skipped"].map(
    (name) => [...outcomes.values()].filter((outcome) => outcome.startsWith(name)).length,
  );
  expect(counts).toEqual([leavings.length, 0, 0]);
  expect(await page.getByText(`${counts[0]} transferred, ${counts[1]} failed, ${counts[2]} skipped.`).count()).toBe(1);
  console.log(`off-boarding of ${leaver}: ${counts[0]} transferred, ${counts[1]} failed, ${counts[2]} skipped`);
  await step(page, width, "a6-offboarding-report");

  // The audit trail of the handed-over address: its create and its transfer.
  await typeInto(page, page.getByLabel("Address (all of it)"), handedOver, keyboard);
  await press(page.getByRole("button", { name: "Show the entries" }));
  const entries = page.getByRole("region", { name: "Audit entries" }).locator("tbody tr");
  // Wait for this address's entries: the trail shown before (every address) has transfers too.
  await expect
    .poll(async () => {
      const rows = await entries.allTextContents();
      return rows.length > 0 && rows.every((row) => row.includes(handedOver)) && rows.some((row) => row.includes("Transferred with new credentials"));
    })
    .toBe(true);
  const transferRow = entries.filter({ hasText: "Transferred with new credentials" });
  const cells = await transferRow.locator("td").allTextContents();
  expect(cells.slice(1, 7)).toEqual(["Transferred with new credentials", "Success", "root", giver, taker, handedOver]);
  await step(page, width, "a7-audit-trail");

  // Its CSV: fetched with the same filter, Accept: text/csv and the identity, saved as audit.csv.
  const csvRequest = page.waitForRequest(
    (request) => request.url().includes("/api/admin/audit") && request.headers().accept === "text/csv",
  );
  const download = page.waitForEvent("download");
  await press(page.getByRole("button", { name: "Download CSV" }));
  const request = await csvRequest;
  expect(new URL(request.url()).searchParams.get("address")).toBe(handedOver);
  expect(request.headers()["x-user-id"]).toBe("root");
  expect(request.headers()["x-user-groups"]).toBe("email-admins");
  const saved = await download;
  expect(saved.suggestedFilename()).toBe("audit.csv");
  const csv = readFileSync(await saved.path(), "utf8");
  expect(csv.split("\n")[0]).toBe("at,action,outcome,actor,owner,new_owner,email,provider,request_id,error");
  expect(csv).toContain(`transferred_and_rotated,success,root,${giver},${taker},${handedOver}`);
  await expect.poll(() => page.getByText(/^Saved audit\.csv/).count()).toBe(1);

  // The report: by day (a chart of today's creates among the last 30 days), then by owner.
  const today = new Date().toISOString().slice(0, 10);
  const reportTable = page.getByRole("region", { name: "Report table" });
  await expect.poll(() => reportTable.locator("tbody th").allTextContents()).toContain(today);
  const chart = page.getByRole("img", { name: /^Creates per day from .* to / });
  expect(await chart.getAttribute("aria-label")).toMatch(new RegExp(`to ${today}: \\d+ in all, at most \\d+ a day`));
  await step(page, width, "a8-report-by-day");
  await choose(page, page.getByLabel("Group by"), "Owner", keyboard);
  await press(page.getByRole("button", { name: "Show the report" }));
  await expect.poll(() => reportTable.locator("tbody th").allTextContents()).toContain(giver);
  const giverRow = reportTable.locator("tbody tr").filter({ has: page.getByRole("rowheader", { name: giver, exact: true }) });
  // Creates, failed creates, deletes, rotations, transfers: erin's create, and the transfer with rotation.
  expect((await giverRow.locator("td").allTextContents()).slice(0, 5)).toEqual(["1", "0", "0", "1", "1"]);
  expect(await page.getByRole("img", { name: /^Creates per day/ }).count()).toBe(0);
  await step(page, width, "a9-report-by-owner");
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

  it("as an administrator at 1280 px, by keyboard alone: every address, filter, transfer, off-boarding, audit trail and CSV, report", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ADMIN_PANEL_URL });
    const page = await context.newPage();
    await administer(page, 1280, "wide", true);
    await context.close();
  });

  it("as an administrator at 375 px, by pointer, with a long dotted address: the same, and nothing scrolls sideways", async () => {
    const context = await browser.newContext({
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      hasTouch: true,
      acceptDownloads: true,
    });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ADMIN_PANEL_URL });
    const page = await context.newPage();
    await administer(page, 375, "narrow", false);
    await context.close();
  });
});
