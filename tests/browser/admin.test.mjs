// The administrator's page (`/admin`): the landing page, the new-channel form (no test
// plugins, the hosts a plugin calls, yes/no settings as checkboxes, allowed hosts from the
// base URL), the utilization screen's words, and every screen at 800 px.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test admin.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { useDemo, base, emulator, emulatorPost, waitFor, signIn, shot, noErrors, workflowsDir, PAGE_ID } from "./harness.mjs";
import { noOverflowAt } from "./overflow.mjs";

useDemo();

const SCREENS = ["Channels", "Workgroups", "Users", "Stations", "Utilization", "Skills", "Wrap-up codes", "Standard responses", "Workflows", "Plugins", "Cluster"];

async function openAdmin(hash = "") {
  const page = await signIn("admin");
  await page.waitForURL(/\/(agent|admin)(#.*)?$/);
  await page.goto(`${base}/admin${hash}`);
  await page.locator("#admin-panel h2").waitFor();
  return page;
}

async function apiGet(page, path) {
  const token = await page.evaluate(() => sessionStorage.getItem("switchboard.token"));
  const res = await fetch(`${base}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, path);
  return res.json();
}

test("administrators land on the administrator's page: channels first, no errors", async () => {
  const page = await signIn("admin");
  // The sign-in page sends the widest right to its own page (login.js).
  await page.waitForURL(/\/admin(#channels)?$/);
  await page.locator("#admin-panel h2").filter({ hasText: "Channels" }).waitFor();
  assert.equal(new URL(page.url()).hash, "#channels");
  assert.equal(await page.getByRole("tab", { name: "Channels" }).getAttribute("aria-selected"), "true");
  await page.locator("#new-channel").waitFor();
  assert.equal(await page.locator('link[rel="icon"]').getAttribute("href"), "/assets/favicon.svg");
  noErrors(page);
  await page.context().close();
});

test("the channel form offers no test plugin; the Plugins screen still lists it, marked", async () => {
  const page = await openAdmin("#channels");
  const plugins = await apiGet(page, "/plugins");
  const faulty = plugins.find((p) => p.name === "faulty");
  assert.ok(faulty, "the demo's plugin folder has the faulty test plugin (else this test proves nothing)");
  assert.equal(faulty.test_only, true);
  for (const name of ["apple", "facebook", "whatsapp", "x"]) {
    assert.equal(plugins.find((p) => p.name === name)?.test_only, false, `${name} is a real connector`);
  }

  const offered = await page.locator("#new-channel select[name=plugin] option").evaluateAll((os) => os.map((o) => o.value));
  assert.ok(offered.includes("facebook") && offered.includes("x"), `real plugins offered: ${offered}`);
  assert.ok(!offered.includes("faulty"), `the faulty test plugin is not offered: ${offered}`);

  await page.getByRole("tab", { name: "Plugins" }).click();
  const row = page.locator('tr[data-plugin="faulty"]');
  await row.waitFor();
  assert.match(await row.textContent(), /test only/);
  noErrors(page);
  await page.context().close();
});

test("the hosts a plugin calls are shown before a channel uses them: in the form and under Plugins", async () => {
  const page = await openAdmin("#channels");
  const form = page.locator("#new-channel");
  const declared = form.locator("#declared-hosts");
  await form.getByLabel("Plugin").selectOption("facebook");
  await waitFor(async () => /graph\.facebook\.com/.test(await declared.textContent()), "Facebook's hosts in the form");
  // The Graph API, then the CDN hosts the host downloads customers' files from.
  assert.match(await declared.textContent(), /^With Allowed hosts empty, this plugin calls: https:\/\/graph\.facebook\.com, .*fbcdn\.net.*\.$/);
  await form.getByLabel("Plugin").selectOption("x");
  await waitFor(async () => /api\.x\.com/.test(await declared.textContent()), "X's hosts once X is chosen");

  await page.getByRole("tab", { name: "Plugins" }).click();
  await page.getByRole("columnheader", { name: "Hosts it calls" }).waitFor();
  const row = page.locator('tr[data-plugin="facebook"]');
  assert.match(await row.locator("td[data-hosts]").textContent(), /^https:\/\/graph\.facebook\.com.*fbcdn\.net/);
  noErrors(page);
  await page.context().close();
});

test("yes/no settings are checkboxes and allowed hosts follow the base URL; a first channel polls", async () => {
  const page = await openAdmin("#channels");
  const form = page.locator("#new-channel");
  await form.getByLabel("Plugin").selectOption("x");
  // X's `use_stream` defaults to "false": a checkbox, not a text field.
  const stream = form.getByRole("checkbox", { name: "Use the filtered stream" });
  await stream.waitFor();
  assert.equal(await stream.isChecked(), false);
  assert.equal(await form.getByRole("textbox", { name: "Use the filtered stream" }).count(), 0, "no free-text yes/no field");

  // The base URL typed proposes its scheme://host:port in Allowed hosts.
  const hosts = form.getByLabel("Allowed hosts (one per line)");
  await form.getByLabel("X API URL").fill("https://api.example.org:8443/2/");
  assert.equal(await hosts.inputValue(), "https://api.example.org:8443");
  await form.getByLabel("X API URL").fill(emulator);
  assert.equal(await hosts.inputValue(), emulator);
  await shot(page, "admin-channel-form");

  // A first channel, with nothing typed in Allowed hosts, reaches the emulator and polls.
  await form.getByLabel("Name", { exact: true }).fill("x-first");
  await form.getByLabel("Ingest").selectOption("poll");
  await form.getByLabel("Poll interval (ms)").fill("1000");
  // The emulator knows the demo's handle and token.
  await form.getByLabel("X handles *").fill("acmehelp");
  await form.getByLabel("Keywords", { exact: true }).fill("acmefirst");
  await form.getByLabel("More secrets (name=value per line)").fill("token_acmehelp=demo-x-token-acmehelp\nconsumer_secret=demo-consumer-secret");
  await form.getByRole("button", { name: "Create channel" }).click();
  await page.locator('tr[data-channel="x-first"]').waitFor();
  const created = await apiGet(page, "/channels/x-first");
  assert.deepEqual(created.allowed_hosts, [emulator]);
  assert.equal(created.settings.use_stream, "false", "the checkbox is sent as false");
  await waitFor(async () => {
    await page.getByRole("tab", { name: "Channels" }).click();
    const text = await page.locator('tr[data-channel="x-first"]').textContent();
    return /Polling · last/.test(text) && !/Error/.test(text);
  }, "the first channel to poll without errors");

  // Once the administrator writes in Allowed hosts, the base URL no longer changes it.
  const fresh = page.locator("#new-channel");
  await fresh.getByLabel("Plugin").selectOption("x");
  await fresh.getByLabel("Allowed hosts (one per line)").fill("https://proxy.example.com");
  await fresh.getByLabel("X API URL").fill("https://api.example.org:8443/2");
  assert.equal(await fresh.getByLabel("Allowed hosts (one per line)").inputValue(), "https://proxy.example.com");

  // Editing keeps the checkbox's stored value.
  await page.locator('tr[data-channel="x-first"]').getByRole("button", { name: "Edit x-first" }).click();
  const edit = page.locator("#edit-channel");
  await edit.getByRole("checkbox", { name: "Use the filtered stream" }).waitFor();
  assert.equal(await edit.getByRole("checkbox", { name: "Use the filtered stream" }).isChecked(), false);
  noErrors(page);
  await page.context().close();
});

test("a channel that may not call its base URL says so in plain words, the detail folded away", async () => {
  const page = await openAdmin("#channels");
  const form = page.locator("#new-channel");
  await form.getByLabel("Plugin").selectOption("x");
  await form.getByLabel("Name", { exact: true }).fill("x-nohosts");
  await form.getByLabel("Ingest").selectOption("poll");
  await form.getByLabel("Poll interval (ms)").fill("1000");
  await form.getByLabel("X handles *").fill("acmehelp");
  await form.getByLabel("Keywords", { exact: true }).fill("nohosts");
  await form.getByLabel("X API URL").fill(emulator);
  // The administrator empties the proposal: the plugin keeps its own hosts (api.x.com).
  await form.getByLabel("Allowed hosts (one per line)").fill("");
  await form.getByLabel("More secrets (name=value per line)").fill("token_acmehelp=demo-x-token-acmehelp");
  await form.getByRole("button", { name: "Create channel" }).click();
  const row = page.locator('tr[data-channel="x-nohosts"]');
  await row.waitFor();
  const problem = await waitFor(async () => {
    await page.getByRole("tab", { name: "Channels" }).click();
    const box = page.locator('tr[data-channel="x-nohosts"] .channel-problem');
    return (await box.count()) ? box : null;
  }, "the channel's first poll to fail");
  const plain = await problem.locator("> div").first().textContent();
  assert.match(plain, new RegExp(`^The plugin may not call ${emulator.replace(/[.]/g, "\\.")}\\. Edit the channel and add it to Allowed hosts\\.`), plain);
  const detail = problem.locator("details");
  assert.equal(await detail.getAttribute("open"), null, "the technical text is folded away");
  assert.match(await detail.textContent(), /allowed_hosts/, "and still there for whoever needs it");
  await shot(page, "admin-channel-problem");
  noErrors(page);
  await page.context().close();
});

test("utilization says that call, callback, email, chat, work item and generic only count toward the share", async () => {
  const page = await openAdmin("#utilization");
  await page.locator("#other-types").waitFor();
  assert.match(await page.locator("#other-types").textContent(), /Call, callback, email, chat, work item and generic are the contact center's other interaction types/);
  for (const type of ["Call", "Callback", "Email", "Chat", "Work item", "Generic"]) {
    const row = page.locator("#admin-panel tbody tr").filter({ has: page.locator("td", { hasText: new RegExp(`^${type} · other type, counts toward the share only$`) }) });
    assert.ok(await row.count() > 0, `${type} is explained where it is listed`);
  }
  const social = page.locator("#admin-panel tbody td").filter({ hasText: /^Social conversation$/ });
  assert.ok(await social.count() > 0, "the social types carry no such note");
  await shot(page, "admin-utilization");
  noErrors(page);
  await page.context().close();
});

test("a refusal names the form's field, not the API's", async () => {
  const page = await openAdmin("#users");
  const form = page.locator("#new-user");
  await form.getByLabel("User name").fill("ann smith");
  await form.getByLabel("Password").fill("a-password");
  await form.getByRole("button", { name: "Create user" }).click();
  const note = page.locator("#toast .notice.bad");
  await note.waitFor();
  const text = await note.textContent();
  assert.match(text, /^User name: “ann smith” contains spaces/, text);
  assert.doesNotMatch(text, /username|`/, "no API field name, no code quotes");
  await shot(page, "admin-user-refused");
  await page.context().close();
});

test("the Workflows screen shows a refused save, a warning and a script failing while it runs, in plain words", async () => {
  // The demo's Facebook page runs the Facebook sample process.
  const file = join(workflowsDir, "facebook_bp.rhai");
  const spare = join(workflowsDir, "spare.rhai");
  const good = readFileSync(file, "utf8");
  try {
    const page = await openAdmin("#workflows");
    await page.getByText("None since the host started.").waitFor();
    // A helper that fails for one message: that message still reaches the queue, by the
    // channel's own route.
    const failing = good.replace("fn on_inbound(ix) {",
      "fn tier(ix) {\n    if ix.text.contains(\"boom\") { return 100 / 0; }\n    0\n}\n\nfn on_inbound(ix) {\n    let t = tier(ix);");
    writeFileSync(file, failing);
    const token = await page.evaluate(() => sessionStorage.getItem("switchboard.token"));
    const status = async () => (await fetch(`${base}/api/v1/workflows`, { headers: { authorization: `Bearer ${token}` } })).json();
    const loaded = (await status()).version;
    await waitFor(async () => (await status()).version > loaded, "the failing helper to load");
    await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Bo Oom", text: "boom, where is my parcel?" });
    await waitFor(async () => (await status()).runtime_errors.length > 0, "the failure to be recorded");
    // A save that would fail when it runs is refused; the version above keeps running.
    writeFileSync(file, failing.replace("let t = tier(ix);", "let t = tier(ix);\n    set_attr(ix, \"tier\");"));
    await waitFor(async () => (await status()).last_error, "the refused save");
    await page.getByRole("tab", { name: "Channels" }).click();
    await page.getByRole("tab", { name: "Workflows" }).click();
    const failures = page.locator("#runtime-errors");
    await failures.waitFor();
    const text = await failures.textContent();
    assert.match(text, /facebook_bp\.rhai: 1 failure/, text);
    assert.match(text, /facebook_bp\.rhai:\d+:\d+: Division by zero/, text);
    assert.match(text, /in `tier`, called from `on_inbound` at/, text);
    const refused = await page.locator("#admin-panel").textContent();
    assert.match(refused, /keeps running/, refused);
    assert.match(refused, /`set_attr` is called with 2 argument\(s\); it takes: set_attr\(map, string, any\)/, refused);
    await shot(page, "admin-workflow-failures");
    // A good save that names an agent nobody is: published, with a warning.
    writeFileSync(file, good);
    writeFileSync(spare, "fn on_inbound(ix) {\n    route(ix, #{ preferred_agent: \"agent9\" });\n}\n");
    await waitFor(async () => (await status()).warnings.length > 0, "the warning");
    await page.getByRole("tab", { name: "Channels" }).click();
    await page.getByRole("tab", { name: "Workflows" }).click();
    const warning = await page.locator("#workflow-warnings").textContent();
    assert.match(warning, /spare\.rhai:2:5: no user is named `agent9` \(yet\)/, warning);
    assert.match(warning, /did you mean `agent[12]`\?/, warning);
    await shot(page, "admin-workflow-warning");
    // Each version with what it changed; a script read as that version ran it.
    const newest = page.locator('table[aria-label="Workflow versions"] tbody tr').first();
    assert.match(await newest.textContent(), /spare\.rhai changed/);
    await newest.getByRole("button", { name: /^Read spare\.rhai of v\d+$/ }).click();
    await page.locator("#script-text pre").filter({ hasText: 'preferred_agent: "agent9"' }).waitFor();
    await shot(page, "admin-workflow-versions");
    noErrors(page);
    await page.context().close();
  } finally {
    writeFileSync(file, good);
    rmSync(spare, { force: true });
  }
});

test("the Cluster screen shows this host leading, its address, state and channels, and follows its heartbeat", async () => {
  const page = await openAdmin("#cluster");
  await page.locator("#admin-panel h2").filter({ hasText: "Cluster" }).waitFor();
  const status = await apiGet(page, "/cluster");
  assert.equal(status.leader, status.this_host, "the demo's one host leads");
  const row = page.locator(`tr[data-host="${status.this_host}"]`);
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /leader/);
  assert.match(text, /this host/);
  assert.match(text, /\bup\b/);
  assert.match(text, /facebook/, "the channels it runs");
  assert.ok(text.includes(new URL(base).host), `its address ${new URL(base).host} in: ${text}`);
  assert.match(await page.locator("#cluster-leader").innerText(), /this host/);
  // The screen follows the heartbeat without a reload: the host's start time stays, the
  // rows are drawn again (the lag is read afresh) every two seconds.
  const drawn = await row.elementHandle();
  await page.waitForFunction((el) => !el.isConnected, drawn, { timeout: 6000 });
  await page.locator(`tr[data-host="${status.this_host}"]`).waitFor();
  await shot(page, "admin-cluster");
  // Leaving the screen stops the redraws: another screen is not drawn over.
  await page.getByRole("tab", { name: "Plugins" }).click();
  await page.locator("#admin-panel h2").filter({ hasText: "Plugins" }).waitFor();
  await page.waitForTimeout(2500);
  assert.equal(await page.locator("#admin-panel h2").innerText(), "Plugins");
  noErrors(page);
  await page.context().close();
});

