// Historical reports: a period per workgroup, agent, channel, platform or media type, cut
// into intervals in the organisation's time zone; charts, totals, each interval, the
// interactions behind any figure (each opening with its transcript), and the CSV export.

import * as api from "/assets/api.js";
import { h, fill, when, words, attempt, toast, topBar, requireRight, platformName } from "/assets/ui.js";
import { transcript } from "/assets/transcript.js";
import { timeChart, barChart } from "/assets/chart.js";

/** The figures of the tables, in order: [field, heading, drill-down figure or null, format]. */
const COLUMNS = [
  ["arrivals", "Arrivals", "arrivals"],
  ["answered", "Answered", "answered"],
  ["abandoned", "Abandoned", "abandoned"],
  ["answered_in_target", "In target", "answered_in_target"],
  ["service_level_percent", "Service level", null, percent],
  ["average_wait_s", "Avg wait", null, seconds],
  ["longest_wait_s", "Longest wait", null, seconds],
  ["average_speed_of_answer_s", "Avg speed of answer", null, seconds],
  ["average_handle_s", "Avg handle", null, seconds],
  ["average_connected_s", "Avg connected", null, seconds],
  ["average_held_s", "Avg held", null, seconds],
  ["average_wrapup_s", "Avg wrap-up", null, seconds],
  ["transfers_in", "Transfers in", "transfers_in"],
  ["transfers_out", "Transfers out", "transfers_out"],
];
const AGENT_COLUMNS = [
  ["occupancy_percent", "Occupancy", null, percent],
  ["status_s.available", "Available", null, hours],
  ["status_s.away", "Away", null, hours],
  ["status_s.not_responding", "Not responding", null, hours],
];

const FIGURE_WORDS = {
  arrivals: "arrivals", answered: "answered", abandoned: "abandoned", answered_in_target: "answered in target",
  transfers_in: "transfers in", transfers_out: "transfers out",
};

function percent(v) { return v == null ? "–" : `${v} %`; }
function seconds(v) {
  if (v == null) return "–";
  if (v < 60) return `${v} s`;
  const m = Math.floor(v / 60);
  return m < 60 ? `${m} min ${Math.round(v % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
function hours(v) { return v == null ? "–" : `${(v / 3600).toFixed(1)} h`; }
function field(f, name) { return name.split(".").reduce((o, k) => (o == null ? o : o[k]), f); }

/** A date input's value for a Date, in the browser's calendar. */
function dateValue(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}
function nextDay(value) {
  const d = new Date(`${value}T12:00:00`);
  d.setDate(d.getDate() + 1);
  return dateValue(d);
}

/** The report shown, and what it was asked with. */
let shown = null;

async function start() {
  const me = await api.me();
  topBar(me, "/reports");
  if (!requireRight(me, ["supervisor", "social_media_admin"], document.querySelector("main"))) return;
  const today = new Date();
  const weekAgo = new Date(today);
  weekAgo.setDate(today.getDate() - 6);
  document.getElementById("report-from").value = dateValue(weekAgo);
  document.getElementById("report-to").value = dateValue(today);
  document.getElementById("report-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  document.getElementById("report-csv").addEventListener("click", csv);
  document.getElementById("intervals-key").addEventListener("change", intervalsTable);
  document.getElementById("drill-close").addEventListener("click", () => hide("drill"));
  document.getElementById("detail-close").addEventListener("click", () => hide("detail"));
  load();
}

function hide(id) {
  document.getElementById(id).classList.add("hidden");
}

/** The query for the form, or null (with the reason shown) when it cannot be asked. */
function query(format) {
  const form = document.getElementById("report-form");
  const from = form.from.value;
  const to = form.to.value;
  const note = document.getElementById("report-error");
  let problem = "";
  if (!from || !to) problem = "Choose both dates.";
  else if (from > to) problem = `The start (${from}) is after the end (${to}). Pick a start before the end.`;
  for (const input of [form.from, form.to]) input.setAttribute("aria-invalid", String(Boolean(problem)));
  note.textContent = problem;
  note.classList.toggle("hidden", !problem);
  if (problem) return null;
  // Dates alone: the server reads them as midnight in the organisation's time zone.
  const q = new URLSearchParams({ from, to: nextDay(to), interval: form.interval.value });
  if (format) q.set("format", format);
  return { dimension: form.dimension.value, q };
}

async function load() {
  const asked = query();
  if (!asked) return;
  let report;
  try {
    report = await api.get(`/api/v1/reports/${asked.dimension}?${asked.q}`);
  } catch (e) {
    const note = document.getElementById("report-error");
    note.textContent = e.message;
    note.classList.remove("hidden");
    return;
  }
  shown = { report, asked };
  document.getElementById("report-zone").textContent =
    `${report.intervals.length} interval${report.intervals.length === 1 ? "" : "s"} of ${intervalWords(report.interval)}, in the organisation's time zone (${report.time_zone}).`;
  charts(report);
  totalsTable(report);
  const keys = document.getElementById("intervals-key");
  const was = keys.value;
  fill(keys, h("option", { value: "" }, "Everything"), report.totals.map((t) => h("option", { value: t.key }, label(report, t.key))));
  keys.value = report.totals.some((t) => t.key === was) ? was : "";
  intervalsTable();
}

