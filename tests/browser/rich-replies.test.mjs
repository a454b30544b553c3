// What the reply box offers besides text, and the transcript's links, in a real browser:
// an X reply sent as the channel's second handle, an Apple list picker (refused with a clear
// message while a choice has no title, then sent), and a hostile customer message whose
// links stay inert. Screenshots at 1366 and 800 px.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test rich-replies.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, emulator, waitFor, emulatorPost, emulatorOutbound, signIn, shot, noErrors } from "./harness.mjs";
import { noOverflowAt } from "./overflow.mjs";

useDemo();

async function api(token, method, path, body) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function login(username) {
  const res = await fetch(`${base}/api/v1/login`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: "demo" }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).token;
}

async function available(page) {
  await page.waitForURL(`${base}/agent`);
  await page.getByLabel("My status").selectOption("available");
  const token = await page.evaluate(() => sessionStorage.getItem("switchboard.token"));
  await waitFor(async () => (await api(token, "GET", "/me")).body.status === "available", "the agent to be available");
  return token;
}

async function pickUp(page, platform, text) {
  await page.locator(`#current-platform[data-platform="${platform}"]`).waitFor({ timeout: 20000 });
  await page.locator(".transcript").getByText(text, { exact: false }).first().waitFor();
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
}

const choice = (page, n) => page.getByRole("textbox", { name: `Choice ${n}`, exact: true });

async function wrapUp(page) {
  await page.getByRole("button", { name: "Disconnect" }).click();
  const dialog = page.locator("#wrapup-dialog");
  await dialog.waitFor({ state: "visible" });
  await dialog.getByLabel("Wrap-up code").selectOption("Resolved");
  await dialog.getByRole("button", { name: "Save wrap-up" }).click();
  await page.locator("#my-list li").waitFor({ state: "detached" });
}

