// The guided channel form: each setting labelled as its platform calls it, with where to
// find it and secrets marked; Test credentials before saving (a refused token, a missing
// secret pointed at, the account named when they work), and the row's Test for a running
// channel, including a platform that cannot be checked in advance.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test channels.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, emulator, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";
import { noOverflowAt } from "./overflow.mjs";

useDemo();

async function openChannels() {
  const page = await signIn("admin");
  await page.waitForURL(/\/(agent|admin)(#.*)?$/);
  await page.goto(`${base}/admin#channels`);
  await page.locator("#new-channel").waitFor();
  return page;
}

async function plugin(page, name) {
  const token = await page.evaluate(() => sessionStorage.getItem("switchboard.token"));
  const res = await fetch(`${base}/api/v1/plugins`, { headers: { authorization: `Bearer ${token}` } });
  return (await res.json()).find((p) => p.name === name);
}

/** The form's field for setting `key` (its wrapper carries the key's name). */
const keyField = (form, key) => form.locator(`[data-key="${key}"]`);

test("each setting is labelled as the platform calls it, says where to find it, and secrets are marked", async () => {
  const page = await openChannels();
  const form = page.locator("#new-channel");
  await form.getByLabel("Plugin").selectOption("whatsapp");
  const wa = await plugin(page, "whatsapp");
  const number = wa.config_keys.find((k) => k.name === "phone_number_id");
  assert.ok(number.label && number.label !== number.name, `the plugin gives a label: ${JSON.stringify(number)}`);
  assert.ok(number.where_to_find, "and says where to find it");
  const field = keyField(form, "phone_number_id");
  await field.waitFor();
  // The input is named by the platform's label (required: *).
  await form.getByLabel(`${number.label} *`, { exact: true }).waitFor();
  assert.match(await field.textContent(), /Where to find it:/);
  assert.ok((await field.textContent()).includes(number.where_to_find));
  assert.match(await field.textContent(), /settings\.phone_number_id/, "the config-file name is shown too");

  // WhatsApp only receives webhooks: the form offers no polling.
  const ingest = form.getByLabel("Ingest");
  assert.equal(await ingest.inputValue(), "webhook");
  assert.deepEqual(await ingest.locator("option").evaluateAll((os) => os.filter((o) => o.disabled).map((o) => o.value)), ["poll", "both"]);

  const token = keyField(form, "access_token");
  assert.equal(await token.locator("input").getAttribute("type"), "password");
  assert.match(await token.locator("label").textContent(), /secret/);
  assert.match(await token.textContent(), /never shown again/);
  await shot(page, "channel-form-guided");
  noErrors(page);
  await page.context().close();
});

test("Test credentials checks the unsaved form against the platform: refused, missing, then working", async () => {
  const page = await openChannels();
  const form = page.locator("#new-channel");
  await form.getByLabel("Plugin").selectOption("facebook");
  await keyField(form, "page_id").waitFor();
  await form.getByLabel("Name", { exact: true }).fill("fb-tested");
  await form.getByLabel("Ingest").selectOption("webhook");
  await keyField(form, "page_id").locator("input").fill(PAGE_ID);
  await keyField(form, "graph_base_url").locator("input").fill(`${emulator}/v19.0`);
  await keyField(form, "app_secret").locator("input").fill("demo-app-secret");
  await keyField(form, "verify_token").locator("input").fill("demo-verify");
  const result = form.locator("#credentials-result");
  const test = form.getByRole("button", { name: "Test credentials" });

  // A wrong token: the platform refuses it, said in its name.
  await keyField(form, "access_token").locator("input").fill("not-the-page-token");
  await test.click();
  await result.locator(".notice.bad").waitFor();
  assert.match(await result.textContent(), /^Facebook refused the credentials/);
  assert.ok(!(await result.textContent()).includes("not-the-page-token"), "no secret shown back");
  await shot(page, "channel-test-refused");

  // The right one: the page is named.
  await keyField(form, "access_token").locator("input").fill("demo-page-token");
  await test.click();
  await result.locator(".notice.good").waitFor();
  assert.match(await result.textContent(), /The credentials work: Facebook knows them as .+ \(1001\)\./);
  await shot(page, "channel-test-works");

  // Nothing was created by testing.
  assert.equal(await page.locator('tr[data-channel="fb-tested"]').count(), 0);
  noErrors(page);
  await page.context().close();
});

test("a setting the plugin needs is named and its field focused; a name is asked for first", async () => {
  const page = await openChannels();
  const form = page.locator("#new-channel");
  await form.getByLabel("Plugin").selectOption("whatsapp");
  await keyField(form, "phone_number_id").waitFor();
  const test = form.getByRole("button", { name: "Test credentials" });
  // No name yet: the browser asks for it, nothing is sent.
  await test.click();
  assert.equal(await form.locator("#credentials-result").textContent(), "");
  await form.getByLabel("Name", { exact: true }).fill("wa-tested");
  // The browser's own required check is skipped by Test: the server names the field.
  await page.evaluate(() => document.querySelector("[name='setting:phone_number_id']").removeAttribute("required"));
  await test.click();
  const result = form.locator("#credentials-result .notice.bad");
  await result.waitFor();
  assert.match(await result.textContent(), /phone_number_id/);
  const input = keyField(form, "phone_number_id").locator("input");
  assert.equal(await input.getAttribute("aria-invalid"), "true");
  assert.equal(await input.evaluate((el) => el === document.activeElement), true, "the field has the focus");
  await shot(page, "channel-test-missing");
  await noOverflowAt(page, 800, "channel form with a refusal");
  await shot(page, "channel-test-missing-800");
  noErrors(page);
  await page.context().close();
});

test("a running channel's Test says whose credentials they are, or that its platform cannot tell", async () => {
  const page = await openChannels();
  await page.locator('tr[data-channel="facebook"]').getByRole("button", { name: "Test the credentials of facebook" }).click();
  const works = page.locator("#toast .notice").filter({ hasText: "facebook: The credentials work" });
  await works.waitFor();
  await page.locator('tr[data-channel="apple"]').getByRole("button", { name: "Test the credentials of apple" }).click();
  const apple = page.locator("#toast .notice").filter({ hasText: /^apple: / });
  await apple.waitFor();
  const text = await apple.textContent();
  assert.match(text, /cannot be checked in advance/, text);
  assert.match(await apple.getAttribute("class"), /warn/, "told as a warning, not a failure");
  await shot(page, "channel-row-test");
  noErrors(page);
  await page.context().close();
});
