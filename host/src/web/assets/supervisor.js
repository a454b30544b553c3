// The supervisor desktop: live tiles, the per-minute chart, workgroups and agents (read
// again when the server's event stream says they changed), and the interaction search
// with the full transcript.

import * as api from "/assets/api.js";
import { h, fill, duration, when, words, attempt, toast, topBar, requireRight, platformName } from "/assets/ui.js";
import { transcript } from "/assets/transcript.js";
import { timeChart } from "/assets/chart.js";

/** The live figures are read again when the server says they changed (a `figures` event),
 *  and at least this often, so the growing waits and durations stay current. */
const REFRESH_MS = 15000;

/** Who is signed in, and the directory (agents, workgroups), once loaded. */
let me = null;
let dir = { agents: [], workgroups: [] };

async function start() {
  me = await api.me();
  topBar(me, "/supervisor");
  if (!requireRight(me, ["supervisor", "social_media_admin"], document.querySelector("main"))) return;
  dir = await api.get("/api/v1/directory");
  options("search-channel", dir.channels.map((c) => [c.name, `${c.name} (${platformName(c.platform)})`]));
  options("search-workgroup", dir.workgroups.map((w) => [w.name, w.name]));
  options("search-agent", dir.agents.map((a) => [a.username, a.display_name]));
  document.getElementById("search").addEventListener("submit", (e) => { e.preventDefault(); search(0); });
  document.getElementById("search-prev").addEventListener("click", () => search(searchPage - 1));
  document.getElementById("search-next").addEventListener("click", () => search(searchPage + 1));
  document.getElementById("search-csv").addEventListener("click", searchCsv);
  for (const id of ["search-from", "search-to"]) document.getElementById(id).addEventListener("change", rangeIsValid);
  document.getElementById("detail-close").addEventListener("click", closeDetail);
  await refresh();
  // The server says when the figures change; a burst of changes is one event.
  api.listen({ figures: refreshSoon }, refreshSoon);
  setInterval(refreshSoon, REFRESH_MS);
  search();
}

function options(id, pairs) {
  document.getElementById(id).append(...pairs.map(([v, label]) => h("option", { value: v }, label)));
}

// ---- real time ----------------------------------------------------------------------------

/** Reads the figures again; a request for it during a read asks for one more after. */
let refreshing = null;
let again = false;
function refreshSoon() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      await refresh();
    } while (again);
  })().finally(() => { refreshing = null; });
  return refreshing;
}

async function refresh() {
  const [stats, agents] = await Promise.all([
    attempt(() => api.get("/api/v1/stats/realtime")),
    attempt(() => api.get("/api/v1/agents")),
  ]);
  if (stats) {
    tiles(stats);
    chart(stats.per_minute);
    workgroups(stats.workgroups);
    document.getElementById("rt-updated").textContent = `Updated ${new Date(stats.now).toLocaleTimeString()}`;
  }
  if (agents) agentTable(agents);
}

/** A tile; with `drill`, its number is a button that shows the interactions behind it. */
function tile(id, label, value, drill, ...more) {
  const shown = drill
    ? h("button", { class: "value link", "aria-label": `${label}: ${value}. Show them`, onclick: drill }, value)
    : h("div", { class: "value" }, value);
  return h("div", { class: "tile", id, role: "group", "aria-label": label },
    shown, h("div", { class: "label" }, label), more);
}

/** Runs the search with only `filters` set (the rest cleared), and brings it into view. */
function searchFor(filters) {
  const form = document.getElementById("search");
  form.reset();
  for (const [name, value] of Object.entries(filters)) form.elements[name].value = value;
  search(0);
  document.getElementById("search-title").scrollIntoView({ behavior: "smooth", block: "start" });
}

/** The agent statuses the tiles and the table both show, in this order. */
const STATUSES = [["available", "available"], ["away", "away"], ["not_responding", "not responding"], ["logged_out", "logged out"]];

