// The supervisor's page (`/supervisor`): the per-minute chart, the agent counts, the
// search's detail panel and date range, and the layout at 800 px.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test supervisor.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { useDemo, base, waitFor, emulatorPost, signIn, shot, noErrors, PAGE_ID } from "./harness.mjs";
import { noOverflowAt } from "./overflow.mjs";

useDemo();

async function openSupervisor() {
  const page = await signIn("super");
  await page.waitForURL(`${base}/supervisor`);
  await page.locator("#agents tbody tr").first().waitFor();
  return page;
}

async function token(page) {
  return page.evaluate(() => sessionStorage.getItem("switchboard.token"));
}

test("the favicon is an SVG the supervisor and administrator pages link", async () => {
  const res = await fetch(`${base}/assets/favicon.svg`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/svg+xml");
  assert.match(await res.text(), /^<svg /);
  for (const path of ["/supervisor", "/admin"]) {
    const html = await (await fetch(`${base}${path}`)).text();
    assert.match(html, /<link rel="icon" href="\/assets\/favicon.svg" type="image\/svg\+xml">/, path);
  }
});

test("the agent tiles count the same people as the Agents table: everyone with the agent right", async () => {
  const page = await openSupervisor();
  // Make the statuses differ, so a wrong tally cannot pass by accident.
  const agent = await signIn("agent1");
  await agent.waitForURL(`${base}/agent`);
  await agent.getByLabel("My status").selectOption("available");
  await page.locator('#agents tr[data-agent="agent1"][data-status="available"]').waitFor({ timeout: 10000 });

  const counts = await waitFor(async () => {
    const c = await page.evaluate(() => {
      const rows = [...document.querySelectorAll("#agents tbody tr")];
      const table = {};
      for (const r of rows) table[r.dataset.status] = (table[r.dataset.status] || 0) + 1;
      const tile = document.getElementById("tile-agents");
      const tiles = { available: Number(tile.querySelector(".value").textContent) };
      for (const li of tile.querySelectorAll("li[data-status]")) tiles[li.dataset.status] = Number(li.querySelector(".count").textContent);
      return { rows: rows.length, names: rows.map((r) => r.dataset.agent), table, tiles, label: tile.querySelector(".label").textContent };
    });
    // The two refresh together; retry until one refresh has landed in both.
    return c.tiles.available === (c.table.available || 0) ? c : null;
  }, "the tiles and the table to show one refresh");
  for (const status of ["available", "away", "not_responding", "logged_out"]) {
    assert.equal(counts.tiles[status] ?? "missing", counts.table[status] || 0, `${status}: tile and table agree (${JSON.stringify(counts)})`);
  }
  const tileTotal = Object.values(counts.tiles).reduce((a, b) => a + b, 0);
  assert.equal(tileTotal, counts.rows, "the tiles add up to the table's rows");
  assert.ok(!counts.names.includes("super"), `a supervisor without the agent right is not an agent: ${counts.names}`);
  assert.ok(counts.names.includes("agent1"));
  assert.match(counts.label, new RegExp(`of ${counts.rows} with the agent right`), "the tile says which people it counts");
  await shot(page, "supervisor-agents");
  noErrors(page);
  await page.context().close();
  await agent.context().close();
});

test("the chart has a time axis, whole-number labels and the container's aspect, at 1366 and 800 px", async () => {
  const page = await openSupervisor();
  for (let i = 0; i < 3; i++) {
    await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: `Chart Customer ${i}`, text: `Chart question ${i}` });
  }
  for (const width of [1366, 800]) {
    await page.setViewportSize({ width, height: 768 });
    const chart = await waitFor(async () => {
      const c = await page.evaluate(() => {
        const box = document.querySelector("#chart .chart-plot");
        const canvas = box?.querySelector("canvas");
        if (!canvas || !box.parentElement.chart) return null;
        const b = box.getBoundingClientRect();
        const r = canvas.getBoundingClientRect();
        return {
          box: [b.width, b.height], canvas: [r.width, r.height], labels: box.parentElement.chart.labels(),
          stretched: document.querySelectorAll('[preserveAspectRatio="none"]').length,
          name: box.getAttribute("aria-label"),
        };
      });
      // The new arrivals are in the scale once the highest value label is 3 or more.
      return c && c.labels.y.length && Number(c.labels.y.at(-1)) >= 3 && Math.abs(c.box[0] - c.canvas[0]) <= 1 ? c : null;
    }, `the chart at ${width} px to show the arrivals`);
    assert.equal(chart.stretched, 0, "nothing is drawn with preserveAspectRatio=none");
    assert.ok(Math.abs(chart.canvas[0] - chart.box[0]) <= 1 && Math.abs(chart.canvas[1] - chart.box[1]) <= 1,
      `the chart is drawn at its box's size (${chart.canvas} in ${chart.box}), so its aspect is the box's`);
    assert.ok(chart.box[0] / chart.box[1] > 2, `a wide chart: ${chart.box}`);
    // A time axis: several distinct clock times, in order, within the last hour.
    assert.ok(chart.labels.x.length >= 3, `time labels: ${chart.labels.x}`);
    for (const label of chart.labels.x) assert.match(label, /^\d{1,2}:\d{2}( ?[AP]M)?$/i, `a time of day: ${label}`);
    assert.equal(new Set(chart.labels.x).size, chart.labels.x.length, `distinct times: ${chart.labels.x}`);
    // Values: whole numbers, none repeated (no squashed or duplicated labels).
    for (const label of chart.labels.y) assert.match(label, /^\d+$/, `a whole number: ${label}`);
    assert.equal(new Set(chart.labels.y).size, chart.labels.y.length, `distinct values: ${chart.labels.y}`);
    assert.match(chart.name, /\d+ arrivals, \d+ answered/, "screen readers hear the totals");
  }
  await page.setViewportSize({ width: 1366, height: 768 });
  await shot(page, "supervisor-chart");
  noErrors(page);
  await page.context().close();
});

