// The agent desktop: My Interactions (live over server-sent events, with an alert and a
// countdown for each offer) and the Current Interaction (transcript in context, flags and
// attributes, reply, hold, transfer, disconnect, wrap-up).

import * as api from "/assets/api.js";
import { h, fill, duration, when, words, toast, attempt, topBar, requireRight, platformName } from "/assets/ui.js";
import { transcript, plainError } from "/assets/transcript.js";

const list = document.getElementById("my-list");
const empty = document.getElementById("my-empty");
const banner = document.getElementById("offer-banner");
const current = document.getElementById("current-body");
const currentEmpty = document.getElementById("current-empty");

const state = {
  me: null,
  dir: { channels: [], workgroups: [], agents: [], stations: [] },
  items: new Map(), // id → interaction
  selected: null, // id
  detail: null,
  draft: "", // the reply being typed survives redraws
};

// ---- start ------------------------------------------------------------------------------

async function start() {
  state.me = await api.me();
  if (!requireRight(state.me, ["agent"], document.querySelector("main"))) {
    topBar(state.me, "/agent");
    return;
  }
  state.dir = await api.get("/api/v1/directory");
  topBar(state.me, "/agent", statusControl(state.me.status), stationControl());
  api.listen(
    {
      offer: (ix) => { upsert(ix); alertOffer(ix); },
      interaction: (ix) => { upsert(ix); if (ix.id === state.selected) refreshDetail(); },
      revoked: ({ id }) => revoked(id),
      status: ({ status }) => showStatus(status),
    },
    () => reloadList(),
  );
  await reloadList();
  setInterval(tick, 1000);
  document.addEventListener("keydown", keys);
}

// ---- status and station ------------------------------------------------------------------

function statusControl(status) {
  const select = h(
    "select",
    { id: "status", "aria-label": "My status", onchange: (e) => setStatus(e.target.value) },
    h("option", { value: "available" }, "Available"),
    h("option", { value: "away" }, "Away"),
    h("option", { value: "not_responding", disabled: true, title: "Set by the system after a missed offer" }, "Not responding"),
  );
  select.value = status === "logged_out" ? "away" : status;
  return h("label", {}, "Status", select);
}

async function setStatus(status) {
  const me = await attempt(() => api.put("/api/v1/me/status", { status }));
  if (me) showStatus(me.status);
}

function showStatus(status) {
  const select = document.getElementById("status");
  if (select) select.value = status === "logged_out" ? "away" : status;
  if (status === "not_responding") {
    toast("You missed an offer, so you were set to Not responding. Choose Available to receive work again.", "warn");
  }
}

function stationControl() {
  if (!state.dir.stations?.length) return null;
  const select = h(
    "select",
    { id: "station", "aria-label": "Station", onchange: (e) => setStation(e.target.value) },
    h("option", { value: "" }, "No station"),
    state.dir.stations.map((s) => h("option", { value: s }, s)),
  );
  select.value = state.me.station || "";
  return h("label", {}, "Station", select);
}

async function setStation(station) {
  const me = await attempt(() => api.post("/api/v1/me/station", { station: station || null }));
  if (me) toast(station ? `Logged in at ${station}.` : "Logged out of the station.");
}

// ---- My Interactions ---------------------------------------------------------------------

// Counts live events. A list fetched while an event arrived may be older than the event,
// so it is fetched again rather than let it overwrite what the event said.
let events = 0;

async function reloadList() {
  for (let tries = 0; tries < 5; tries++) {
    const seen = events;
    const items = await attempt(() => api.get("/api/v1/me/interactions"));
    if (!items) return;
    if (seen !== events) continue;
    state.items = new Map(items.map((ix) => [ix.id, ix]));
    drawList();
    if (state.selected) refreshDetail();
    return;
  }
}

/** Whether an interaction still belongs in My Interactions. */
function mine(ix) {
  return ix.state !== "disconnected" || ix.wrapup_pending;
}

function upsert(ix) {
  events++;
  if (mine(ix) && ix.assigned_to === state.me.username) state.items.set(ix.id, ix);
  else state.items.delete(ix.id);
  drawList();
}

