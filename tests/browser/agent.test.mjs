// The agent page doing what the agent meant (issue 11): a private draft stays private,
// the counter refuses an over-long reply before it leaves, Decline, one customer in the
// header, the layout at 1366×768 and 800 px, toasts that leave, and the transfer note.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test --test-concurrency=1 agent.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, waitFor, emulatorPost, emulatorOutbound, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";

useDemo();

// ---- helpers ---------------------------------------------------------------------------------

/** Calls the API as the page's user (or with a token). */
async function api(who, method, path, body) {
  const token = typeof who === "string" ? who : await tokenOf(who);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const tokenOf = (page) => page.evaluate(() => sessionStorage.getItem("switchboard.token"));

/** A token for `user`, without a browser. */
async function login(user) {
  const res = await fetch(`${base}/api/v1/login`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: user, password: "demo" }),
  });
  return (await res.json()).token;
}

async function setStatus(who, status) {
  const res = await api(who, "PUT", "/api/v1/me/status", { status });
  assert.equal(res.status, 200, `status ${status}: ${JSON.stringify(res.json)}`);
}

/** Signs in as an agent, on the agent page, Available. */
async function agentPage(user = "agent1", viewport = null, options = {}) {
  const page = await signIn(user, options);
  await page.waitForURL(`${base}/agent`);
  if (viewport) await page.setViewportSize(viewport);
  await page.getByLabel("My status").selectOption("available");
  await waitFor(async () => (await api(page, "GET", "/api/v1/me")).json.status === "available", `${user} to be available`);
  return page;
}

/** Ends every interaction the user still holds, so the next test starts clean. */
async function cleanUp(token) {
  await setStatus(token, "away");
  for (const ix of (await api(token, "GET", "/api/v1/me/interactions")).json) {
    if (ix.state === "alerting") await api(token, "POST", `/api/v1/interactions/${ix.id}/pickup`);
    if (ix.state !== "disconnected") await api(token, "POST", `/api/v1/interactions/${ix.id}/disconnect`);
    await api(token, "POST", `/api/v1/interactions/${ix.id}/wrapup`, { code: "Resolved" });
  }
}

const unique = () => Date.now().toString(36).slice(-5);

/** A customer posts on the page; the offer reaches `page`; it is picked up. */
async function facebookConversation(page, name, text) {
  const posted = await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: name, text });
  const offer = page.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  await page.locator(".transcript").getByText(text).waitFor();
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
  return posted;
}

/** The toolbar's buttons, by name. */
async function toolbar(page) {
  return page.getByRole("toolbar", { name: "Interaction actions" }).getByRole("button").allTextContents();
}

// ---- defect 1: the visibility belongs to the draft ---------------------------------------------