test("the page and its chart work under a Content-Security-Policy without inline script or style", async () => {
  const page = await signIn("super");
  const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'";
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await page.route(`${base}/supervisor`, async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, headers: { ...res.headers(), "content-security-policy": csp } });
  });
  await page.waitForURL(`${base}/supervisor`);
  await page.reload();
  await page.locator("#chart canvas").first().waitFor();
  await page.locator("#tile-agents").waitFor();
  assert.ok(await page.evaluate(() => Boolean(document.getElementById("chart").chart)), "the chart was built");
  assert.deepEqual(violations, [], "no CSP violation");
  noErrors(page);
  await page.context().close();
});

test("the detail panel closes when a new search leaves its interaction out", async () => {
  const page = await openSupervisor();
  const word = `kiwi${Date.now() % 100000}`;
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Dee Tail", text: `Do you sell ${word} jam?` });
  const search = page.locator("#search");
  await search.getByLabel("Text").fill(word);
  await waitFor(async () => {
    await search.getByRole("button", { name: "Search" }).click();
    return (await page.locator("#results tbody tr").count()) === 1;
  }, "the new comment to be found");
  await page.locator("#results tbody tr").getByRole("button").click();
  await page.locator("#detail .transcript").getByText(`Do you sell ${word} jam?`).waitFor();
  assert.equal(await page.locator("#results tbody tr[aria-current=true]").count(), 1, "the open result is marked");

  await search.getByLabel("Text").fill(`${word}-nothing-matches`);
  await search.getByRole("button", { name: "Search" }).click();
  await page.locator("#search-count").filter({ hasText: "0 interactions found" }).waitFor();
  await page.locator("#detail").waitFor({ state: "hidden" });
  assert.equal(await page.locator("#detail-body").textContent(), "", "the old transcript is gone");
  await shot(page, "supervisor-detail-cleared");
  noErrors(page);
  await page.context().close();
});

test("the detail panel traces an interaction: the workflow's decision and why nobody has it yet", async () => {
  const page = await openSupervisor();
  // Spanish: the Facebook sample process asks for the spanish skill, which no demo agent has.
  const word = `mango${Date.now() % 100000}`;
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Paz Ruiz", text: `Hola, necesito ayuda con mi pedido ${word}, gracias` });
  const search = page.locator("#search");
  await search.getByLabel("Text").fill(word);
  await waitFor(async () => {
    await search.getByRole("button", { name: "Search" }).click();
    return (await page.locator("#results tbody tr").count()) === 1;
  }, "the Spanish comment to be found");
  await page.locator("#results tbody tr").getByRole("button").click();
  const trace = page.locator("#trace");
  await trace.waitFor();
  const text = await trace.textContent();
  assert.match(text, /Workflow facebook_bp\.rhai, version \d+\./, text);
  assert.match(text, /Arrived and queued/, text);
  assert.match(text, /on_inbound: .*route workgroup=Social priority=\d+ skills="spanish"/, text);
  const now = await page.locator("#why-now").textContent();
  assert.match(now, /considered in Social/, now);
  assert.match(now, /lacks the skills|not available/, now);
  assert.doesNotMatch(now, /could go to/, "nobody can take it");
  await shot(page, "supervisor-trace");
  noErrors(page);
  await page.context().close();
});