test("at 800 px no screen overflows the page and every header is whole", async () => {
  const page = await openAdmin("#channels");
  for (const screen of SCREENS) {
    await page.getByRole("tab", { name: screen }).click();
    await page.locator("#admin-panel h2").filter({ hasText: screen }).waitFor();
    const slug = screen.toLowerCase().replace(/[^a-z]+/g, "-");
    await noOverflowAt(page, 800, `admin-${slug}-800`);
    await page.setViewportSize({ width: 1366, height: 768 });
  }
  noErrors(page);
  await page.context().close();
});

test("users, workgroups and stations are edited in place; a password is reset and a user name stays", async () => {
  const page = await openAdmin("#users");
  const row = page.locator('tr[data-user="agent2"]');
  await row.getByRole("button", { name: "Edit agent2" }).click();
  const form = page.locator("tr.editing form");
  assert.equal(await form.getByLabel("User name").getAttribute("readonly"), "", "the user name cannot change");
  assert.equal(await form.getByLabel("Display name").inputValue(), "Blair Agent");
  await form.getByLabel("Display name").fill("Blair B. Agent");
  await form.getByLabel("New password (leave empty to keep it)").fill("a-new-password");
  await shot(page, "admin-user-edit");
  await form.getByRole("button", { name: "Save user" }).click();
  await page.getByText("User agent2 saved.").waitFor();
  await page.locator('tr[data-user="agent2"]', { hasText: "Blair B. Agent" }).waitFor();
  const login = async (password) => (await fetch(`${base}/api/v1/login`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "agent2", password }),
  })).status;
  assert.equal(await login("a-new-password"), 200, "the new password signs in");
  assert.equal(await login("demo"), 401, "the old one no longer does");
  const users = await apiGet(page, "/users");
  const blair = users.find((u) => u.username === "agent2");
  assert.deepEqual(blair.workgroups, ["Social"], "what the form showed is kept");
  // Put back for the other tests.
  await fetch(`${base}/api/v1/users/${blair.id}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${await page.evaluate(() => sessionStorage.getItem("switchboard.token"))}` },
    body: JSON.stringify({ display_name: "Blair Agent", password: "demo" }),
  });

  await page.getByRole("tab", { name: "Workgroups" }).click();
  await page.locator('tr[data-workgroup="Billing"]').getByRole("button", { name: "Edit Billing" }).click();
  const wg = page.locator("tr.editing form");
  assert.equal(await wg.getByLabel("Alert timeout (s)").inputValue(), "30");
  await wg.getByLabel("Alert timeout (s)").fill("45");
  await wg.getByRole("button", { name: "Save workgroup" }).click();
  await page.getByText("Workgroup Billing saved.").waitFor();
  await page.locator('tr[data-workgroup="Billing"]', { hasText: "45 s" }).waitFor();

  await page.getByRole("tab", { name: "Stations" }).click();
  await page.locator('tr[data-station="desk-2"]').getByRole("button", { name: "Edit desk-2" }).click();
  const st = page.locator("tr.editing form");
  await st.getByLabel("acd_whatsapp").check();
  await st.getByRole("button", { name: "Save station" }).click();
  await page.getByText("Station desk-2 saved.").waitFor();
  await page.locator('tr[data-station="desk-2"]', { hasText: "acd_whatsapp" }).waitFor();
  noErrors(page);
  await page.context().close();
});