test("a private draft stays private after a send and after a refused send; going public asks first", async () => {
  const page = await agentPage();
  const name = `Priv ${unique()}`;
  const { post_id } = await facebookConversation(page, name, "I was charged twice");
  // Picked up: Pick up and Decline are gone.
  assert.deepEqual((await toolbar(page)).filter((b) => /Pick up|Decline/.test(b)), []);
  assert.equal(await page.locator("#offer-banner").isVisible(), false);

  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, post_id, author_name: name, text: "Card ending 4242, can you check?" });
  await page.locator(".transcript").getByText("Card ending 4242").waitFor({ timeout: 10000 });

  const reply = page.locator("form#reply");
  assert.match(await reply.getAttribute("class"), /\bpublic\b/);
  assert.equal(await page.locator("#reply-visibility").textContent(), "👁 Public — everyone sees this");
  await page.getByLabel("Private message").check();
  await page.locator("form#reply.private").waitFor();
  assert.equal(await page.locator("#reply-visibility").textContent(), "🔒 Private — only the customer");

  const first = `Refund reference R-${unique()}`;
  await page.getByLabel("Reply text").fill(first);
  await page.getByRole("button", { name: "Send private reply" }).click();
  await page.getByText("Reply sent.").first().waitFor();
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.kind === "private_reply" && o.text === first), "the private reply at the emulator");

  // After the send the box is still private, not back to Public.
  await page.locator(".transcript").getByText(first).waitFor({ timeout: 10000 });
  assert.match(await reply.getAttribute("class"), /\bprivate\b/);
  assert.equal(await page.getByLabel("Private message").isChecked(), true);
  assert.equal(await page.getByLabel("Reply text").inputValue(), "");

  // Facebook allows one private reply per comment: the second is refused. Its text stays,
  // and stays private.
  const second = `Second private note ${unique()}: your PIN hint is 42`;
  await page.getByLabel("Reply text").fill(second);
  await page.getByRole("button", { name: "Send private reply" }).click();
  await page.locator("#reply-error").filter({ hasText: /refused|already|one private reply/i }).waitFor({ timeout: 15000 });
  // Live events redraw the page; the draft keeps its text and visibility through them.
  await page.waitForTimeout(1500);
  assert.equal(await page.getByLabel("Reply text").inputValue(), second);
  assert.equal(await page.getByLabel("Private message").isChecked(), true);
  assert.equal(await page.getByLabel("Public comment").isChecked(), false);
  assert.match(await page.locator("form#reply").getAttribute("class"), /\bprivate\b/);
  await page.getByRole("button", { name: "Send private reply" }).waitFor();
  await shot(page, "agent-private-refused");

  // Turning the written private draft public asks first; "Keep it private" keeps it.
  await page.getByLabel("Public comment").click();
  const dialog = page.getByRole("dialog", { name: "Make this reply public?" });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /PIN hint is 42/);
  await shot(page, "agent-make-public");
  await dialog.getByRole("button", { name: "Keep it private" }).click();
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await page.getByLabel("Private message").isChecked(), true);
  assert.match(await page.locator("form#reply").getAttribute("class"), /\bprivate\b/);
  // Nothing was published.
  assert.equal((await emulatorOutbound()).some((o) => o.kind === "comment" && o.text === second), false);

  // Confirmed, it becomes public, and says so.
  await page.getByLabel("Public comment").click();
  await dialog.getByRole("button", { name: "Make it public" }).click();
  await page.locator("form#reply.public").waitFor();
  assert.equal(await page.locator("#reply-visibility").textContent(), "👁 Public — everyone sees this");
  await page.getByRole("button", { name: "Send public reply" }).waitFor();

  // An empty draft changes visibility without a question.
  await page.getByLabel("Reply text").fill("");
  await page.getByLabel("Private message").check();
  await page.locator("form#reply.private").waitFor();
  await page.getByLabel("Public comment").check();
  await page.locator("form#reply.public").waitFor();
  assert.equal(await dialog.isVisible(), false);
  noErrors(page);
  await cleanUp(await tokenOf(page));
});

// ---- defect 3: the counter refuses before sending ----------------------------------------------

test("an X reply over 280 weighted characters is refused before it leaves", async () => {
  const page = await agentPage();
  const handle = `cnt_${unique()}`;
  const text = `acmecorp my parcel is lost ${unique()}`;
  await emulatorPost("/_emulator/x/tweets", { author_handle: handle, author_name: "Cora Count", text });
  const offer = page.locator("#my-list li.alerting", { hasText: "Cora Count" });
  await offer.waitFor({ timeout: 20000 });
  await offer.getByRole("button").click();
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();

  const count = page.locator("#reply-count");
  const send = page.getByRole("button", { name: "Send reply" });
  await page.getByLabel("Reply text").fill("Sorry to hear that! See https://example.com/track");
  assert.match(await count.textContent(), /^47 \/ 280/);

  // 150 CJK characters: 150 code points, but X counts each as 2.
  const before = (await emulatorOutbound()).length;
  await page.getByLabel("Reply text").fill("注".repeat(150));
  await count.filter({ hasText: "300 / 280: 20 too many for X" }).waitFor();
  assert.equal(await send.isDisabled(), true);
  await shot(page, "agent-x-too-long");
  await page.getByLabel("Reply text").press("Control+Enter");
  await page.waitForTimeout(1500);
  assert.equal((await emulatorOutbound()).length, before, "nothing reached the platform");

  // Shortened, it goes.
  const ok = `${"注".repeat(100)} ${unique()}`;
  await page.getByLabel("Reply text").fill(ok);
  assert.equal(await send.isDisabled(), false);
  await send.click();
  await page.getByText("Reply sent.").first().waitFor();
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "x" && o.text?.includes(ok.slice(-5))), "the reply at the emulator");
  noErrors(page);
  await cleanUp(await tokenOf(page));
});