function tiles(s) {
  const waiting = s.workgroups.reduce((n, w) => n + w.waiting, 0);
  const longestWait = Math.max(0, ...s.workgroups.map((w) => w.longest_wait_ms));
  const a = s.agents_by_status;
  const agents = STATUSES.reduce((n, [k]) => n + (a[k] ?? 0), 0);
  fill(
    document.getElementById("tiles"),
    tile("tile-active-conversations", "Active social conversations", s.conversations.active,
      s.conversations.active ? () => searchFor({ media_type: "social_conversation", state: "active" }) : null),
    tile("tile-longest-conversation", "Longest social conversation", s.conversations.active ? duration(s.conversations.longest_ms) : "–",
      s.conversations.longest_id ? () => detail(s.conversations.longest_id) : null),
    tile("tile-active-dms", "Active social direct messages", s.direct_messages.active,
      s.direct_messages.active ? () => searchFor({ media_type: "social_direct_message", state: "active" }) : null),
    tile("tile-longest-dm", "Longest social direct message", s.direct_messages.active ? duration(s.direct_messages.longest_ms) : "–",
      s.direct_messages.longest_id ? () => detail(s.direct_messages.longest_id) : null),
    tile("tile-waiting", "Waiting in all queues", waiting, waiting ? () => searchFor({ state: "queued" }) : null),
    tile("tile-longest-wait", "Longest wait", waiting ? duration(longestWait) : "–", waiting ? () => searchFor({ state: "queued" }) : null),
    // The same people as the Agents table: everyone with the agent right.
    tile("tile-agents", `Agents available, of ${agents} with the agent right`, a.available ?? 0,
      () => document.getElementById("agents-title").scrollIntoView({ behavior: "smooth", block: "start" }),
      h("ul", { class: "breakdown small" }, STATUSES.slice(1).map(([k, label]) =>
        h("li", { dataset: { status: k } }, h("span", { class: "count" }, a[k] ?? 0), ` ${label}`)))),
  );
}

let arrivalsChart;

/** Arrivals (bars) and answered (line) per minute over the last hour. */
function chart(minutes) {
  arrivalsChart ||= timeChart(document.getElementById("chart"), {
    label: "Arrivals and answered per minute, last hour",
    series: [
      { name: "Arrivals", color: "#2f5bd3", kind: "bars" },
      { name: "Answered", color: "#1c7c3a", kind: "line" },
    ],
    step: 60_000,
  });
  arrivalsChart.update(minutes.map((m) => m.minute), [minutes.map((m) => m.arrivals), minutes.map((m) => m.answered)]);
}

function workgroups(rows) {
  fill(
    document.querySelector("#workgroups tbody"),
    rows.map((w) =>
      h("tr", { dataset: { workgroup: w.workgroup } },
        h("td", {}, w.workgroup),
        h("td", { class: "num" }, w.waiting),
        h("td", { class: "num" }, w.waiting ? duration(w.longest_wait_ms) : "–"),
        h("td", { class: "num" }, w.service_level_percent == null ? "–" : `${w.service_level_percent.toFixed(0)} %`,
          h("span", { class: "muted small" }, ` (${w.sl_target_s}s)`)),
        h("td", { class: "num" }, w.answered),
        h("td", { class: "num" }, w.abandoned),
      )),
  );
}

const SETTABLE = [["available", "Available"], ["away", "Away"], ["logged_out", "Logged out"]];

function agentTable(agents) {
  const body = document.querySelector("#agents tbody");
  // Not redrawn under the supervisor's hand: a status being chosen stays open.
  if (body.contains(document.activeElement) && document.activeElement.tagName === "SELECT") return;
  fill(
    body,
    agents.map((a) =>
      h("tr", { dataset: { agent: a.username, status: a.status } },
        h("td", {}, a.display_name, h("span", { class: "muted small" }, ` ${a.username}`)),
        h("td", {}, h("span", { class: `badge ${a.status}` }, words(a.status))),
        h("td", {}, a.station || "–"),
        h("td", { class: "num" }, a.interactions.length),
        h("td", { class: "num" }, `${a.utilization_used} %`),
        h("td", {}, h("select", {
          "aria-label": `Set the status of ${a.display_name}`,
          onchange: (e) => setAgentStatus(a, e.target),
        },
        h("option", { value: "" }, "Change…"),
        SETTABLE.filter(([s]) => s !== a.status).map(([s, label]) => h("option", { value: s }, label)))),
      )),
  );
}

