// Pausing and resuming a channel from the administrator's Channels screen: Pause asks
// first; a paused channel's messages are stored and wait (the row's badge counts them,
// nobody is offered them); Resume routes them. A pause that fails shows the server's
// words. Screens at 1366 and 800 px.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test pause.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { useDemo, base, emulator, emulatorPost, waitFor, signIn, noErrors, PAGE_ID } from "./harness.mjs";
import { noOverflowAt } from "./overflow.mjs";

useDemo();

/** An API client signed in as `user` (its own session, beside the browser's). */
async function apiAs(user) {
  const res = await fetch(`${base}/api/v1/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: user, password: "demo" }),
  });
  assert.equal(res.status, 200, `sign-in of ${user}`);
  const { token } = await res.json();
  return async (method, path, body) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
}

async function openChannels() {
  const page = await signIn("admin");
  await page.waitForURL(/\/(agent|admin)(#.*)?$/);
  await page.goto(`${base}/admin#channels`);
  await page.locator("#new-channel").waitFor();
  return page;
}

/** Draws the Channels screen again (another tab, then back). */
async function redraw(page) {
  await page.getByRole("tab", { name: "Plugins" }).click();
  await page.locator("#admin-panel h2").filter({ hasText: "Plugins" }).waitFor();
  await page.getByRole("tab", { name: "Channels" }).click();
  await page.locator("#new-channel").waitFor();
}

test("a paused channel's messages wait, counted on its row, and a resume routes them", async () => {
  const admin = await apiAs("admin");
  const agent = await apiAs("agent1");
  assert.equal((await agent("PUT", "/me/status", { status: "available" })).status, 200);
  const page = await openChannels();
  const row = page.locator('tr[data-channel="facebook"]');
  await row.waitFor();

  // Pause asks first; saying no changes nothing.
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await row.getByRole("button", { name: "Pause facebook" }).click();
  await waitFor(() => asked, "the confirmation");
  assert.match(asked, /still stored/);
  assert.equal((await admin("GET", "/channels/facebook")).body.paused, false);

  page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Pause facebook" }).click();
  await page.getByText("Channel facebook paused: new messages are stored and wait.").waitFor();
  await page.locator('tr[data-channel="facebook"][data-paused="true"]').waitFor();
  assert.match(await row.innerText(), /Paused\s+0 messages waiting/);
  assert.match(await row.innerText(), /by admin/);

  // Customers write: stored, waiting, offered to nobody.
  const tag = Date.now() % 100000;
  const { post_id } = await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Pia Paused", text: `Paused one ${tag}` });
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, post_id, parent_id: post_id, author_name: "Pia Paused", text: `Paused two ${tag}` });
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Quinn Paused", text: `Paused three ${tag}` });
  await waitFor(async () => (await admin("GET", "/channels/facebook")).body.waiting === 3, "three messages waiting");
  assert.deepEqual((await agent("GET", "/me/interactions")).body, [], "nobody is offered them");
  await redraw(page);
  await page.locator('tr[data-channel="facebook"][data-paused="true"]').waitFor();
  assert.match(await row.innerText(), /Paused\s+3 messages waiting/);
  await row.scrollIntoViewIfNeeded();
  await noOverflowAt(page, 1366, "admin-channel-paused");
  await noOverflowAt(page, 800, "admin-channel-paused-800");
  await page.setViewportSize({ width: 1366, height: 768 });

  // Resume: the waiting messages are routed, and the agent is offered them.
  await row.getByRole("button", { name: "Resume facebook" }).click();
  await page.getByText(/Channel facebook resumed/).waitFor();
  await page.locator('tr[data-channel="facebook"][data-paused="false"]').waitFor();
  await waitFor(async () => (await admin("GET", "/channels/facebook")).body.waiting === 0, "nothing waiting");
  const offered = await waitFor(async () => {
    const mine = (await agent("GET", "/me/interactions")).body;
    return mine.length >= 2 && mine;
  }, "the waiting conversations offered");
  assert.ok(offered.length >= 2, JSON.stringify(offered));
  await redraw(page);
  assert.doesNotMatch(await row.innerText(), /Paused|Resuming|waiting/);
  await row.getByRole("button", { name: "Pause facebook" }).waitFor();
  await agent("PUT", "/me/status", { status: "away" });
  noErrors(page);
  await page.context().close();
});

test("a pause that fails says why in the server's words; others may not pause", async () => {
  const admin = await apiAs("admin");
  const created = await admin("POST", "/channels", {
    name: "fb-gone", plugin: "facebook", workgroup: "Social", ingest: "webhook",
    allowed_hosts: [emulator],
    settings: { page_id: PAGE_ID, graph_base_url: `${emulator}/v19.0` },
    secrets: { app_secret: "demo-app-secret", verify_token: "demo-verify", access_token: "demo-page-token" },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const page = await openChannels();
  const row = page.locator('tr[data-channel="fb-gone"]');
  await row.waitFor();

  // Deleted behind the screen's back: the pause fails, the screen says so.
  assert.equal((await admin("DELETE", "/channels/fb-gone")).status, 204);
  page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Pause fb-gone" }).click();
  const toast = page.locator("#toast .notice.bad");
  await toast.waitFor();
  assert.match(await toast.innerText(), /^Channel fb-gone was not paused: channel “fb-gone” not found/);
  // The list is drawn again without it.
  await row.waitFor({ state: "detached" });
  await noOverflowAt(page, 1366, "admin-channel-pause-failed");
  await noOverflowAt(page, 800, "admin-channel-pause-failed-800");

  // Supervisors and agents are refused by the server.
  for (const user of ["super", "agent1"]) {
    const call = await apiAs(user);
    const answer = await call("POST", "/channels/facebook/pause");
    assert.equal(answer.status, 403, `${user}: ${JSON.stringify(answer.body)}`);
  }
  assert.equal((await admin("GET", "/channels/facebook")).body.paused, false);
  noErrors(page);
  await page.context().close();
});