test("the server refuses an over-long reply with its limit, and nothing reaches the platform", async () => {
  const page = await agentPage();
  const name = `Long ${unique()}`;
  await facebookConversation(page, name, "Tell me everything");
  const { id } = (await api(page, "GET", "/api/v1/me/interactions")).json.find((ix) => ix.customer_name === name);
  const before = (await emulatorOutbound()).length;
  const res = await api(page, "POST", `/api/v1/interactions/${id}/reply`, { visibility: "public", text: "a".repeat(70000) });
  assert.equal(res.status, 422, JSON.stringify(res.json));
  assert.equal(res.json.code, "too_long");
  assert.ok(res.json.limit > 0 && res.json.length === 70000, JSON.stringify(res.json));
  assert.equal((await emulatorOutbound()).length, before);
  noErrors(page);
  await cleanUp(await tokenOf(page));
});

// ---- defect 4: Decline; Not responding is the system's -----------------------------------------

test("Decline: the offer leaves, the agent stays Available, and it moves on", async () => {
  const other = await login("agent2");
  await setStatus(other, "away");
  const page = await agentPage();
  // The agent's own menu offers Available and Away only.
  assert.deepEqual(await page.locator("#status option:not([hidden])").allTextContents(), ["Available", "Away"]);

  const name = `Dec ${unique()}`;
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: name, text: "Anyone there?" });
  const offer = page.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await page.locator("#offer-banner").getByRole("button", { name: `Decline the offer from ${name}` }).waitFor();
  await offer.getByRole("button").click();
  await page.getByRole("toolbar").getByRole("button", { name: "Decline" }).click();
  await offer.waitFor({ state: "detached" });
  await page.getByText(/^Declined the offer from .*you stay Available\./).waitFor();
  assert.equal(await page.getByLabel("My status").inputValue(), "available");
  assert.equal((await api(page, "GET", "/api/v1/me")).json.status, "available");
  assert.equal(await page.locator("#offer-banner").isVisible(), false);
  await shot(page, "agent-declined");
  // Not offered it again at once.
  await page.waitForTimeout(2000);
  assert.equal(await page.locator("#my-list li", { hasText: name }).count(), 0);

  // The next agent gets it.
  await setStatus(other, "available");
  const ix = await waitFor(async () => (await api(other, "GET", "/api/v1/me/interactions")).json.find((i) => i.customer_name === name && i.state === "alerting"), "the offer at agent2");
  assert.equal((await api(other, "POST", `/api/v1/interactions/${ix.id}/pickup`)).status, 200);
  noErrors(page);
  await cleanUp(other);
  await cleanUp(await tokenOf(page));
});

test("an offer not picked up: the system sets Not responding, says why, and the menu does not offer it", async () => {
  const other = await login("agent2");
  await setStatus(other, "away");
  const page = await agentPage();
  const name = `Nora ${unique()}`;
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: name, text: "Hello? Is anyone reading?" });
  await page.locator("#my-list li.alerting", { hasText: name }).waitFor({ timeout: 15000 });
  const social = (await api(page, "GET", "/api/v1/directory")).json.workgroups.find((w) => w.name === "Social");
  const note = page.locator("#status-note");
  await note.filter({ hasText: "Not responding" }).waitFor({ timeout: social.alert_timeout_ms + 15000 });
  // Why, in words, beyond the status's name.
  assert.ok((await note.textContent()).replace("Not responding.", "").trim().length > 20, await note.textContent());
  await page.getByText(`The offer from ${name} was not picked up in time; it went back to the queue for another agent.`).waitFor();
  assert.equal(await page.locator("#status option:checked").textContent(), "Not responding");
  assert.deepEqual(await page.locator("#status option:not([hidden])").allTextContents(), ["Available", "Away"]);
  await shot(page, "agent-not-responding");

  // The agent chooses Available: the note leaves.
  await page.getByLabel("My status").selectOption("available");
  await note.waitFor({ state: "hidden" });
  assert.equal((await api(page, "GET", "/api/v1/me")).json.status, "available");
  await page.locator("#my-list li.alerting", { hasText: name }).waitFor({ timeout: 15000 });
  noErrors(page);
  await cleanUp(await tokenOf(page));
});