function revoked(id) {
  events++;
  state.items.delete(id);
  drawList();
  showBanner(null);
  if (state.selected === id) select(null);
  toast(`Interaction ${id} was not picked up in time and went to the next agent.`, "warn");
}

function platformOf(ix) {
  const platform = state.dir.channels.find((c) => c.name === ix.channel)?.platform || ix.channel;
  return platform === "facebook" && ix.media_type === "social_direct_message" ? "messenger" : platform;
}

function alertTimeout(ix) {
  return state.dir.workgroups.find((w) => w.name === ix.workgroup)?.alert_timeout_ms || 30000;
}

function sorted() {
  const rank = { alerting: 0, connected: 1, held: 2 };
  return [...state.items.values()].sort(
    (a, b) => (rank[a.state] ?? 3) - (rank[b.state] ?? 3) || a.created_at - b.created_at,
  );
}

function drawList() {
  const items = sorted();
  empty.classList.toggle("hidden", items.length > 0);
  fill(
    list,
    items.map((ix) =>
      h(
        "li",
        { class: ix.state, dataset: { id: ix.id } },
        h(
          "button",
          {
            "aria-current": ix.id === state.selected ? "true" : "false",
            "aria-label": `${words(ix.state)} ${platformName(platformOf(ix))} ${words(ix.media_type).toLowerCase()} from ${ix.customer_name}`,
            onclick: () => select(ix.id),
          },
          h("span", { class: "row" },
            h("span", { class: "platform" }, platformName(platformOf(ix))),
            h("span", { class: "muted small" }, words(ix.media_type)),
            h("span", { class: "spacer" }),
            h("span", { class: `badge ${ix.state}` }, words(ix.state)),
          ),
          h("span", {}, ix.customer_name),
          ix.state === "alerting"
            ? h("span", { class: "small" }, "Pick up within ", h("span", { class: "countdown", dataset: { deadline: ix.updated_at + alertTimeout(ix) } }, "…"))
            : h("span", { class: "muted small" }, `${ix.workgroup} · since ${when(ix.created_at)}`),
          ix.wrapup_pending ? h("span", { class: "badge warn" }, "Wrap-up owed") : null,
        ),
      ),
    ),
  );
  tick();
  const alerting = items.filter((i) => i.state === "alerting").length;
  document.title = alerting ? `(${alerting}) New offer — Switchboard` : "Switchboard — agent";
}

/** Counts down every offer to its alert timeout. */
function tick() {
  for (const el of document.querySelectorAll(".countdown")) {
    el.textContent = duration(Number(el.dataset.deadline) - Date.now());
  }
}

function alertOffer(ix) {
  if (ix.assigned_to !== state.me.username) return;
  showBanner(ix);
  beep();
  if (!state.selected) select(ix.id);
}

function showBanner(ix) {
  banner.classList.toggle("hidden", !ix);
  if (!ix) return;
  fill(
    banner,
    h("strong", {}, "New offer: "),
    `${platformName(platformOf(ix))} ${words(ix.media_type).toLowerCase()} from ${ix.customer_name}. `,
    h("button", { class: "primary", onclick: () => pickup(ix.id) }, "Pick up"),
  );
}

/** A short two-tone chime; browsers allow it once the page has been used. */
function beep() {
  try {
    const ctx = new AudioContext();
    [880, 660].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.08;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.18);
      osc.stop(ctx.currentTime + i * 0.18 + 0.15);
    });
  } catch { /* no audio: the banner and the list still show the offer */ }
}

// ---- Current Interaction ---------------------------------------------------------------

async function select(id) {
  state.selected = id;
  state.draft = "";
  drawList();
  if (id === null) {
    state.detail = null;
    current.classList.add("hidden");
    currentEmpty.classList.remove("hidden");
    return;
  }
  await refreshDetail();
}

let refreshing = null;
async function refreshDetail() {
  // Several events in a row ask for one reload.
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const id = state.selected;
    const detail = await attempt(() => api.get(`/api/v1/interactions/${id}`));
    refreshing = null;
    if (state.selected !== id) return;
    if (!detail) return select(null);
    state.detail = detail;
    drawDetail();
  })();
  return refreshing;
}