function intervalWords(i) {
  return { "15m": "15 minutes", hour: "an hour", day: "a day", week: "a week" }[i] || i;
}

function label(report, key) {
  if (report.dimension === "platforms") return platformName(key);
  if (report.dimension === "media-types") return words(key);
  return key;
}

/** How an interval's start is written: dates for days and weeks, times for shorter ones. */
function timeWords(report) {
  const long = report.interval === "day" || report.interval === "week";
  const zone = report.time_zone;
  return (ms) => new Date(ms).toLocaleString([], long
    ? { month: "short", day: "numeric", timeZone: zone }
    : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZone: zone });
}

/** Per interval: every key's figures added up (or one key's, when one is chosen). */
function perInterval(report, key) {
  const by = new Map(report.intervals.map((i) => [i.start, []]));
  for (const row of report.rows) if (!key || row.key === key) by.get(row.interval)?.push(row);
  return report.intervals.map((i) => {
    const rows = by.get(i.start);
    const sum = (name) => rows.reduce((n, r) => n + (field(r, name) || 0), 0);
    const answered = sum("answered");
    const offered = answered + sum("abandoned");
    return {
      start: i.start,
      arrivals: sum("arrivals"),
      answered,
      abandoned: sum("abandoned"),
      sl: offered ? Math.round((1000 * sum("answered_in_target")) / offered) / 10 : null,
      available: sum("status_s.available") / 3600,
      away: sum("status_s.away") / 3600,
      not_responding: sum("status_s.not_responding") / 3600,
    };
  });
}

const charted = {};