test("an inverted date range is explained in dates, by the page and by the API", async () => {
  const page = await openSupervisor();
  const search = page.locator("#search");
  await page.locator("#search-count").filter({ hasText: "found" }).waitFor();
  const before = await page.locator("#search-count").textContent();
  await search.getByLabel("From").fill("2026-12-06T10:00");
  await search.getByLabel("To").fill("2026-12-06T09:30");
  await search.getByRole("button", { name: "Search" }).click();
  const note = page.locator("#search-range");
  await note.waitFor();
  const text = await note.textContent();
  assert.match(text, /^The start \(.*2026.*10:00.*\) is after the end \(.*9:30.*\)\. Pick a start before the end\.$/, text);
  assert.doesNotMatch(text, /\d{10,}/, "no epoch milliseconds");
  assert.equal(await search.getByLabel("From").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#search-count").textContent(), before, "no search was sent");
  await shot(page, "supervisor-date-range");

  // Fixing the range clears the message and searches.
  await search.getByLabel("To").fill("2026-12-06T11:00");
  await search.getByRole("button", { name: "Search" }).click();
  await note.waitFor({ state: "hidden" });

  // The API says the same in its error shape, for any other client.
  const from = Date.UTC(2026, 11, 6, 10, 0), to = Date.UTC(2026, 11, 6, 9, 30);
  const res = await fetch(`${base}/api/v1/interactions?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${await token(page)}` } });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.code, "inverted_range");
  assert.equal(body.error, "The start (6 Dec 2026 10:00 UTC) is after the end (6 Dec 2026 09:30 UTC). Pick a start before the end.");
  assert.equal(body.from, from);
  assert.equal(body.to, to);
  noErrors(page);
  await page.context().close();
});

test("at 800 px nothing overflows the page and every header is whole", async () => {
  const page = await openSupervisor();
  await page.locator("#results tbody tr").first().waitFor();
  await page.locator("#results tbody tr").first().getByRole("button").click();
  await page.locator("#detail .transcript").waitFor();
  await noOverflowAt(page, 800, "supervisor-800");
  await noOverflowAt(page, 1366, "supervisor");
  noErrors(page);
  await page.context().close();
});

test("the supervisor sets an agent's status from the Agents table, and the agent is told who did", async () => {
  const page = await openSupervisor();
  const agent = await signIn("agent2");
  await agent.waitForURL(`${base}/agent`);
  await agent.getByLabel("My status").selectOption("away");
  const row = page.locator('#agents tr[data-agent="agent2"]');
  await row.and(page.locator('[data-status="away"]')).waitFor();
  await row.getByLabel("Set the status of Blair Agent").selectOption("available");
  await page.getByText("Blair Agent is now Available.").waitFor();
  await page.locator('#agents tr[data-agent="agent2"][data-status="available"]').waitFor();
  await shot(page, "supervisor-set-status");
  // The agent's page follows, saying who changed it.
  await agent.locator("#status-note, .status-note").filter({ hasText: "Sam Supervisor set your status to Available" }).first().waitFor();
  assert.equal(await agent.getByLabel("My status").inputValue(), "available");
  await shot(agent, "agent-status-set-by-supervisor");
  // Logged out: the agent's menu shows it, not offered as a choice.
  await page.locator('#agents tr[data-agent="agent2"]').getByLabel("Set the status of Blair Agent").selectOption("logged_out");
  await page.locator('#agents tr[data-agent="agent2"][data-status="logged_out"]').waitFor();
  await agent.locator("#status-note, .status-note").filter({ hasText: "Logged out" }).first().waitFor();
  noErrors(page);
  noErrors(agent);
  await agent.getByLabel("My status").selectOption("away");
  await agent.context().close();
  await page.context().close();
});

test("search pages through more than 50 results", async () => {
  const page = await openSupervisor();
  const tag = `pager${Date.now().toString(36).slice(-5)}`;
  for (let i = 0; i < 55; i++) {
    await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: `Pat ${i}`, text: `${tag} number ${i}` });
  }
  const form = page.locator("#search");
  await form.getByLabel("Text").fill(tag);
  const count = page.locator("#search-count");
  await waitFor(async () => {
    await form.getByRole("button", { name: "Search" }).click();
    await page.waitForTimeout(300);
    return /^55 interactions found, showing 1–50\./.test(await count.textContent());
  }, "all 55 stored and found");
  assert.equal(await page.locator("#results tbody tr").count(), 50);
  assert.equal(await page.getByRole("button", { name: "Previous 50" }).isDisabled(), true);
  await page.getByRole("button", { name: "Next 50" }).click();
  await count.filter({ hasText: "showing 51–55" }).waitFor();
  assert.equal(await page.locator("#results tbody tr").count(), 5);
  assert.equal(await page.getByRole("button", { name: "Next 50" }).isDisabled(), true);
  assert.match(await page.locator("#search-page").textContent(), /Page 2 of 2/);
  await shot(page, "supervisor-search-page-2");
  await page.getByRole("button", { name: "Previous 50" }).click();
  await count.filter({ hasText: "showing 1–50" }).waitFor();
  noErrors(page);
  await page.context().close();
});

