// Historical reports (issue 16): the supervisor opens a report, drills down from a figure to
// the interactions behind it and opens one with its transcript, downloads the CSV, and is
// told in dates when the period is backwards.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test --test-concurrency=1 reports.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { useDemo, base, emulatorPost, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";
import { noOverflowAt } from "./overflow.mjs";

useDemo();

const unique = () => Date.now().toString(36).slice(-5);

/** One comment answered by agent1 (picked up, ended), one left waiting. */
async function traffic() {
  const agent = await signIn("agent1");
  await agent.waitForURL(`${base}/agent`);
  await agent.getByLabel("My status").selectOption("available");
  const name = `Rita ${unique()}`;
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: name, text: `my order is late ${unique()}` });
  const offer = agent.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  await agent.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await agent.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
  await agent.getByRole("toolbar").getByRole("button", { name: "Disconnect" }).click();
  await agent.getByLabel("My status").selectOption("away");
  await agent.context().close();
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: `Sol ${unique()}`, text: "anyone there?" });
  return name;
}

async function openReports() {
  const page = await signIn("super");
  await page.waitForURL(/\/supervisor$/);
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Reports" }).click();
  await page.locator("#totals tbody tr").first().waitFor();
  assert.equal(page.url(), `${base}/reports`);
  return page;
}

test("a report per workgroup drills down to the interaction and its transcript, and downloads as CSV", async () => {
  const name = await traffic();
  const page = await openReports();
  const social = page.locator('#totals tbody tr[data-key="Social"]');
  await social.waitFor();
  const cells = await social.locator("td").allTextContents();
  assert.equal(cells[0], "2", `arrivals: ${cells}`);
  assert.equal(cells[1], "1", `answered: ${cells}`);
  assert.match(await page.locator("#report-zone").textContent(), /7 intervals of a day/);
  // The charts have drawn the week: the volume's picture names its totals.
  const volume = await page.locator("#chart-volume .chart-plot").getAttribute("aria-label");
  assert.match(volume, /2 arrivals, 1 answered, 0 abandoned/);
  await shot(page, "reports");

  await social.getByRole("button", { name: /answered, Social/ }).click();
  const drill = page.locator("#drill");
  await drill.locator("tbody tr").first().waitFor();
  assert.equal(await drill.locator("tbody tr").count(), 1);
  assert.match(await page.locator("#drill-title").textContent(), /Social, answered/);
  await drill.locator("tbody tr").getByRole("button").click();
  const detail = page.locator("#detail");
  await detail.locator(".transcript").waitFor();
  assert.match(await detail.textContent(), new RegExp(name));
  await shot(page, "reports-drill-down");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download CSV" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^report-workgroups-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), "utf8").trim().split("\n");
  assert.match(csv[0], /^key,interval,arrivals,answered,abandoned/);
  const social_lines = csv.filter((l) => l.startsWith("Social,"));
  assert.equal(social_lines.length, 1, csv.join("\n"));
  assert.match(social_lines[0], /^Social,\d{4}-\d{2}-\d{2}T00:00:00\+00:00,2,1,0,/);
  noErrors(page);
  await page.context().close();
});

test("per agent the status chart shows; a backwards period is explained; nothing overflows at 800 px", async () => {
  const page = await openReports();
  await page.locator("#report-dimension").selectOption("agents");
  await page.getByRole("button", { name: "Show report" }).click();
  await page.locator('#totals thead th', { hasText: "Occupancy" }).waitFor();
  await page.locator("#status-panel:not(.hidden) .chart-plot").waitFor();
  assert.match(await page.locator("#chart-status .chart-plot").getAttribute("aria-label"), /h available/);
  await page.locator("#intervals-key").selectOption("agent1");
  const rows = page.locator("#intervals tbody tr");
  assert.ok(await rows.count() >= 1);
  assert.equal(await page.locator('#intervals tbody tr:not([data-key="agent1"])').count(), 0);
  await shot(page, "reports-agents");

  await page.getByLabel("From").fill("2026-12-10");
  await page.getByLabel("To (included)").fill("2026-12-01");
  await page.getByRole("button", { name: "Show report" }).click();
  const error = page.locator("#report-error");
  await error.filter({ hasText: "The start (2026-12-10) is after the end (2026-12-01)" }).waitFor();
  assert.equal(await page.getByLabel("From").getAttribute("aria-invalid"), "true");
  await shot(page, "reports-backwards");
  // A period too fine for its length: the server's words.
  await page.getByLabel("From").fill("2020-01-01");
  await page.locator("#report-interval").selectOption("15m");
  await page.getByRole("button", { name: "Show report" }).click();
  await error.filter({ hasText: "choose a longer interval" }).waitFor();
  await page.getByLabel("From").fill("2026-12-01");
  await page.locator("#report-interval").selectOption("day");
  await page.getByLabel("To (included)").fill(new Date().toISOString().slice(0, 10));
  await page.getByRole("button", { name: "Show report" }).click();
  await error.waitFor({ state: "hidden" });
  await noOverflowAt(page, 800, "reports-800");
  await noOverflowAt(page, 1366, "reports-1366");
  noErrors(page);
  await page.context().close();
});