/** Sets an agent's status for them; the agent's desktop says who did it. */
async function setAgentStatus(agent, select) {
  const status = select.value;
  if (!status) return;
  const label = SETTABLE.find(([s]) => s === status)[1];
  const done = await attempt(() => api.put(`/api/v1/agents/${encodeURIComponent(agent.username)}/status`, { status }));
  select.blur();
  if (done) toast(`${agent.display_name} is now ${label}.`);
  refreshSoon();
}

// ---- search -------------------------------------------------------------------------------

/** A local date and time as people write it: `6 Dec 2026, 10:00`. */
function longWhen(ms) {
  return new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

/** Says so (and returns false) when the date range ends before it starts. */
function rangeIsValid() {
  const from = document.getElementById("search-from");
  const to = document.getElementById("search-to");
  const note = document.getElementById("search-range");
  const start = from.value && new Date(from.value).getTime();
  const end = to.value && new Date(to.value).getTime();
  const bad = Boolean(start && end && start > end);
  for (const input of [from, to]) input.setAttribute("aria-invalid", String(bad));
  note.classList.toggle("hidden", !bad);
  note.textContent = bad
    ? `The start (${longWhen(start)}) is after the end (${longWhen(end)}). Pick a start before the end.`
    : "";
  return !bad;
}

/** The interaction open in the detail panel, if any. */
let openId = null;

/** Results a page. */
const PAGE = 50;
/** The page of results shown, from 0. */
let searchPage = 0;

/** The search form as a query (dates as the browser's local times, in unix ms). */
function searchQuery() {
  const form = new FormData(document.getElementById("search"));
  const query = new URLSearchParams();
  for (const [k, v] of form.entries()) {
    if (!v) continue;
    query.set(k, k === "from" || k === "to" ? String(new Date(v).getTime()) : v);
  }
  return query;
}

/** Every match of the form's search, as a CSV file. */
async function searchCsv() {
  if (!rangeIsValid()) return;
  const query = searchQuery();
  query.set("format", "csv");
  try {
    const name = await api.download(`/api/v1/interactions?${query}`, "interactions.csv");
    toast(`Downloaded ${name}.`);
  } catch (e) {
    toast(e.message, "bad");
  }
}

async function search(page = 0) {
  if (!rangeIsValid()) return;
  const query = searchQuery();
  query.set("limit", String(PAGE));
  query.set("offset", String(Math.max(0, page) * PAGE));
  const res = await attempt(() => api.get(`/api/v1/interactions?${query}`));
  if (!res) return;
  searchPage = Math.max(0, page);
  const first = searchPage * PAGE + 1;
  const last = searchPage * PAGE + res.items.length;
  document.getElementById("search-count").textContent = res.total > PAGE
    ? `${res.total} interactions found, showing ${first}–${last}.`
    : `${res.total} interaction${res.total === 1 ? "" : "s"} found.`;
  document.getElementById("search-pager").classList.toggle("hidden", res.total <= PAGE);
  document.getElementById("search-prev").disabled = searchPage === 0;
  document.getElementById("search-next").disabled = last >= res.total;
  document.getElementById("search-page").textContent =
    `Page ${searchPage + 1} of ${Math.ceil(res.total / PAGE)}`;
  fill(
    document.querySelector("#results tbody"),
    res.items.map((ix) =>
      h("tr", { class: "clickable", dataset: { id: ix.id }, "aria-current": ix.id === openId ? "true" : null, onclick: () => detail(ix.id) },
        h("td", {}, h("button", { "aria-label": `Open interaction ${ix.id}`, onclick: (e) => { e.stopPropagation(); detail(ix.id); } }, `#${ix.id}`)),
        h("td", {}, when(ix.created_at)),
        h("td", {}, platformName(ix.platform)),
        h("td", {}, words(ix.media_type)),
        h("td", {}, ix.customer_name),
        h("td", { class: "small" }, ix.preview || ""),
        h("td", {}, ix.workgroup),
        h("td", {}, ix.assigned_to || "–"),
        h("td", {}, h("span", { class: `badge ${ix.state}` }, words(ix.state))),
      )),
  );
  // The panel shows one of the results, or nothing: an interaction the new search left
  // out would look like part of it.
  if (openId !== null && !res.items.some((ix) => ix.id === openId)) closeDetail();
}

function closeDetail() {
  openId = null;
  document.getElementById("detail").classList.add("hidden");
  fill(document.getElementById("detail-body"));
  for (const row of document.querySelectorAll("#results tr[aria-current]")) row.removeAttribute("aria-current");
}

async function detail(id) {
  const [d, trace] = await Promise.all([
    attempt(() => api.get(`/api/v1/interactions/${id}`)),
    attempt(() => api.get(`/api/v1/interactions/${id}/trace`)),
  ]);
  if (!d) return;
  openId = d.id;
  for (const row of document.querySelectorAll("#results tbody tr")) {
    if (Number(row.dataset.id) === d.id) row.setAttribute("aria-current", "true");
    else row.removeAttribute("aria-current");
  }
  const panel = document.getElementById("detail");
  panel.classList.remove("hidden");
  document.getElementById("detail-title").textContent = `Interaction #${d.id}`;
  const facts = [
    ["Platform", platformName(d.platform)], ["Media type", words(d.media_type)], ["Channel", d.channel],
    ["Workgroup", d.workgroup], ["State", words(d.state)], ["Agent", d.assigned_to || "–"],
    ["Customer", `${d.customer.name}${d.customer.handle ? ` @${d.customer.handle}` : ""}`],
    ["Created", when(d.created_at)], ["Answered", d.answered_at ? when(d.answered_at) : "–"],
    ["Wrap-up", d.wrapup_code || "–"],
    ...Object.entries(d.attributes || {}),
  ];
  fill(
    document.getElementById("detail-body"),
    h("dl", { class: "attrs" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    ["queued", "alerting", "connected", "held"].includes(d.state) ? moveForm(d) : null,
    ["queued", "alerting", "connected", "held"].includes(d.state) ? closeForm(d) : null,
    trace ? traceView(trace) : null,
    transcript(d),
  );
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
}

/**
 * Moves a stuck interaction to an agent (offered to them first; they must be available),
 * to a workgroup, or to the supervisor (Take over), saying why (kept in its history, and
 * shown to whoever receives it as the note).
 */
function moveForm(d) {
  const to = h("select", { name: "to", "aria-label": "Move to" },
    h("optgroup", { label: "Agents" }, dir.agents.filter((a) => a.username !== d.assigned_to)
      .map((a) => h("option", { value: `user:${a.username}` }, a.display_name))),
    h("optgroup", { label: "Workgroups" }, dir.workgroups.map((w) => h("option", { value: `group:${w.name}` }, w.name))));
  const reason = h("input", { name: "reason", required: true, maxlength: 500, placeholder: "e.g. the agent is in a meeting" });
  const send = async (body, done) => {
    const moved = await attempt(() => api.post(`/api/v1/supervisor/interactions/${d.id}/reassign`, { ...body, reason: reason.value }));
    if (!moved) return;
    toast(done);
    await detail(d.id);
    search(searchPage);
  };
  const canTake = me?.rights?.includes("agent") && d.assigned_to !== me.username;
  return h("form", { class: "row move-form", "aria-label": "Move this conversation", onsubmit: (e) => {
    e.preventDefault();
    const [kind, name] = to.value.split(/:(.*)/s);
    send(kind === "user" ? { to_user: name } : { to_workgroup: name }, `Interaction #${d.id} moved.`);
  } },
  h("label", {}, "Move to ", to),
  h("label", {}, "Why ", reason),
  h("button", {}, "Move"),
  canTake ? h("button", { type: "button", onclick: () => {
    if (!reason.reportValidity()) return;
    send({ to_user: me.username }, `Interaction #${d.id} is offered to you on the agent page.`);
  } }, "Take over") : null);
}

/** Ends a stuck interaction, saying why (kept in its history; its agent is told). */
function closeForm(d) {
  const reason = h("input", { name: "reason", required: true, maxlength: 500, placeholder: "e.g. the customer wrote again in another thread" });
  return h("form", { class: "row close-form", "aria-label": "Close this conversation", onsubmit: async (e) => {
    e.preventDefault();
    const closed = await attempt(() => api.post(`/api/v1/supervisor/interactions/${d.id}/close`, { reason: reason.value }));
    if (!closed) return;
    toast(`Interaction #${d.id} closed.`);
    await detail(d.id);
    search(searchPage);
  } },
  h("label", {}, "Why close it ", reason),
  h("button", { class: "danger" }, "Close conversation"));
}

// ---- the trace: why it went where it went ------------------------------------------------------

/** What each recorded event means, in the supervisor's words. */
const EVENT_WORDS = {
  created: "Arrived and queued", message: "Another message joined", buffered: "Held by the workflow",
  released: "Released to the queue", workflow: "Workflow decided", waiting: "Queued: nobody offered yet",
  offered: "Offered", declined: "Declined", alert_timeout: "Offer not picked up in time", picked_up: "Picked up",
  held: "Put on hold", resumed: "Resumed", transferred: "Transferred", rerouted: "Re-routed by the workflow",
  reprioritized: "Priority raised", merged: "Merged", stopped: "Stopped by the workflow",
  workflow_fallback: "Workflow failed: channel's route taken", disconnected: "Ended", abandoned: "Abandoned by the customer",
  closed_by_supervisor: "Closed by a supervisor", reassigned_by_supervisor: "Moved by a supervisor",
  wrapup: "Wrapped up",
};

/** "3 not available (agent1, agent2, …)" for each reason an explanation gives. */
function passedOver(why) {
  const lines = why.passed_over.map((p) => {
    const more = p.count > p.agents.length ? ", …" : "";
    return h("li", { dataset: { reason: p.reason } }, `${p.count} ${p.words}`, p.agents.length ? ` (${p.agents.join(", ")}${more})` : "");
  });
  const head = [`${why.considered} considered in ${why.workgroup}`];
  if (why.preferred_agent) head.push(`waits for ${why.preferred_agent} first${why.preferred_until ? ` until ${when(why.preferred_until)}` : ""}`);
  if (why.eligible.length) head.push(`could go to ${why.eligible.join(", ")}`);
  return h("div", { class: "why" }, h("p", { class: "small" }, head.join(" · ")), lines.length ? h("ul", { class: "plain small" }, ...lines) : null);
}

function traceView(t) {
  const rows = t.timeline.map((e) => h("li", { dataset: { kind: e.kind } },
    h("span", { class: "small muted" }, when(e.at)), " ",
    h("strong", {}, EVENT_WORDS[e.kind] || words(e.kind)),
    e.user ? ` · ${e.user}` : "",
    e.detail ? h("div", { class: "small wrap" }, e.detail) : null,
    e.why ? passedOver(e.why) : null));
  return h("section", { id: "trace", "aria-label": "Trace" },
    h("h3", {}, "Why it went where it went"),
    h("p", { class: "small muted" }, `Workflow ${t.script || "–"}, version ${t.workflow_version}.`),
    t.now ? h("div", { class: "notice warn", id: "why-now" }, h("p", {}, h("strong", {}, "Waiting now: ")), passedOver(t.now)) : null,
    h("ol", { class: "timeline plain" }, ...rows));
}

start();