/** An X channel with two handles (the demo's has one): @acme, the default, and @acmehelp. */
async function twoHandleChannel() {
  const admin = await login("admin");
  const made = await api(admin, "POST", "/channels", {
    name: "x-duo", plugin: "x", workgroup: "Social", workflow: "default.rhai", ingest: "poll",
    poll_interval_ms: 500, allowed_hosts: [emulator],
    settings: { handles: "acme, acmehelp", keywords: "duodesk", use_handles_as_keywords: "false", message_types: "public", api_base_url: emulator },
    secrets: { token_acme: "demo-x-token-acme", token_acmehelp: "demo-x-token-acmehelp" },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
}

test("an X reply goes from the handle chosen, and a hostile customer's links stay inert", async () => {
  await twoHandleChannel();
  const page = await signIn("agent1");
  await page.setViewportSize({ width: 1366, height: 900 });
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  const token = await available(page);

  const tag = Date.now() % 100000;
  const hostile = `duodesk my boots ${tag} broke: see https://boots.example/track?order=42&x=1. `
    + `javascript:alert(1) <img src=x onerror=alert(2)> https://boots.example/"onmouseover="alert(3) `
    + `data:text/html,<script>alert(4)</script> ask @bootsfan #brokenboots ☹️`;
  const { tweet_id } = await emulatorPost("/_emulator/x/tweets", { author_handle: "mallory", author_name: "Mallory", text: hostile, lang: "en" });
  await pickUp(page, "x", `my boots ${tag}`);

  // The transcript: text stays text, and only http(s) and the platform's pages link.
  const text = page.locator(".transcript .text").filter({ hasText: `my boots ${tag}` });
  assert.equal(await text.textContent(), hostile, "the message reads exactly as written");
  assert.equal(await page.locator(".transcript img, .transcript script, .transcript [onerror], .transcript [onmouseover]").count(), 0);
  const anchors = await text.locator("a").evaluateAll((as) => as.map((a) => ({
    text: a.textContent, href: a.getAttribute("href"), rel: a.getAttribute("rel"), target: a.getAttribute("target"),
    attributes: a.getAttributeNames().sort(),
  })));
  assert.deepEqual(anchors.map((a) => [a.text, a.href]), [
    ["https://boots.example/track?order=42&x=1", "https://boots.example/track?order=42&x=1"],
    ["https://boots.example/", "https://boots.example/"],
    ["@bootsfan", "https://x.com/bootsfan"],
    ["#brokenboots", "https://x.com/hashtag/brokenboots"],
  ]);
  for (const a of anchors) {
    assert.equal(a.rel, "noopener noreferrer nofollow");
    assert.equal(a.target, "_blank");
    assert.ok(a.attributes.every((n) => ["class", "href", "rel", "target", "title"].includes(n)), a.attributes.join());
  }
  // Pointing at and clicking the hostile bits runs nothing.
  await text.locator("a", { hasText: "https://boots.example/" }).last().hover();
  await text.getByText("javascript:alert(1)", { exact: false }).click({ position: { x: 5, y: 5 } });
  assert.deepEqual(dialogs, [], "no script ran");
  await shot(page, "rich-x-hostile-links");

  // Reply as the second handle.
  const from = page.getByLabel("Reply as");
  assert.deepEqual(await from.locator("option").allTextContents(), ["@acme (default)", "@acmehelp"]);
  assert.equal(await from.inputValue(), "@acme");
  await from.focus();
  await page.keyboard.press("ArrowDown");
  await from.selectOption("@acmehelp");
  const reply = `Sorry about the boots! DM us your order number. ${tag}`;
  await page.getByLabel("Reply text").fill(reply);
  await shot(page, "rich-x-reply-as");
  await noOverflowAt(page, 800, "rich-x-reply-as-800");
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  const sent = await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "x" && o.kind === "tweet" && o.text === reply), "the reply at the emulator");
  assert.equal(sent.target_id, tweet_id, "it answers the customer's tweet");
  const tweet = await (await fetch(`${emulator}/_emulator/x/tweets/${sent.id}`)).json();
  assert.equal(tweet.author_handle, "acmehelp", "sent from the handle chosen");

  // The API refuses an account that is not the channel's, before the platform is asked.
  const ix = (await api(token, "GET", "/me/interactions")).body.find((i) => i.channel === "x-duo");
  const detail = (await api(token, "GET", `/interactions/${ix.id}`)).body;
  assert.deepEqual(detail.reply_handles, ["@acme", "@acmehelp"]);
  assert.ok(!/demo-x-token/.test(JSON.stringify(detail)), "no secret in the answer");
  const before = (await emulatorOutbound()).length;
  const refused = await api(token, "POST", `/interactions/${ix.id}/reply`, { text: "from a stranger", from_handle: "@someoneelse" });
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  assert.match(refused.body.message || refused.body.error || JSON.stringify(refused.body), /@someoneelse is not one of this channel's accounts/);
  assert.equal((await emulatorOutbound()).length, before);

  await page.setViewportSize({ width: 1366, height: 900 });
  await wrapUp(page);
  noErrors(page);
  await page.context().close();
});

test("an Apple list picker: refused while a choice has no title, then sent with its choices", async () => {
  const page = await signIn("agent1");
  await page.setViewportSize({ width: 1366, height: 900 });
  await available(page);
  const tag = Date.now() % 100000;
  const source = `urn:mbid:AQAAY-list-${tag}`;
  await emulatorPost("/_emulator/apple/messages", { business_id: "acme-biz", source_id: source, type: "text", body: `Where can I pick up my order ${tag}?` });
  await pickUp(page, "apple", `pick up my order ${tag}`);
  // No "Reply as" where the channel has one account.
  assert.equal(await page.getByLabel("Reply as").count(), 0);

  // Keyboard only: turn the list on, write the title and two choices, add a third.
  const toggle = page.getByLabel("Send as a list picker");
  await toggle.focus();
  await page.keyboard.press("Space");
  await choice(page, 1).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "list-choice-1", "the first choice has the focus");
  await page.keyboard.type("Main Street store");
  await page.keyboard.press("Enter"); // adds a choice after this one, never sends
  assert.equal(await page.evaluate(() => document.activeElement.id), "list-choice-2");
  await choice(page, 3).fill("Harbor store");
  await page.getByLabel("List title").fill("Which store suits you?");
  // Choice 2 is empty: refused before sending, with the reason and the focus on it.
  await page.getByRole("button", { name: "Send list picker" }).click();
  const error = page.locator("#reply-error");
  await error.filter({ hasText: "Choice 2 has no title" }).waitFor();
  assert.equal(await error.textContent(), "Choice 2 has no title: give every choice a title, or remove it.");
  assert.equal(await page.evaluate(() => document.activeElement.id), "list-choice-2");
  assert.equal((await emulatorOutbound()).filter((o) => o.platform === "apple" && o.kind === "list_picker").length, 0, "nothing was sent");
  await shot(page, "rich-apple-list-refused");
  await page.setViewportSize({ width: 800, height: 768 });
  await error.scrollIntoViewIfNeeded();
  await noOverflowAt(page, 800, "rich-apple-list-refused-800");
  await page.setViewportSize({ width: 1366, height: 900 });

  // Remove the empty choice; the preview shows what the customer will see.
  await page.getByRole("button", { name: "Remove choice 2" }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), "list-choice-2", "the focus moves to the next choice");
  await choice(page, 2).fill("Harbor store");
  const preview = page.getByRole("group", { name: "Preview: what the customer sees" });
  assert.deepEqual(await preview.locator("li").allTextContents(), ["Main Street store", "Harbor store"]);
  assert.match(await preview.textContent(), /Which store suits you\?/);
  await shot(page, "rich-apple-list");
  await page.setViewportSize({ width: 800, height: 768 });
  await preview.scrollIntoViewIfNeeded();
  await noOverflowAt(page, 800, "rich-apple-list-800");
  await page.setViewportSize({ width: 1366, height: 900 });

  await page.getByRole("button", { name: "Send list picker" }).click();
  await page.getByText("Reply sent.").waitFor();
  const picker = await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "apple" && o.kind === "list_picker" && o.target_id === source), "the list picker at the emulator");
  assert.equal(picker.text, "Which store suits you?");
  const business = await (await fetch(`${emulator}/_emulator/apple/businesses/acme-biz`)).json();
  const body = business.sent.find((b) => b.id === picker.id && b.type === "interactive");
  const items = body.interactiveData.data.listPicker.sections[0].items;
  assert.deepEqual(items.map((i) => [i.identifier, i.title]), [["choice-1", "Main Street store"], ["choice-2", "Harbor store"]]);
  // The next reply starts as plain text.
  await page.getByLabel("Reply text").waitFor();
  assert.equal(await page.getByLabel("Send as a list picker").isChecked(), false);
  await wrapUp(page);
  noErrors(page);
  await page.context().close();
});