test("the supervisor closes a stuck conversation with a reason, and its agent is told", async () => {
  const agent = await signIn("agent1");
  await agent.waitForURL(`${base}/agent`);
  await agent.getByLabel("My status").selectOption("available");
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: `Stuck ${Date.now().toString(36).slice(-5)}`, text: "hello, still there?" });
  // Whatever is offered first (earlier tests may have left older ones waiting).
  const agentToken = await token(agent);
  const offered = await waitFor(async () => {
    const res = await fetch(`${base}/api/v1/me/interactions`, { headers: { authorization: `Bearer ${agentToken}` } });
    return (await res.json()).find((ix) => ix.state === "alerting");
  }, "an offer");
  const name = offered.customer_name;
  const offer = agent.locator("#my-list li.alerting", { hasText: name });
  await offer.waitFor({ timeout: 15000 });
  await offer.getByRole("button").click();
  await agent.getByRole("toolbar").getByRole("button", { name: "Pick up" }).click();
  await agent.locator("#current-state").filter({ hasText: "Connected" }).waitFor();

  const page = await openSupervisor();
  await page.locator("#search").getByLabel("Author").fill(name);
  await page.locator("#search").getByRole("button", { name: "Search" }).click();
  await page.locator("#results tbody tr", { hasText: name }).first().click();
  const form = page.getByRole("form", { name: "Close this conversation" });
  await form.getByRole("button", { name: "Close conversation" }).click();
  // A reason is required: the browser asks for it before anything is sent.
  assert.equal(await form.getByLabel("Why close it").evaluate((i) => i.validity.valueMissing), true);
  await form.getByLabel("Why close it").fill("the customer wrote again in a new thread");
  await form.getByRole("button", { name: "Close conversation" }).click();
  await page.getByText(/Interaction #\d+ closed\./).waitFor();
  await page.locator("#detail").getByText("Closed by a supervisor").waitFor();
  await page.locator("#detail").getByText("the customer wrote again in a new thread").waitFor();
  await shot(page, "supervisor-closed");
  await agent.getByText(new RegExp(`A supervisor closed the conversation from ${name}`)).waitFor();
  await shot(agent, "agent-conversation-closed");
  noErrors(page);
  noErrors(agent);
  await agent.getByLabel("My status").selectOption("away");
  await agent.context().close();
  await page.context().close();
});

test("the search downloads as CSV: every match, with the same filters", async () => {
  const word = `csvword${Date.now().toString(36)}`;
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: "Cass Vee", text: `about ${word}` });
  const page = await openSupervisor();
  await page.locator("#search").getByLabel("Text").fill(word.toUpperCase());
  await page.locator("#search").getByRole("button", { name: "Search" }).click();
  await page.locator("#search-count").filter({ hasText: "1 interaction found." }).waitFor();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download CSV" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "interactions.csv");
  const lines = readFileSync(await download.path(), "utf8").trim().split("\n");
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0], /^id,created_at,platform,channel/);
  assert.match(lines[1], new RegExp(`Cass Vee,.*about ${word}`));
  noErrors(page);
  await page.context().close();
});

test("the tiles drill down: waiting ones to the search, the longest to its detail", async () => {
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: `Tilly ${Date.now().toString(36)}`, text: "waiting here" });
  const page = await openSupervisor();
  const waiting = page.locator("#tile-waiting button.value");
  await waiting.waitFor();
  await waiting.click();
  assert.equal(await page.locator("#search-state").inputValue(), "queued");
  // The page's first search (everything) may still be shown: wait for the tile's.
  const states = () => page.locator("#results tbody tr td:last-child").allTextContents();
  await waitFor(async () => {
    const now = await states();
    return now.length >= 1 && now.every((t) => t === "Queued");
  }, "only queued interactions in the results");
  await page.locator("#tile-longest-conversation button.value").click();
  await page.locator("#detail:not(.hidden) .transcript").waitFor();
  await shot(page, "supervisor-tiles-drill-down");
  noErrors(page);
  await page.context().close();
});

test("the figures follow the event stream: an arrival shows within seconds, well before the 15 s read", async () => {
  const page = await openSupervisor();
  // Active, not waiting: an agent left available by an earlier test may be offered it.
  const active = page.locator("#tile-active-conversations .value");
  await active.waitFor();
  // Settle: the first read may still be on its way.
  await page.waitForTimeout(1000);
  const before = Number(await active.textContent());
  await emulatorPost("/_emulator/facebook/comments", { page_id: PAGE_ID, author_name: `Eve ${Date.now().toString(36)}`, text: "live please" });
  await waitFor(async () => Number(await active.textContent()) === before + 1, "the active tile to follow the arrival", 5000);
  noErrors(page);
  await page.context().close();
});
