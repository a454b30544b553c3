// Retention and privacy (issue 16): the administrator sees each channel's retention and
// the purge's runs, runs it now, exports one customer's data, is refused erasing while
// the customer's conversation is live, and erases it once it has ended.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test --test-concurrency=1 privacy.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { useDemo, base, emulatorPost, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";

useDemo();

const unique = () => Date.now().toString(36).slice(-5);

test("the administrator runs retention, exports a customer, and erases them once their conversation ended", async () => {
  const name = `Erin ${unique()}`;
  const agent = await signIn("agent1");
  await agent.waitForURL(`${base}/agent`);
  await agent.getByLabel("My status").selectOption("available");
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: name, text: "please delete my data" });
  const offer = agent.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  await agent.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await agent.locator("#current-state").filter({ hasText: "Connected" }).waitFor();

  const page = await signIn("admin");
  await page.waitForURL(/\/admin/);
  await page.goto(`${base}/admin#retention`);
  await page.locator("#admin-panel h2").filter({ hasText: "Retention and privacy" }).waitFor();
  assert.match(await page.locator("#admin-panel").textContent(), /No retention period is set/);
  await page.locator('tr[data-channel="facebook"]').getByText("Until the customer is erased").waitFor();
  await page.getByRole("button", { name: "Run now" }).click();
  await page.getByText(/Retention run: 0 interactions cleared/).waitFor();
  await page.locator("#retention-runs").filter({ hasText: /Last run .*Next run/ }).waitFor();

  await page.getByRole("searchbox", { name: "Customer" }).fill(name);
  await page.getByRole("button", { name: "Find" }).click();
  const row = page.locator(".customer-results li", { hasText: name });
  await row.waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: "Export" }).click()]);
  assert.match(download.suggestedFilename(), /^contact-\d+\.json$/);
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(exported.transcripts[0].messages[0].text, "please delete my data");
  await shot(page, "privacy");

  // Live: refused in plain words.
  page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Erase…" }).click();
  await page.locator("#toast .notice.bad").filter({ hasText: "still being worked" }).waitFor();
  await shot(page, "privacy-erase-refused");

  await agent.getByRole("toolbar").getByRole("button", { name: "Disconnect" }).click();
  await agent.getByRole("button", { name: "Save wrap-up" }).click();
  await agent.context().close();

  page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Erase…" }).click();
  await page.getByText("Erased: 1 interaction cleared.").waitFor();
  await page.getByRole("searchbox", { name: "Customer" }).fill(name);
  await page.getByRole("button", { name: "Find" }).click();
  await page.locator(".customer-results li").filter({ hasText: "No customer matches." }).waitFor();
  await page.setViewportSize({ width: 800, height: 768 });
  await shot(page, "privacy-800");
  noErrors(page);
  await page.context().close();
});
