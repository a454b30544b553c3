// The web desktop in a real browser: the main path of each role (harness.mjs starts the
// demo and the browser).
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test desktop.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, emulator, waitFor, emulatorPost, emulatorOutbound, signIn, shot, noErrors, PAGE_ID, WHATSAPP_NUMBER } from "./harness.mjs";

useDemo();

test("an agent answers a Facebook comment: offer, pick up, public reply, disconnect, wrap-up", async () => {
  const page = await signIn("agent1");
  await page.waitForURL(`${base}/agent`);
  await page.getByLabel("My status").selectOption("available");
  await waitFor(async () => (await (await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${await page.evaluate(() => sessionStorage.getItem("switchboard.token"))}` } })).json()).status === "available", "agent1 to be available");

  const text = `Where is my order #${Date.now() % 100000}? 📦`;
  const { post_id } = await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Ann Browser", author_id: "5501", text });

  // The offer arrives live, with a countdown, and opens in Current Interaction.
  const offer = page.locator("#my-list li.alerting");
  await offer.waitFor({ timeout: 15000 });
  await page.locator("#offer-banner").waitFor({ state: "visible" });
  assert.match(await offer.locator(".countdown").textContent(), /\d+s/);
  await page.locator('#current-platform[data-platform="facebook"]').waitFor();
  await page.locator(".transcript").getByText(text).waitFor();
  await shot(page, "agent-offer");

  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
  await page.locator("#window-note").waitFor();
  const reply = `Hi Ann, your order ships today. ${Date.now() % 1000}`;
  await page.getByLabel("Reply text").fill(reply);
  await page.getByRole("button", { name: "Send public reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  // Our comment shows in the thread under the customer's.
  await page.locator(".comments .ours").getByText(reply).waitFor({ timeout: 10000 });
  await shot(page, "agent-connected");

  const sent = await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "facebook" && o.kind === "comment" && o.text === reply), "the reply at the emulator");
  assert.ok(sent.target_id, "the reply answers the customer's comment");

  // The customer comments again: it joins the thread live. Then hide it (after confirming).
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, post_id, author_name: "Ann Browser", author_id: "5501", text: "Spam spam spam" });
  await page.locator(".comments").getByText("Spam spam spam").waitFor({ timeout: 10000 });
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Hide the comment by Ann Browser" }).click();
  await page.getByText("Comment hidden.").waitFor();
  await page.locator(".comments").getByText("Hidden from the public").waitFor();
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "facebook" && o.kind === "hide"), "the hide at the emulator");

  await page.getByRole("button", { name: "Disconnect" }).click();
  const dialog = page.locator("#wrapup-dialog");
  await dialog.waitFor({ state: "visible" });
  await dialog.getByLabel("Wrap-up code").selectOption("Resolved");
  await shot(page, "agent-wrapup");
  await dialog.getByRole("button", { name: "Save wrap-up" }).click();
  await page.getByText("Wrap-up saved: Resolved.").waitFor();
  await page.locator("#my-list li").waitFor({ state: "detached" });
  noErrors(page);
  await page.context().close();
});

