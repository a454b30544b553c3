// The web desktop in a real browser. Starts `switchboard demo --no-traffic` on free ports
// (fresh data directory), drives Debian's Chromium with playwright-core, and talks to the
// platform emulator's control API the way a customer would.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test desktop.test.mjs
//
// Screenshots of every screen go to $ARTIFACTS_DIR (default target/browser-artifacts);
// each screen is also checked with axe-core for WCAG 2 A/AA violations.

import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, process.env.SWITCHBOARD_BIN || "target/debug/switchboard");
const ARTIFACTS = resolve(ROOT, process.env.ARTIFACTS_DIR || "target/browser-artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const PAGE_ID = "1001";
const WHATSAPP_NUMBER = "2002";

let demo, browser, base, emulator, dataDir;
const logs = [];

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on("error", fail);
  });
}

async function waitFor(check, what, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

async function emulatorPost(path, body) {
  const res = await fetch(`${emulator}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `emulator ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function emulatorOutbound() {
  return (await fetch(`${emulator}/_emulator/outbound`)).json();
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), "switchboard-browser-"));
  const [p1, p2] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${p1}`;
  emulator = `http://127.0.0.1:${p2}`;
  demo = spawn(BIN, ["demo", "--no-traffic", "--listen", `127.0.0.1:${p1}`, "--emulator-listen", `127.0.0.1:${p2}`, "--data-dir", dataDir], {
    cwd: ROOT,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
  });
  demo.stdout.on("data", (d) => logs.push(String(d)));
  demo.stderr.on("data", (d) => logs.push(String(d)));
  const exited = new Promise((_, fail) => demo.on("exit", (code) => fail(new Error(`demo exited (${code}):\n${logs.join("")}`))));
  await Promise.race([waitFor(async () => (await fetch(`${base}/readyz`)).ok, "the demo to be ready", 60000), exited]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
  });
});

// A failed test leaves a screenshot of every page still open, to see what went wrong.
afterEach(async (t) => {
  for (const [user, page] of pages.splice(0)) {
    if (!page.isClosed()) {
      await page.screenshot({ path: join(ARTIFACTS, `failed-${user}.png`), fullPage: true }).catch(() => {});
      await page.context().close().catch(() => {});
    }
  }
});

after(async () => {
  await browser?.close();
  demo?.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 300));
  demo?.kill("SIGKILL");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const pages = [];

/** A fresh browser tab signed in as `user`; fails the test on any page error. */
async function signIn(user) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/favicon/.test(m.text())) errors.push(m.text()); });
  page.errors = errors;
  pages.push([user, page]);
  await page.goto(`${base}/`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill("demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  return page;
}

/** Saves a screenshot of the screen, and checks it with axe (WCAG 2 A and AA): no
 *  serious or critical violation. */
async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } }));
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  assert.deepEqual(bad, [], `accessibility of ${name}`);
}

function noErrors(page) {
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource/.test(e)), [], "the page logged errors");
}

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
  await page.getByRole("button", { name: "Send reply" }).click();
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
  const templates = page.getByLabel("Template");
  assert.equal(await templates.isVisible(), true);
  assert.deepEqual(await templates.locator("option").allTextContents(), ["order_update (en_US)", "hello_world (en_US)"]);
  await shot(page, "agent-whatsapp-templates");

  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent.").waitFor();
  await waitFor(async () => (await emulatorOutbound()).find((o) => o.platform === "whatsapp"), "the template at the emulator");
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
  await page.waitForURL(/\/(agent|admin)$/);
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
  await channel.getByLabel("handles *").fill("acmehelp");
  await channel.getByLabel("keywords", { exact: true }).fill("acmehelpdesk");
  await channel.getByLabel("api_base_url").fill(emulator);
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
  assert.equal(await edit.getByLabel("keywords", { exact: true }).inputValue(), "acmehelpdesk");
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
