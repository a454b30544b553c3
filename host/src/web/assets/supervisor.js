// The supervisor desktop: live tiles, the per-minute chart, workgroups and agents
// (refreshed every two seconds), and the interaction search with the full transcript.

import * as api from "/assets/api.js";
import { h, fill, duration, when, words, attempt, topBar, requireRight, platformName } from "/assets/ui.js";
import { transcript } from "/assets/transcript.js";

const REFRESH_MS = 2000;

async function start() {
  const me = await api.me();
  topBar(me, "/supervisor");
  if (!requireRight(me, ["supervisor", "social_media_admin"], document.querySelector("main"))) return;
  const dir = await api.get("/api/v1/directory");
  options("search-channel", dir.channels.map((c) => [c.name, `${c.name} (${platformName(c.platform)})`]));
  options("search-workgroup", dir.workgroups.map((w) => [w.name, w.name]));
  options("search-agent", dir.agents.map((a) => [a.username, a.display_name]));
  document.getElementById("search").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  document.getElementById("detail-close").addEventListener("click", () => document.getElementById("detail").classList.add("hidden"));
  await refresh();
  setInterval(refresh, REFRESH_MS);
  search();
}

function options(id, pairs) {
  document.getElementById(id).append(...pairs.map(([v, label]) => h("option", { value: v }, label)));
}

// ---- real time ----------------------------------------------------------------------------

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

function tile(id, label, value) {
  return h("div", { class: "tile", id, role: "group", "aria-label": label },
    h("div", { class: "value" }, value), h("div", { class: "label" }, label));
}

function tiles(s) {
  const waiting = s.workgroups.reduce((n, w) => n + w.waiting, 0);
  const longestWait = Math.max(0, ...s.workgroups.map((w) => w.longest_wait_ms));
  const a = s.agents_by_status;
  fill(
    document.getElementById("tiles"),
    tile("tile-active-conversations", "Active social conversations", s.conversations.active),
    tile("tile-longest-conversation", "Longest social conversation", s.conversations.active ? duration(s.conversations.longest_ms) : "–"),
    tile("tile-active-dms", "Active social direct messages", s.direct_messages.active),
    tile("tile-longest-dm", "Longest social direct message", s.direct_messages.active ? duration(s.direct_messages.longest_ms) : "–"),
    tile("tile-waiting", "Waiting in all queues", waiting),
    tile("tile-longest-wait", "Longest wait", waiting ? duration(longestWait) : "–"),
    tile("tile-agents", "Agents available / away / not responding",
      `${a.available ?? 0} / ${a.away ?? 0} / ${a.not_responding ?? 0}`),
  );
}

/** Bars of arrivals with a line of answered, per minute, the last hour. */
function chart(minutes) {
  const svg = document.getElementById("chart");
  const W = 600, H = 180, pad = 18;
  const max = Math.max(1, ...minutes.map((m) => Math.max(m.arrivals, m.answered)));
  const step = (W - pad) / minutes.length;
  const y = (v) => H - pad - (v / max) * (H - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const el = (tag, attrs) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const parts = [
    el("line", { x1: pad, y1: H - pad, x2: W, y2: H - pad, stroke: "#dfe3ea" }),
    Object.assign(el("text", { x: 0, y: pad, "font-size": 10, fill: "#5d6677" }), { textContent: max }),
    Object.assign(el("text", { x: 0, y: H - pad, "font-size": 10, fill: "#5d6677" }), { textContent: 0 }),
  ];
  minutes.forEach((m, i) => {
    const x = pad + i * step;
    const bar = el("rect", { x: x + 1, y: y(m.arrivals), width: Math.max(1, step - 2), height: H - pad - y(m.arrivals), fill: "#2f5bd3", opacity: 0.75 });
    bar.append(Object.assign(el("title", {}), { textContent: `${new Date(m.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: ${m.arrivals} arrived, ${m.answered} answered` }));
    parts.push(bar);
  });
  const points = minutes.map((m, i) => `${pad + i * step + step / 2},${y(m.answered)}`).join(" ");
  parts.push(el("polyline", { points, fill: "none", stroke: "#1c7c3a", "stroke-width": 2 }));
  svg.replaceChildren(...parts);
  const total = minutes.reduce((n, m) => n + m.arrivals, 0);
  const answered = minutes.reduce((n, m) => n + m.answered, 0);
  svg.setAttribute("aria-description", `${total} arrivals and ${answered} answered in the last hour`);
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

function agentTable(agents) {
  fill(
    document.querySelector("#agents tbody"),
    agents.map((a) =>
      h("tr", {},
        h("td", {}, a.display_name, h("span", { class: "muted small" }, ` ${a.username}`)),
        h("td", {}, h("span", { class: `badge ${a.status}` }, words(a.status))),
        h("td", {}, a.station || "–"),
        h("td", { class: "num" }, a.interactions.length),
        h("td", { class: "num" }, `${a.utilization_used} %`),
      )),
  );
}

// ---- search -------------------------------------------------------------------------------

async function search() {
  const form = new FormData(document.getElementById("search"));
  const query = new URLSearchParams();
  for (const [k, v] of form.entries()) {
    if (!v) continue;
    query.set(k, k === "from" || k === "to" ? String(new Date(v).getTime()) : v);
  }
  const res = await attempt(() => api.get(`/api/v1/interactions?${query}`));
  if (!res) return;
  document.getElementById("search-count").textContent =
    `${res.total} interaction${res.total === 1 ? "" : "s"} found${res.total > res.items.length ? `, showing ${res.items.length}` : ""}.`;
  fill(
    document.querySelector("#results tbody"),
    res.items.map((ix) =>
      h("tr", { class: "clickable", dataset: { id: ix.id }, onclick: () => detail(ix.id) },
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
}

async function detail(id) {
  const d = await attempt(() => api.get(`/api/v1/interactions/${id}`));
  if (!d) return;
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
    transcript(d),
  );
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
}

start();