function drawDetail() {
  const d = state.detail;
  const typing = document.getElementById("reply-text");
  if (typing) state.draft = typing.value;
  currentEmpty.classList.add("hidden");
  current.classList.remove("hidden");
  const moderate = d.state === "connected" ? (m, action) => moderateMessage(d, m, action) : null;
  fill(current, head(d), flags(d), actions(d), transcript(d, moderate), d.state === "connected" ? replyBox(d) : null);
  const text = document.getElementById("reply-text");
  if (text) text.value = state.draft;
}

function head(d) {
  const c = d.customer;
  return h(
    "div",
    { class: "ix-head" },
    h("div", {},
      h("div", { class: "who" }, c.name, c.handle ? h("span", { class: "muted" }, ` @${c.handle.replace(/^@/, "")}`) : null),
      h("div", { class: "small muted" },
        c.influence_level === "unknown"
          ? "Influence unknown"
          : `Influence ${c.influence_score} (${c.influence_level}) · ${Number(c.followers).toLocaleString()} followers`),
    ),
    h("div", {},
      h("div", {}, h("span", { class: "platform", id: "current-platform", dataset: { platform: d.platform } }, platformName(d.platform)), " · ", words(d.media_type)),
      h("div", { class: "small muted" }, `${d.channel} · ${d.workgroup} · #${d.id} · ${when(d.created_at)}`),
    ),
    h("span", { class: "spacer" }),
    h("span", { class: `badge ${d.state}`, id: "current-state" }, words(d.state)),
  );
}

function flags(d) {
  const a = d.attributes || {};
  const shown = Object.entries(a).filter(([k]) => !k.startsWith("desktop_"));
  return h(
    "div",
    {},
    h("div", { class: "row", role: "group", "aria-label": "Flags" },
      a.desktop_sentiment ? h("span", { class: `badge ${a.desktop_sentiment}` }, `Sentiment: ${a.desktop_sentiment}`) : null,
      a.desktop_actionable ? h("span", { class: `badge ${a.desktop_actionable === "true" ? "warn" : ""}` }, a.desktop_actionable === "true" ? "Actionable" : "Not actionable") : null,
      a.desktop_expand === "true" ? h("span", { class: "badge" }, "Expand") : null,
      d.skills ? h("span", { class: "badge" }, `Skills: ${d.skills}`) : null,
      d.priority ? h("span", { class: "badge" }, `Priority ${d.priority}`) : null,
    ),
    shown.length
      ? h("dl", { class: "attrs", "aria-label": "Workflow attributes" }, shown.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))
      : null,
  );
}

function actions(d) {
  const s = d.state;
  const btn = (label, key, enabled, fn, cls = "") =>
    h("button", { class: cls, disabled: !enabled, onclick: fn, "aria-keyshortcuts": key || null }, label);
  return h(
    "div",
    { class: "actions", role: "toolbar", "aria-label": "Interaction actions" },
    btn("Pick up", "p", s === "alerting", () => pickup(d.id), "primary"),
    s === "held"
      ? btn("Resume", "h", true, () => act(d.id, "resume"))
      : btn("Hold", "h", s === "connected", () => act(d.id, "hold")),
    btn("Transfer…", null, s === "connected" || s === "held", () => transfer(d)),
    btn("Disconnect", null, s === "connected" || s === "held", () => disconnect(d), "danger"),
    d.state === "disconnected" && d.wrapup_pending ? btn("Wrap up…", null, true, () => wrapup(d), "primary") : null,
  );
}

async function pickup(id) {
  const ix = await attempt(() => api.post(`/api/v1/interactions/${id}/pickup`));
  if (!ix) return;
  showBanner(null);
  upsert(ix);
  await select(id);
  document.getElementById("reply-text")?.focus();
}

async function act(id, action) {
  const ix = await attempt(() => api.post(`/api/v1/interactions/${id}/${action}`));
  if (ix) { upsert(ix); refreshDetail(); }
}