// ---- defect 5: one customer in the header ------------------------------------------------------

test("the header of a thread with two authors shows one customer, with one @", async () => {
  const page = await agentPage();
  const tag = unique();
  const first = await emulatorPost("/_emulator/x/tweets", { author_handle: `yara_${tag}`, author_name: "Yara Quinn", text: `acmecorp my boots fell apart ${tag}`, followers: 120 });
  const offer = page.locator("#my-list li.alerting", { hasText: "Yara Quinn" });
  await offer.waitFor({ timeout: 20000 });
  await offer.getByRole("button").click();
  await page.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await page.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
  // Someone else joins the thread.
  await emulatorPost("/_emulator/x/tweets", { author_handle: `zed_${tag}`, author_name: "Zed Other", text: `@acme acmecorp mine too ${tag}`, in_reply_to: first.tweet_id, followers: 90000 });
  await page.locator(".transcript").getByText(`mine too ${tag}`).waitFor({ timeout: 20000 });
  const who = await page.locator(".ix-head .who").textContent();
  assert.match(who, new RegExp(`^Yara Quinn @yara_${tag}$`));
  assert.doesNotMatch(await page.locator(".ix-head").textContent(), /Zed|zed_|@@/);
  assert.doesNotMatch(await page.locator(".transcript").textContent(), /@@/);
  await shot(page, "agent-two-authors");
  noErrors(page);
  await cleanUp(await tokenOf(page));
});

// ---- defect 8 and what the agent needs: layout, newest message, relative times --------------------