function charts(report) {
  const time = timeWords(report);
  const points = perInterval(report, "");
  const times = points.map((p) => p.start);
  const step = times.length > 1 ? times[1] - times[0] : 86_400_000;
  for (const c of Object.values(charted)) c.destroy();
  charted.volume = timeChart(document.getElementById("chart-volume"), {
    label: "Volume per interval",
    series: [
      { name: "Arrivals", color: "#2f5bd3", kind: "bars" },
      { name: "Answered", color: "#1c7c3a", kind: "line" },
      { name: "Abandoned", color: "#b3261e", kind: "line" },
    ],
    step, time,
  });
  charted.volume.update(times, [points.map((p) => p.arrivals), points.map((p) => p.answered), points.map((p) => p.abandoned)]);
  charted.sl = timeChart(document.getElementById("chart-sl"), {
    label: "Service level per interval",
    series: [{ name: "Service level", color: "#1c7c3a", kind: "line", points: true }],
    step, time, yMax: 100, unit: " %",
    summary: () => `Service level per interval; over the period ${percent(report.overall.service_level_percent)}.`,
  });
  charted.sl.update(times, [points.map((p) => p.sl)]);
  charted.waits = barChart(document.getElementById("chart-waits"), {
    label: "Waits by length", name: "Waits", color: "#2f5bd3",
  });
  const bands = report.overall.waits_by_length;
  const names = bands.map((b, i) => (b.up_to_s == null ? `> ${bandWords(bands[i - 1].up_to_s)}` : `≤ ${bandWords(b.up_to_s)}`));
  charted.waits.update(names, bands.map((b) => b.count));
  const agents = report.dimension === "agents";
  document.getElementById("status-panel").classList.toggle("hidden", !agents);
  if (agents) {
    charted.status = timeChart(document.getElementById("chart-status"), {
      label: "Agent status time per interval, hours",
      series: [
        { name: "Available", color: "#1c7c3a", kind: "line" },
        { name: "Away", color: "#8a6d00", kind: "line" },
        { name: "Not responding", color: "#b3261e", kind: "line" },
      ],
      step, time, unit: " h",
      summary: (t, v) => `Agent status time: ${["available", "away", "not responding"].map((n, i) => `${v[i].reduce((a, b) => a + b, 0).toFixed(1)} h ${n}`).join(", ")}.`,
    });
    charted.status.update(times, [points.map((p) => +p.available.toFixed(2)), points.map((p) => +p.away.toFixed(2)), points.map((p) => +p.not_responding.toFixed(2))]);
  }
}

function bandWords(s) {
  return s < 60 ? `${s} s` : s < 3600 ? `${s / 60} min` : `${s / 3600} h`;
}

function columns(report) {
  return report.dimension === "agents" ? [...COLUMNS, ...AGENT_COLUMNS] : COLUMNS;
}

/** A figure's cell: a button listing the interactions behind it when it has any. */
function cell(report, key, figures, [name, , figure, format], range) {
  const v = field(figures, name);
  const text = format ? format(v) : String(v ?? 0);
  if (!figure || !key || !v) return h("td", { class: "num" }, text);
  return h("td", { class: "num" }, h("button", {
    class: "link", "aria-label": `${text} ${name.replaceAll("_", " ")}, ${label(report, key)}: show the interactions`,
    onclick: () => drill(report, key, figure, null, range),
  }, text));
}

function codesCell(report, key, figures, range) {
  const codes = Object.entries(figures.wrapup_codes || {});
  if (!codes.length) return h("td", {}, "–");
  return h("td", { class: "small" }, codes.map(([code, n], i) => [i ? ", " : "",
    key ? h("button", { class: "link", onclick: () => drill(report, key, "wrapup_code", code, range) }, `${code} ${n}`) : `${code} ${n}`]));
}

function head(report, first) {
  return h("tr", {}, h("th", {}, first), columns(report).map(([, title]) => h("th", { class: "num" }, title)), h("th", {}, "Wrap-up codes"));
}

function totalsTable(report) {
  const table = document.getElementById("totals");
  const range = { from: report.from, to: report.to };
  const first = { workgroups: "Workgroup", agents: "Agent", channels: "Channel", platforms: "Platform", "media-types": "Media type" }[report.dimension];
  fill(table.tHead, head(report, first));
  fill(table.tBodies[0], report.totals.length
    ? report.totals.map((t) => h("tr", { dataset: { key: t.key } },
      h("th", { scope: "row" }, label(report, t.key)),
      columns(report).map((c) => cell(report, t.key, t, c, range)),
      codesCell(report, t.key, t, range)))
    : h("tr", {}, h("td", { colspan: columns(report).length + 2, class: "muted" }, "Nothing happened in this period.")));
  fill(table.tFoot, h("tr", {}, h("th", { scope: "row" }, "All"),
    columns(report).map((c) => cell(report, null, report.overall, c, range)), codesCell(report, null, report.overall, range)));
}