test("a WhatsApp conversation older than 24 hours offers only templates", async () => {
  const page = await signIn("agent1");
  await page.waitForURL(`${base}/agent`);
  await page.getByLabel("My status").selectOption("available");
  const dayAndAHourAgo = Math.floor(Date.now() / 1000) - 25 * 3600;
  await emulatorPost("/_emulator/whatsapp/messages", {
    phone_number_id: WHATSAPP_NUMBER, from: "15557654321", name: "Wanda Late", text: "Did my parcel leave?", timestamp: dayAndAHourAgo,
  });
  await page.locator("#my-list li.alerting").waitFor({ timeout: 15000 });
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
  assert.equal(await page.locator("#current-platform").textContent(), "WhatsApp");

  // Before typing: the window is shown closed, the text box is gone, templates are offered.
  const note = page.locator("#window-note");
  await note.waitFor();
  assert.match(await note.textContent(), /template/i);
  assert.equal(await page.getByLabel("Reply text").isVisible(), false);
  // The business account's templates, as WhatsApp lists them; a pending one cannot be sent.
  const templates = page.getByLabel("Template", { exact: true });
  assert.equal(await templates.isVisible(), true);
  await waitFor(async () => (await templates.locator("option").count()) === 6, "the account's templates listed");
  const names = await templates.locator("option").allTextContents();
  assert.equal(names[0], "hello_world (en_US)");
  assert.ok(names.includes("delivery_update (en_US)"), names.join(", "));
  const pending = await templates.locator("option", { hasText: "spring_sale" }).evaluate((o) => ({ disabled: o.disabled, text: o.textContent }));
  assert.deepEqual(pending, { disabled: true, text: "spring_sale (en_US) — pending, cannot be sent" });

  // Parameters with a live preview; a missing one is refused before sending.
  await templates.selectOption({ label: "delivery_update (en_US)" });
  await page.getByLabel("Parameter 1").fill("Wanda");
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.locator("#reply-error").getByText("Fill in parameter {{2}} of delivery_update.").waitFor();
  await page.getByLabel("Parameter 2").fill("A-1042");
  await page.getByLabel("Parameter 3").fill("tomorrow");
  await page.locator("#template-preview").getByText("Hello Wanda, your order A-1042 will arrive tomorrow.").waitFor();
  await shot(page, "agent-whatsapp-templates");

  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  const sent = await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "whatsapp" && o.kind === "template"), "the template at the emulator");
  assert.equal(sent.text, "delivery_update");
  const number = await (await fetch(`${emulator}/_emulator/whatsapp/numbers/${WHATSAPP_NUMBER}`)).json();
  const last = number.sent.filter((m) => m.kind === "template").at(-1);
  assert.deepEqual(JSON.stringify(last).includes("A-1042") && JSON.stringify(last).includes("tomorrow"), true, "the parameters reached WhatsApp");
  await page.getByRole("button", { name: "Disconnect" }).click();
  await page.locator("#wrapup-dialog").getByRole("button", { name: "Skip" }).click();
  noErrors(page);
  await page.context().close();
});

test("a supervisor sees the active count and the search result change", async () => {
  const page = await signIn("super");
  await page.waitForURL(`${base}/supervisor`);
  const tile = page.locator("#tile-active-conversations .value");
  await tile.waitFor();
  const before = Number(await tile.textContent());

  const word = `zebra${Date.now() % 100000}`;
  const search = page.locator("#search");
  await search.getByLabel("Text").fill(word);
  await search.getByRole("button", { name: "Search" }).click();
  await page.locator("#search-count").filter({ hasText: "0 interactions found" }).waitFor();

  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Sue Search", text: `Is the ${word} jacket back in stock?` });
  await page.locator("#tile-active-conversations .value").filter({ hasText: String(before + 1) }).waitFor({ timeout: 15000 });

  await search.getByRole("button", { name: "Search" }).click();
  await page.locator("#search-count").filter({ hasText: "1 interaction found" }).waitFor();
  const row = page.locator("#results tbody tr");
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /Sue Search/);
  await row.getByRole("button").click();
  await page.locator("#detail .transcript").getByText(`Is the ${word} jacket back in stock?`).waitFor();
  await shot(page, "supervisor");
  noErrors(page);
  await page.context().close();
});