test("a long thread at 1366×768: the newest comment is in view, Send stays visible; 800 px does not overflow", async () => {
  const page = await agentPage("agent1", { width: 1366, height: 768 });
  const name = `Lena ${unique()}`;
  const { post_id } = await facebookConversation(page, name, "Long story, bear with me");
  for (let i = 1; i <= 24; i++) {
    await emulatorPost("/_emulator/facebook/comments", {
      page_id: PAGE_ID, post_id, author_name: name,
      text: i === 24 ? "Newest comment: the last one" : `Part ${i} of my complaint, with a long word: ${"x".repeat(i === 7 ? 160 : 4)}`,
    });
  }
  const newest = page.locator(".transcript").getByText("Newest comment: the last one");
  await newest.waitFor({ timeout: 20000 });
  await page.waitForTimeout(500);

  const inView = async (locator, box) => {
    const r = await locator.boundingBox();
    return r && r.y >= box.top - 1 && r.y + r.height <= box.bottom + 1;
  };
  const viewport = { top: 0, bottom: 768 };
  const send = page.locator("#send");
  assert.match(await send.textContent(), /Send/);
  assert.ok(await inView(send, viewport), "Send is within the window at 1366×768");
  const hit = await send.evaluate((b) => {
    const r = b.getBoundingClientRect();
    return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === b;
  });
  assert.ok(hit, "nothing covers Send");
  assert.equal(await page.evaluate(() => document.scrollingElement.scrollTop), 0, "the page itself did not scroll");
  const pane = await page.locator(".transcript").boundingBox();
  assert.ok(await inView(newest, { top: pane.y, bottom: pane.y + pane.height }), "the newest comment is in view in the transcript");
  // Times read as "… ago", with the exact time on hover.
  const time = page.locator(".transcript time").last();
  assert.match(await time.textContent(), /just now|min ago/);
  assert.ok(await time.getAttribute("title"));
  assert.ok(await time.getAttribute("datetime"));
  await shot(page, "agent-long-thread-1366");

  await page.getByLabel("Reply text").fill("Thanks for the details, checking now.");
  await page.setViewportSize({ width: 800, height: 900 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the agent page is ${overflow}px wider than the window at 800 px`);
  await shot(page, "agent-800");
  noErrors(page);
  await cleanUp(await tokenOf(page));

  // The sign-in page at 800 px too.
  const context = page.context();
  const signInPage = await context.newPage();
  await signInPage.setViewportSize({ width: 800, height: 700 });
  await signInPage.goto(`${base}/`);
  await signInPage.getByLabel("User name").waitFor();
  assert.ok(await signInPage.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth));
  assert.equal(await signInPage.locator('link[rel="icon"]').getAttribute("href"), "/assets/favicon.svg");
  await shot(signInPage, "login-800");
});

// ---- defect 7: toasts leave ---------------------------------------------------------------------

test("error toasts leave by themselves, on close, and when the agent moves on", async () => {
  const page = await agentPage();
  const a = `Tia ${unique()}`;
  const b = `Uma ${unique()}`;
  const { post_id } = await facebookConversation(page, a, "First customer");
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, post_id, author_name: a, text: "Please hide me" });
  await page.locator(".transcript").getByText("Please hide me").waitFor({ timeout: 10000 });
  await facebookConversation(page, b, "Second customer");
  await page.locator("#my-list li", { hasText: a }).getByRole("button").click();
  await page.locator(".transcript").getByText("Please hide me").waitFor();

  const failHide = async () => {
    await emulatorPost("/_emulator/facebook/failures", { status: 500, code: 1, message: "Service temporarily unavailable", count: 5 });
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: `Hide the comment by ${a}` }).click();
    const note = page.locator("#toast .notice.bad").last();
    await note.waitFor({ timeout: 10000 });
    await emulatorPost("/_emulator/facebook/failures", { count: 0 });
    return note;
  };

  // 1. By itself, after a few seconds.
  const first = await failHide();
  await shot(page, "agent-error-toast");
  await page.waitForTimeout(1000);
  assert.equal(await first.isVisible(), true, "still there after a second");
  await first.waitFor({ state: "detached", timeout: 12000 });

  // 2. With its close button.
  const second = await failHide();
  await second.getByRole("button", { name: "Dismiss this message" }).click();
  await second.waitFor({ state: "detached", timeout: 1000 });

  // 3. When the agent moves to another interaction.
  await failHide();
  assert.equal(await page.locator("#toast .notice.bad").count(), 1);
  await page.locator("#my-list li", { hasText: b }).getByRole("button").click();
  await page.locator(".transcript").getByText("Second customer").waitFor();
  assert.equal(await page.locator("#toast .notice.bad").count(), 0, "the error about the other interaction left");
  noErrors(page);
  await cleanUp(await tokenOf(page));
});

// ---- transfer: who is available, the note, the truth --------------------------------------------

test("a transfer to an agent shows who is available, and the receiver sees the note", async () => {
  const receiver = await agentPage("agent2");
  await setStatus(receiver, "away");
  const page = await agentPage("agent1");
  const name = `Tom ${unique()}`;
  await facebookConversation(page, name, "I need a French speaker");

  // Away: said so in the list.
  await page.getByRole("button", { name: "Transfer…" }).click();
  const dialog = page.getByRole("dialog", { name: "Transfer" });
  await dialog.getByLabel("An agent").check();
  const away = await dialog.locator("#transfer-agent").locator("option").allTextContents();
  assert.ok(away.includes("Blair Agent — Away — returns to Social if not picked up"), away.join(" | "));
  await dialog.getByRole("button", { name: "Cancel" }).click();

  // Available: first, and the transfer says what will happen.
  await receiver.getByLabel("My status").selectOption("available");
  await waitFor(async () => (await api(receiver, "GET", "/api/v1/me")).json.status === "available", "agent2 available");
  await page.getByRole("button", { name: "Transfer…" }).click();
  await dialog.getByLabel("An agent").check();
  const options = await dialog.locator("#transfer-agent").locator("option").allTextContents();
  assert.equal(options[0], "Blair Agent — Available");
  await dialog.locator("#transfer-agent").selectOption("agent2");
  const note = "Asked for a French speaker; order 5521 was charged twice.";
  await dialog.getByLabel(/Note for whoever receives it/).fill(note);
  await shot(page, "agent-transfer");
  await dialog.getByRole("button", { name: "Transfer", exact: true }).click();
  await page.getByText("Offered to Blair Agent; if not picked up within 30 s it goes back to Social.").waitFor();
  await page.waitForTimeout(1000);
  assert.equal(await page.getByText(/not picked up in time/).count(), 0, "no false toast");

  const offer = receiver.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  const from = receiver.locator("#transferred-from");
  await from.waitFor();
  assert.match(await from.textContent(), /Transferred from Alex Agent \(Social\)/);
  assert.match(await from.textContent(), /order 5521 was charged twice/);
  await receiver.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await receiver.locator("#current-state").filter({ hasText: "Connected" }).waitFor();
  await from.waitFor();
  await shot(receiver, "agent-transferred-in");
  noErrors(page);
  noErrors(receiver);
  await cleanUp(await tokenOf(receiver));
  await cleanUp(await tokenOf(page));
});

test("a transfer to an agent who is away goes back to the workgroup's queue, and the toast says so", async () => {
  const receiver = await login("agent2");
  await setStatus(receiver, "away");
  const page = await agentPage("agent1");
  const name = `Vic ${unique()}`;
  await facebookConversation(page, name, "Can someone from billing call me back?");
  const { id } = (await api(page, "GET", "/api/v1/me/interactions")).json.find((ix) => ix.customer_name === name);
  // The sender stops taking work, so the queue cannot hand it straight back to them.
  await setStatus(await tokenOf(page), "away");
  const supervisor = await login("super");
  const waiting = async () => (await api(supervisor, "GET", "/api/v1/queues")).json.find((q) => q.workgroup === "Social").waiting;
  const before = await waiting();

  await page.getByRole("button", { name: "Transfer…" }).click();
  const dialog = page.getByRole("dialog", { name: "Transfer" });
  await dialog.getByLabel("An agent").check();
  await dialog.locator("#transfer-agent").selectOption("agent2");
  assert.match(await dialog.locator("#transfer-agent-note").textContent(), /Blair Agent is away: it goes back to Social's queue/);
  await dialog.getByLabel(/Note for whoever receives it/).fill("Billing question, customer asked for a call back.");
  await dialog.getByRole("button", { name: "Transfer", exact: true }).click();
  const toast = page.locator("#toast .notice").filter({ hasText: "Blair Agent" });
  await toast.waitFor();
  assert.match(await toast.textContent(),
    /^(Blair Agent is not available, so it went back to Social's queue\.|Offered to Blair Agent; if not picked up within \d+ s it goes back to Social\.)/);
  await page.locator("#my-list li", { hasText: name }).waitFor({ state: "detached" });

  // It waits in Social, counted, not parked with the away agent.
  const social = (await api(page, "GET", "/api/v1/directory")).json.workgroups.find((w) => w.name === "Social");
  await waitFor(async () => (await waiting()) >= before + 1, "the transfer counted as waiting in Social", social.alert_timeout_ms + 15000);
  assert.equal(await page.getByText(/not picked up in time/).count(), 0, "no false toast");
  await shot(page, "agent-transfer-away");

  // Whoever becomes available gets it, with the note.
  await setStatus(receiver, "available");
  const offered = await waitFor(async () => (await api(receiver, "GET", "/api/v1/me/interactions")).json.find((i) => i.id === id && i.state === "alerting"), "the offer at agent2");
  assert.ok(offered);
  const detail = (await api(receiver, "GET", `/api/v1/interactions/${id}`)).json;
  assert.equal(detail.transferred_from?.note, "Billing question, customer asked for a call back.");
  noErrors(page);
  await cleanUp(receiver);
  await cleanUp(await tokenOf(page));
});

test("the agent page works under a Content-Security-Policy without inline script or style", async () => {
  const page = await signIn("agent1");
  const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'";
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await page.route(`${base}/agent`, async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, headers: { ...res.headers(), "content-security-policy": csp } });
  });
  await page.waitForURL(`${base}/agent`);
  await page.reload();
  await page.getByLabel("My status").selectOption("available");
  const name = `Csp ${unique()}`;
  await facebookConversation(page, name, "Checking the rules");
  await page.getByLabel("Private message").check();
  await page.getByLabel("Reply text").fill("A private word");
  await page.getByLabel("Public comment").click();
  await page.getByRole("dialog", { name: "Make this reply public?" }).getByRole("button", { name: "Keep it private" }).click();
  await page.locator("form#reply.private").waitFor();
  assert.equal(await page.locator("#reply-visibility").evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(31, 111, 108)", "the stylesheet applies");
  assert.deepEqual(violations, [], "no CSP violation");
  noErrors(page);
  await cleanUp(await tokenOf(page));
});

// ---- issue 13: the session's end is announced, and a reply being typed survives it -----------

test("before the session ends the agent is warned and may stay; after it, the typed reply comes back with the next sign-in", async () => {
  const page = await agentPage("agent1", { width: 1366, height: 768 }, { clock: true });
  const name = `Idle ${unique()}`;
  await facebookConversation(page, name, "Is anyone there?");
  const draft = `Half-written answer ${unique()}: your parcel left the depot`;
  await page.getByLabel("Reply text").fill(draft);
  const warning = page.locator("#session-warning");
  assert.equal(await warning.isVisible(), false);

  // The demo's sessions end after an hour without use: a minute before, the warning.
  await page.clock.fastForward("58:40");
  await warning.filter({ hasText: /signed out in \d/ }).waitFor({ timeout: 5000 });
  await shot(page, "agent-session-warning-1366");
  await page.setViewportSize({ width: 800, height: 768 });
  await shot(page, "agent-session-warning-800");
  await page.setViewportSize({ width: 1366, height: 768 });
  // Staying signed in is use: the warning goes and the hour starts again.
  await page.getByRole("button", { name: "Stay signed in" }).click();
  await warning.waitFor({ state: "hidden", timeout: 5000 });
  await page.clock.fastForward("50:00");
  assert.equal(await warning.isVisible(), false, "an hour from the last use, not from the first");

  // No answer to the warning: back to sign-in, saying why, and the session is over on the
  // server too.
  const token = await tokenOf(page);
  await page.clock.fastForward("10:00");
  await page.waitForURL(`${base}/`, { timeout: 10000 });
  await page.getByRole("alert").filter({ hasText: "period without activity" }).waitFor();
  await shot(page, "login-after-idle-1366");
  await waitFor(async () => (await api(token, "GET", "/api/v1/me")).status === 401, "the old token to be refused");

  // Signed in again in the same tab, the draft is where it was.
  await page.getByLabel("User name").fill("agent1");
  await page.getByLabel("Password").fill("demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/agent`);
  await page.locator("#my-list li", { hasText: name }).click();
  await page.locator(".transcript").getByText("Is anyone there?").waitFor();
  assert.equal(await page.getByLabel("Reply text").inputValue(), draft);
  await shot(page, "agent-draft-kept-after-sign-in");
  noErrors(page);

  // Someone else signing in in this tab does not get it; signing out on purpose forgets it.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${base}/`);
  const kept = await page.evaluate(() => sessionStorage.getItem("switchboard.drafts"));
  assert.equal(kept, null, "signing out on purpose forgets the drafts");
  await cleanUp(await login("agent1"));
  await page.context().close();
});