function intervalsTable() {
  if (!shown) return;
  const { report } = shown;
  const key = document.getElementById("intervals-key").value;
  const table = document.getElementById("intervals");
  const time = timeWords(report);
  const next = new Map(report.intervals.map((i, k) => [i.start, report.intervals[k + 1]?.start ?? report.to]));
  const rows = report.rows.filter((r) => !key || r.key === key);
  fill(table.tHead, h("tr", {}, h("th", {}, "Interval"), key ? null : h("th", {}, "Key"),
    columns(report).map(([, title]) => h("th", { class: "num" }, title)), h("th", {}, "Wrap-up codes")));
  fill(table.tBodies[0], rows.length
    ? rows.map((r) => {
      const range = { from: r.interval, to: next.get(r.interval) };
      return h("tr", { dataset: { key: r.key, interval: r.interval } },
        h("th", { scope: "row", title: report.intervals.find((i) => i.start === r.interval)?.label }, time(r.interval)),
        key ? null : h("td", {}, label(report, r.key)),
        columns(report).map((c) => cell(report, r.key, r, c, range)),
        codesCell(report, r.key, r, range));
    })
    : h("tr", {}, h("td", { colspan: columns(report).length + 3, class: "muted" }, "Nothing happened in this period.")));
}

async function drill(report, key, figure, code, range) {
  const q = new URLSearchParams({ key, figure, from: String(range.from), to: String(range.to) });
  if (code) q.set("code", code);
  const res = await attempt(() => api.get(`/api/v1/reports/${report.dimension}/interactions?${q}`));
  if (!res) return;
  const panel = document.getElementById("drill");
  panel.classList.remove("hidden");
  const what = code ? `wrapped up “${code}”` : FIGURE_WORDS[figure];
  document.getElementById("drill-title").textContent = `Interactions: ${label(report, key)}, ${what}`;
  document.getElementById("drill-count").textContent = res.total > res.items.length
    ? `${res.total} in all; the first ${res.items.length} are shown.`
    : `${res.total} interaction${res.total === 1 ? "" : "s"}.`;
  fill(document.querySelector("#drill-table tbody"), res.items.map((it) =>
    h("tr", { dataset: { id: it.interaction_id } },
      h("td", {}, h("button", { "aria-label": `Open interaction ${it.interaction_id}`, onclick: () => detail(it.interaction_id) }, `#${it.interaction_id}`)),
      h("td", {}, when(it.entered_at)),
      h("td", {}, it.workgroup),
      h("td", {}, it.agent || "–"),
      h("td", {}, it.channel),
      h("td", { class: "num" }, it.abandoned ? `${seconds(it.wait_s)} (abandoned)` : seconds(it.wait_s)),
      h("td", { class: "num" }, seconds(it.handle_s)),
      h("td", {}, it.wrapup_code || "–"))));
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
}

async function detail(id) {
  const d = await attempt(() => api.get(`/api/v1/interactions/${id}`));
  if (!d) return;
  const panel = document.getElementById("detail");
  panel.classList.remove("hidden");
  document.getElementById("detail-title").textContent = `Interaction #${d.id}`;
  const facts = [
    ["Platform", platformName(d.platform)], ["Channel", d.channel], ["Workgroup", d.workgroup],
    ["State", words(d.state)], ["Agent", d.assigned_to || "–"], ["Customer", d.customer.name],
    ["Created", when(d.created_at)], ["Wrap-up", d.wrapup_code || "–"],
  ];
  fill(document.getElementById("detail-body"),
    h("dl", { class: "attrs" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    transcript(d));
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
}

async function csv() {
  const asked = query("csv");
  if (!asked) return;
  try {
    const name = await api.download(`/api/v1/reports/${asked.dimension}?${asked.q}`, "report.csv");
    toast(`Downloaded ${name}.`);
  } catch (e) {
    toast(e.message, "bad");
  }
}

start();
