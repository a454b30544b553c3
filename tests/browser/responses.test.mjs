// Standard responses (issue 16): the administrator keeps the library; the agent types "/"
// and a word in the reply box, picks one with the keyboard and finds it filled in for the
// customer; one that would make the reply too long for the platform is not inserted.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test --test-concurrency=1 responses.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, emulatorPost, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";

useDemo();

const unique = () => Date.now().toString(36).slice(-5);

test("the administrator adds a response, and a placeholder it cannot fill is refused in plain words", async () => {
  const page = await signIn("admin");
  await page.waitForURL(/\/(agent|admin)(#.*)?$/);
  await page.goto(`${base}/admin#responses`);
  await page.locator("#admin-panel h2").filter({ hasText: "Standard responses" }).waitFor();
  const form = page.locator('form[data-response="new"]');
  await form.getByLabel("Title").fill("Order number");
  await form.getByLabel("Text").fill("Your order {order_id} is on its way.");
  await form.getByRole("button", { name: "Add response" }).click();
  const refused = page.locator("#toast .notice.bad");
  await refused.waitFor();
  const said = await refused.textContent();
  assert.match(said, /^Text: \{order_id\} is not a placeholder.*\{customer_name\}/, said);
  await shot(page, "responses-refused");

  await form.getByLabel("Title").fill("Thanks for waiting");
  await form.getByLabel("Text").fill("Thank you for waiting, {customer_name}. {agent_name} here: I have it in hand.");
  await form.getByLabel("For").selectOption({ label: "Social members" });
  await form.getByRole("button", { name: "Add response" }).click();
  const row = page.locator("tr[data-response]", { hasText: "Thanks for waiting" });
  await row.waitFor();
  assert.match(await row.textContent(), /Social members/);
  await shot(page, "responses-library");
  noErrors(page);
  await page.context().close();
});

test("the agent types / and a word, picks a response with the keyboard and finds it filled in", async () => {
  const page = await signIn("agent1");
  await page.waitForURL(`${base}/agent`);
  await page.getByLabel("My status").selectOption("available");
  const name = `Wanda ${unique()}`;
  const said = `where is my parcel ${unique()}`;
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: name, text: said });
  const offer = page.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();

  const box = page.getByLabel("Reply text");
  await box.fill("Hello! ");
  await box.press("End");
  await box.pressSequentially("/wait");
  const picker = page.locator("#response-picker");
  await picker.getByRole("option", { name: /Thanks for waiting/ }).waitFor();
  await shot(page, "responses-picker");
  await box.press("Enter");
  await picker.waitFor({ state: "hidden" });
  assert.equal(await box.inputValue(), `Hello! Thank you for waiting, ${name}. Alex Agent here: I have it in hand.`);

  // A reply that would grow past the platform's limit: the response is not inserted.
  const count = await page.locator("#reply-count").textContent();
  const limit = Number(/\/ (\d+)/.exec(count)?.[1]);
  assert.ok(limit > 0, `the counter shows the limit: ${count}`);
  const long = "a".repeat(limit - 20);
  await box.fill(`${long} `);
  await box.press("End");
  await box.pressSequentially("/wait");
  await picker.getByRole("option", { name: /Thanks for waiting/ }).waitFor();
  await box.press("Enter");
  const error = page.locator("#reply-error");
  await error.filter({ hasText: "was not inserted" }).waitFor();
  assert.equal(await box.inputValue(), `${long} /wait`, "the draft is as it was");
  await shot(page, "responses-too-long");

  // Escape closes the list and leaves the text alone.
  await box.fill("/thank");
  await picker.getByRole("option").first().waitFor();
  await box.press("Escape");
  await picker.waitFor({ state: "hidden" });
  assert.equal(await box.inputValue(), "/thank");
  noErrors(page);
  await box.fill("");
  await page.context().close();
});