test("an administrator creates a workgroup and an X channel", async () => {
  const page = await signIn("admin");
  // Administrators land on their own page.
  await page.waitForURL(`${base}/admin`);
  await page.goto(`${base}/admin#workgroups`);
  const form = page.locator("#new-workgroup");
  await form.waitFor();
  await form.getByLabel("Name").fill("Escalations");
  await form.getByLabel("Wrap-up codes (comma separated)").fill("Refunded, Replaced");
  await form.getByLabel("agent1").check();
  await form.getByRole("button", { name: "Create workgroup" }).click();
  await page.locator('tr[data-workgroup="Escalations"]').waitFor();
  assert.match(await page.locator('tr[data-workgroup="Escalations"]').textContent(), /agent1.*Refunded, Replaced/s);
  await shot(page, "admin-workgroups");

  await page.getByRole("tab", { name: "Channels" }).click();
  const channel = page.locator("#new-channel");
  await channel.waitFor();
  await channel.getByLabel("Name", { exact: true }).fill("x-support");
  await channel.getByLabel("Plugin").selectOption("x");
  await channel.getByLabel("Workgroup", { exact: true }).selectOption("Escalations");
  await channel.getByLabel("Ingest").selectOption("poll");
  await channel.getByLabel("Poll interval (ms)").fill("1000");
  await channel.getByLabel("Allowed hosts (one per line)").fill(emulator);
  await channel.getByLabel("X handles *").fill("acmehelp");
  await channel.getByLabel("Keywords", { exact: true }).fill("acmehelpdesk");
  await channel.getByLabel("X API URL").fill(emulator);
  await channel.getByLabel("More secrets (name=value per line)").fill("token_acmehelp=demo-x-token-acmehelp\nconsumer_secret=demo-consumer-secret");
  await channel.getByRole("button", { name: "Create channel" }).click();
  const row = page.locator('tr[data-channel="x-support"]');
  await row.waitFor();
  assert.match(await row.textContent(), /x.*Escalations/s);
  // Its poller runs: the status shows a poll after a reload of the screen.
  await waitFor(async () => {
    await page.getByRole("tab", { name: "Channels" }).click();
    return /Polling · last/.test(await page.locator('tr[data-channel="x-support"]').textContent());
  }, "the new channel to poll");
  assert.equal(/secret|demo-x-token/.test(await row.textContent()), false, "no secret is shown");
  await shot(page, "admin-channels");

  // Edit it: the form comes prefilled, secrets left empty keep their stored values.
  await row.getByRole("button", { name: "Edit x-support" }).click();
  const edit = page.locator("#edit-channel");
  await edit.waitFor();
  assert.equal(await edit.getByLabel("Keywords", { exact: true }).inputValue(), "acmehelpdesk");
  assert.equal(await edit.getByLabel("Workgroup", { exact: true }).inputValue(), "Escalations");
  await edit.getByLabel("Poll interval (ms)").fill("1500");
  await edit.getByRole("button", { name: "Save channel" }).click();
  await page.getByText("Channel x-support saved").waitFor();
  await page.locator('tr[data-channel="x-support"]').filter({ hasText: "every 1500 ms" }).waitFor();
  await waitFor(async () => {
    await page.getByRole("tab", { name: "Channels" }).click();
    return /Polling · last/.test(await page.locator('tr[data-channel="x-support"]').textContent());
  }, "the edited channel to poll with its kept secrets");

  for (const [tab, name] of [["Plugins", "admin-plugins"], ["Utilization", "admin-utilization"], ["Workflows", "admin-workflows"]]) {
    await page.getByRole("tab", { name: tab }).click();
    await page.locator("#admin-panel h2").filter({ hasText: tab }).waitFor();
    await shot(page, name);
  }
  assert.match(await page.locator("#admin-panel").textContent(), /Running version/);
  noErrors(page);
  await page.context().close();
});

test("an expired session goes back to sign-in and says why, at 1366 and at 800 px", async () => {
  for (const width of [1366, 800]) {
    const page = await signIn("agent1");
    await page.setViewportSize({ width, height: 768 });
    await page.waitForURL(`${base}/agent`);
    await page.getByLabel("My status").waitFor();
    // The server no longer knows the session (as after it expired).
    await page.evaluate(() => sessionStorage.setItem("switchboard.token", "expired-session"));
    // The next authenticated call meets the unknown session: this status change, or the
    // page's own (a stream reconnect, a keep-alive) if it comes first and the page has
    // already left, taking the menu with it. Either way the page must end up below.
    await page.getByLabel("My status").selectOption("away", { timeout: 5000 }).catch(() => {});
    await page.waitForURL(`${base}/`);
    const notice = page.getByRole("alert");
    await notice.filter({ hasText: "Your session has ended. Please sign in again." }).waitFor();
    await shot(page, `login-session-ended-${width}`);
    // Said once: signing in again works and the notice does not come back.
    await page.getByLabel("User name").fill("agent1");
    await page.getByLabel("Password").fill("demo");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/agent`);
    await page.context().close();
  }
});