/** Hides or deletes a message on the platform, after asking. */
async function moderateMessage(d, m, action) {
  const what = action === "hide" ? "Hide this comment from the public" : "Delete this message on the platform";
  if (!confirm(`${what}?\n\n“${m.text}”`)) return;
  const path = `/api/v1/interactions/${d.id}/messages/${encodeURIComponent(m.platform_message_id)}/${action}`;
  if (await attempt(() => api.post(path)) !== undefined) {
    toast(action === "hide" ? "Comment hidden." : "Message deleted.");
    refreshDetail();
  }
}

// ---- reply --------------------------------------------------------------------------------

/** Which visibilities the platform allows for this interaction. */
function visibilities(d) {
  if (d.media_type === "social_direct_message") return ["private"];
  return d.platform === "facebook" ? ["public", "private"] : ["public"];
}

function replyBox(d) {
  const choices = visibilities(d);
  const box = h("form", { class: "reply", "aria-label": "Reply", onsubmit: (e) => { e.preventDefault(); send(d); } });
  const note = h("div", { id: "window-note", role: "status" });
  const radios = h(
    "fieldset",
    { class: choices.length > 1 ? "" : "hidden" },
    h("legend", { class: "sr-only" }, "Reply visibility"),
    choices.map((v, i) =>
      h("label", { class: "inline" },
        h("input", { type: "radio", name: "visibility", value: v, checked: i === 0, onchange: () => showWindow(d, box, note) }),
        v === "public" ? "Public reply (comment)" : "Private reply (direct message)"),
    ),
  );
  const templates = h(
    "label",
    { class: "hidden", id: "template-label" },
    "Template",
    h("select", { id: "template", name: "template" },
      d.templates.map((t) => h("option", { value: `${t.name}|${t.language}` }, `${t.name} (${t.language})`))),
  );
  const text = h("textarea", {
    id: "reply-text", name: "text", "aria-label": "Reply text", placeholder: "Write a reply… (Ctrl+Enter sends)",
    onkeydown: (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(d); } },
  });
  const error = h("div", { id: "reply-error", class: "notice bad hidden", role: "alert" });
  box.append(radios, note, templates, text, error, h("div", { class: "row" }, h("button", { class: "primary", id: "send" }, "Send reply")));
  showWindow(d, box, note);
  return box;
}

function visibilityOf(box) {
  return box.querySelector("input[name=visibility]:checked")?.value || "public";
}

/** Shows, before anything is typed, what the platform allows now. */
function showWindow(d, box, note) {
  const w = d.reply_window?.[visibilityOf(box)];
  const templateOnly = w && !w.free_form && w.templates;
  const closed = w && !w.free_form && !w.templates;
  box.querySelector("#template-label").classList.toggle("hidden", !templateOnly);
  box.querySelector("#reply-text").classList.toggle("hidden", templateOnly || closed);
  box.querySelector("#send").disabled = closed || (templateOnly && !d.templates.length);
  let text;
  let kind = "";
  if (!w) text = "You can reply.";
  else if (closed) { text = w.note || "Replies are closed for this conversation."; kind = "bad"; }
  else if (templateOnly) {
    text = w.note || "The 24-hour window has closed: only an approved template can be sent.";
    if (!d.templates.length) text += " This channel has no templates configured.";
    kind = "warn";
  } else if (w.until) {
    text = `You can reply freely until ${when(w.until)} (${duration(w.until - Date.now())} left).${w.note ? ` ${w.note}` : ""}`;
  } else text = w.note || "You can reply.";
  note.className = `notice small ${kind}`;
  note.textContent = text;
}