test("Messenger quick replies: a title too long is refused, then the choices go out under the message", async () => {
  const page = await signIn("agent1");
  await page.setViewportSize({ width: 1366, height: 900 });
  await available(page);
  const tag = Date.now() % 100000;
  await emulatorPost("/_emulator/messenger/messages", { page_id: "1001", name: "Quinn Quick", text: `Which store has my size ${tag}?` });
  await pickUp(page, "messenger", `has my size ${tag}`);
  await page.getByLabel("Add quick replies").check();
  await choice(page, 1).fill("Main Street");
  await choice(page, 2).fill("The harbor store by the ferry");
  await page.getByLabel("Reply text").fill("Which store suits you?");
  await page.getByRole("button", { name: "Send reply" }).click();
  const error = page.locator("#reply-error");
  await error.filter({ hasText: "Choice 2 is 29 characters" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "list-choice-2");
  await shot(page, "rich-messenger-quick-refused");

  await choice(page, 2).fill("Harbor");
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  const sent = await waitFor(async () => {
    const list = await (await fetch(`${emulator}/_emulator/messenger/sent`)).json();
    return list.find((s) => s.message?.text === "Which store suits you?");
  }, "the message with its quick replies");
  assert.deepEqual(sent.message.quick_replies.map((q) => [q.title, q.payload]), [["Main Street", "choice-1"], ["Harbor", "choice-2"]]);
  await shot(page, "rich-messenger-quick-sent");
  await wrapUp(page);
  noErrors(page);
  await page.context().close();
});