async function send(d) {
  const box = current.querySelector("form.reply");
  const error = box.querySelector("#reply-error");
  error.classList.add("hidden");
  const visibility = visibilityOf(box);
  const body = { visibility, text: box.querySelector("#reply-text").value.trim() };
  const useTemplate = !box.querySelector("#template-label").classList.contains("hidden");
  if (useTemplate) {
    const [name, language] = box.querySelector("#template").value.split("|");
    body.template = { name, language, parameters: [] };
    body.text = body.text || `[template ${name}]`;
  } else if (!body.text) {
    error.textContent = "Write something first.";
    error.classList.remove("hidden");
    return;
  }
  const button = box.querySelector("#send");
  button.disabled = true;
  try {
    const res = await api.post(`/api/v1/interactions/${d.id}/reply`, body);
    if (res.state === "failed") {
      error.textContent = `The platform refused the reply: ${plainError(res.last_error || "unknown error")}`;
      error.classList.remove("hidden");
    } else {
      toast(res.state === "sent" ? "Reply sent." : "Reply queued; it will be retried until the platform takes it.");
      state.draft = "";
      box.querySelector("#reply-text").value = "";
    }
    await refreshDetail();
  } catch (e) {
    error.textContent = plainError(e.message);
    error.classList.remove("hidden");
  } finally {
    button.disabled = false;
  }
}

// ---- transfer, disconnect, wrap-up ---------------------------------------------------------

function transfer(d) {
  const dialog = document.getElementById("transfer-dialog");
  const groups = document.getElementById("transfer-workgroup");
  const agents = document.getElementById("transfer-agent");
  fill(groups, state.dir.workgroups.map((w) => h("option", { value: w.name }, w.name)));
  fill(agents, state.dir.agents.filter((a) => a.username !== state.me.username)
    .map((a) => h("option", { value: a.username }, `${a.display_name} (${a.username})`)));
  const form = dialog.querySelector("form");
  const kind = () => form.querySelector("input[name=kind]:checked").value;
  const toggle = () => {
    groups.parentElement.classList.toggle("hidden", kind() !== "workgroup");
    agents.parentElement.classList.toggle("hidden", kind() !== "agent");
  };
  form.querySelectorAll("input[name=kind]").forEach((r) => (r.onchange = toggle));
  toggle();
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const body = kind() === "agent" ? { to_user: agents.value } : { to_workgroup: groups.value };
    const ix = await attempt(() => api.post(`/api/v1/interactions/${d.id}/transfer`, body));
    if (ix) {
      toast(`Transferred to ${body.to_user || body.to_workgroup}.`);
      upsert(ix);
      select(null);
    }
  };
  dialog.showModal();
}

async function disconnect(d) {
  const ix = await attempt(() => api.post(`/api/v1/interactions/${d.id}/disconnect`));
  if (!ix) return;
  upsert(ix);
  await refreshDetail();
  if (d.wrapup.codes.length) wrapup(state.detail || d);
}

function wrapup(d) {
  const dialog = document.getElementById("wrapup-dialog");
  const codes = document.getElementById("wrapup-code");
  fill(codes, d.wrapup.codes.map((c) => h("option", { value: c }, c)));
  document.getElementById("wrapup-note").textContent = d.wrapup.required
    ? `${d.workgroup} requires a wrap-up code.`
    : `Optional for ${d.workgroup}.`;
  document.getElementById("wrapup-skip").disabled = d.wrapup.required;
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const ix = await attempt(() => api.post(`/api/v1/interactions/${d.id}/wrapup`, { code: codes.value }));
    if (ix) {
      toast(`Wrap-up saved: ${codes.value}.`);
      upsert(ix);
      if (state.selected === d.id) select(null);
    }
  };
  dialog.showModal();
}

// ---- keyboard -----------------------------------------------------------------------------

function keys(e) {
  const typing = /INPUT|TEXTAREA|SELECT/.test(document.activeElement?.tagName) || document.querySelector("dialog[open]");
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const items = sorted();
  const at = items.findIndex((i) => i.id === state.selected);
  if (e.key === "j" || e.key === "k") {
    const next = items[Math.min(items.length - 1, Math.max(0, at + (e.key === "j" ? 1 : -1)))];
    if (next) select(next.id);
  } else if (e.key === "p" && state.detail?.state === "alerting") {
    pickup(state.detail.id);
  } else if (e.key === "h" && state.detail) {
    if (state.detail.state === "connected") act(state.detail.id, "hold");
    else if (state.detail.state === "held") act(state.detail.id, "resume");
  } else if (e.key === "r") {
    document.getElementById("reply-text")?.focus();
  } else {
    return;
  }
  e.preventDefault();
}

start();
