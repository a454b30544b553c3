// The agent desktop: My Interactions (live over server-sent events, with an alert and a
// countdown for each offer) and the Current Interaction (transcript in context, flags and
// attributes, reply, hold, transfer, disconnect, wrap-up).

import * as api from "/assets/api.js";
import {
  h, fill, duration, words, toast, clearToasts, attempt, topBar, requireRight, platformName,
  handle, timeAgo, refreshTimes,
} from "/assets/ui.js";
import { transcript, plainError } from "/assets/transcript.js";
import { customerPanel, earlierConversation, historyButton } from "/assets/customer.js";
import { replyBox, forgetDraft } from "/assets/reply.js";

const list = document.getElementById("my-list");
const empty = document.getElementById("my-empty");
const banner = document.getElementById("offer-banner");
const current = document.getElementById("current-body");
const currentEmpty = document.getElementById("current-empty");
const statusNote = document.getElementById("status-note");

const state = {
  me: null,
  dir: { channels: [], workgroups: [], agents: [], stations: [] },
  items: new Map(), // id → interaction
  selected: null, // id
  detail: null,
  leaving: new Set(), // ids this agent just declined or transferred: their revocation is expected
  timedOutAt: 0, // when the system last set this agent Not responding
  newest: new Map(), // id → the newest message shown, to scroll to it once when it arrives
};

// ---- start ------------------------------------------------------------------------------

async function start() {
  state.me = await api.me();
  if (!requireRight(state.me, ["agent"], document.querySelector("main"))) {
    topBar(state.me, "/agent");
    return;
  }
  state.dir = await api.get("/api/v1/directory");
  topBar(state.me, "/agent", historyButton(), statusControl(state.me.status), stationControl());
  api.listen(
    {
      offer: (ix) => { upsert(ix); alertOffer(ix); },
      interaction: (ix) => { upsert(ix); if (ix.id === state.selected) refreshDetail(); },
      revoked: ({ id, reason }) => revoked(id, reason),
      status: ({ status, reason }) => showStatus(status, reason || null),
    },
    () => reloadList(),
  );
  await reloadList();
  showStatus(state.me.status, null);
  setInterval(tick, 1000);
  document.addEventListener("keydown", keys);
}

// ---- status and station ------------------------------------------------------------------

// The agent chooses Available or Away. Not responding is the system's: it is shown as the
// current status, with why, but is not in the menu.
function statusControl(status) {
  const select = h(
    "select",
    { id: "status", "aria-label": "My status", onchange: (e) => setStatus(e.target.value) },
    h("option", { value: "available" }, "Available"),
    h("option", { value: "away" }, "Away"),
  );
  return h("label", {}, "Status", select);
}

async function setStatus(status) {
  const me = await attempt(() => api.put("/api/v1/me/status", { status }), "status");
  if (me) {
    clearToasts("status");
    showStatus(me.status, null);
  } else {
    showStatus(state.me.status, null);
  }
}

const STATUS_WHY = {
  not_responding: "An offer was not picked up in time, so the system set you to Not responding. Choose Available to receive work again.",
  logged_out: "You are logged out of routing. Choose Available to receive work.",
};

/** Shows the status in the menu, and why the system changed it (`reason` from the
 *  event, or said plainly from the status). */
function showStatus(status, reason) {
  state.me.status = status;
  const select = document.getElementById("status");
  if (select) {
    select.querySelector("option[data-system]")?.remove();
    if (status === "available" || status === "away") {
      select.value = status;
    } else {
      // Shown as the current status, but not offered in the menu.
      select.prepend(h("option", { value: "", disabled: true, hidden: true, dataset: { system: status } }, words(status)));
      select.value = "";
    }
  }
  if (status === "not_responding") state.timedOutAt = Date.now();
  empty.textContent = status === "available"
    ? "Nothing assigned. New work appears here as it arrives."
    : "Nothing assigned. Set yourself Available to receive work.";
  const why = reason || STATUS_WHY[status] || null;
  statusNote.classList.toggle("hidden", !why);
  fill(statusNote, why ? [h("strong", {}, `${words(status)}. `), why] : []);
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

function revoked(id, reason) {
  events++;
  const ix = state.items.get(id);
  state.items.delete(id);
  forgetDraft(id);
  drawList();
  showBanner(null);
  if (state.selected === id) select(null);
  // Declined or transferred here: the page already said what happens next.
  if (state.leaving.delete(id)) return;
  const who = ix ? ` from ${ix.customer_name}` : "";
  if (reason === "closed") {
    toast(`A supervisor closed the ${ix?.state === "alerting" ? "offer" : "conversation"}${who}; you owe it no wrap-up.`, "warn");
  } else if (Date.now() - state.timedOutAt < 5000) {
    toast(`The offer${who} was not picked up in time; it went back to the queue for another agent.`, "warn");
  } else {
    toast(`The ${ix?.state === "alerting" ? "offer" : "conversation"}${who} is no longer yours: it was withdrawn.`, "warn");
  }
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
            : h("span", { class: "muted small" }, `${ix.workgroup} · since `, timeAgo(ix.created_at)),
          ix.wrapup_pending ? h("span", { class: "badge warn" }, "Wrap-up owed") : null,
        ),
      ),
    ),
  );
  tick();
  const alerting = items.filter((i) => i.state === "alerting").length;
  document.title = alerting ? `(${alerting}) New offer — Switchboard` : "Switchboard — agent";
}

/** Counts down every offer to its alert timeout; keeps "2 min ago" current. */
function tick() {
  for (const el of document.querySelectorAll(".countdown")) {
    el.textContent = duration(Number(el.dataset.deadline) - Date.now());
  }
  refreshTimes();
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
    h("span", { class: "row" },
      h("button", { class: "primary", onclick: () => pickup(ix.id) }, "Pick up"),
      h("button", { onclick: () => decline(ix.id), "aria-label": `Decline the offer from ${ix.customer_name}` }, "Decline")),
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
  // Errors about the interaction left behind leave with it.
  if (id !== state.selected) clearToasts("interaction");
  state.selected = id;
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
let again = false;
async function refreshDetail() {
  // Several events in a row ask for one reload; one that comes during a reload asks for
  // one more, so the last change is always shown.
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const id = state.selected;
      if (id === null) return;
      const detail = await attempt(() => api.get(`/api/v1/interactions/${id}`), "interaction");
      if (state.selected !== id) continue;
      if (!detail) {
        refreshing = null;
        return select(null);
      }
      state.detail = detail;
      drawDetail();
    } while (again);
  })().finally(() => { refreshing = null; });
  return refreshing;
}

function drawDetail() {
  const d = state.detail;
  // A redraw keeps what the agent was doing: the focus and caret in the reply box (its
  // text, a list picker's choice), the transcript's place.
  const active = document.activeElement;
  const focused = active?.id && active.closest("#reply") ? active.id : null;
  const caret = focused && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;
  const oldLog = current.querySelector(".transcript");
  const scrolled = oldLog && Number(oldLog.dataset.id) === d.id ? oldLog.scrollTop : null;
  currentEmpty.classList.add("hidden");
  current.classList.remove("hidden");
  const moderate = d.state === "connected" ? (m, action) => moderateMessage(d, m, action) : null;
  const resend = d.state === "connected" ? (o) => resendReply(d, o) : null;
  const log = transcript(d, moderate, resend);
  log.dataset.id = d.id;
  fill(current, head(d), transferredFrom(d), flags(d), actions(d), customerPanel(d), earlierConversation(d), log,
    d.state === "connected" ? replyBox(d, () => refreshDetail()) : null);
  if (focused) {
    const el = document.getElementById(focused);
    el?.focus();
    if (caret) el?.setSelectionRange?.(...caret);
  }
  // The newest message is in view when it arrives; otherwise the agent's place is kept.
  const newest = newestOf(d);
  if (scrolled !== null && state.newest.get(d.id) === newest) log.scrollTop = scrolled;
  else scrollToNewest(log);
  state.newest.set(d.id, newest);
}

function newestOf(d) {
  const last = [...d.messages].sort((a, b) => a.created_at - b.created_at).at(-1);
  return `${last?.platform_message_id || ""}|${(d.outbound || []).length}`;
}

/** Scrolls the transcript (only it, not the page) to its newest message. */
function scrollToNewest(log) {
  const items = [...log.querySelectorAll("[data-mid]")];
  const latest = items.sort((a, b) => Number(a.dataset.at) - Number(b.dataset.at)).at(-1);
  const pending = [...log.querySelectorAll("[data-outbound]")].at(-1);
  const target = pending || latest;
  if (!target) return;
  const offset = target.getBoundingClientRect().bottom - log.getBoundingClientRect().top + log.scrollTop;
  log.scrollTop = Math.max(0, offset - log.clientHeight + 8);
}

/** The customer: one author throughout, the interaction's own (others may comment in
 *  the same public thread; they are counted, not mixed in). */
function customerOf(d) {
  const c = d.customer || {};
  const inbound = d.messages.filter((m) => m.direction === "inbound" && !m.deleted);
  const authors = new Set(inbound.map((m) => m.author));
  const name = c.name || d.customer_name;
  const own = inbound.filter((m) => m.author === name).at(-1);
  // The handle must be this author's: from their own message, or the server's when the
  // thread has one author only.
  const tag = own ? own.author_handle : authors.size <= 1 ? c.handle : null;
  const others = [...authors].filter((a) => a !== name).length;
  return { ...c, name, handle: handle(tag), others };
}

function head(d) {
  const c = customerOf(d);
  return h(
    "div",
    { class: "ix-head" },
    h("div", {},
      h("div", { class: "who", id: "customer" }, c.name, c.handle ? h("span", { class: "muted handle" }, ` ${c.handle}`) : null),
      h("div", { class: "small muted" },
        c.influence_level === "unknown" || c.influence_level === undefined
          ? "Influence unknown"
          : `Influence ${c.influence_score} (${c.influence_level}) · ${Number(c.followers).toLocaleString()} followers`,
        c.others ? ` · ${c.others} other ${c.others === 1 ? "person" : "people"} in this thread` : ""),
    ),
    h("div", {},
      h("div", {}, h("span", { class: "platform", id: "current-platform", dataset: { platform: d.platform } }, platformName(d.platform)), " · ", words(d.media_type)),
      h("div", { class: "small muted" }, `${d.channel} · ${d.workgroup} · #${d.id} · started `, timeAgo(d.created_at)),
    ),
    h("span", { class: "spacer" }),
    h("span", { class: `badge ${d.state}`, id: "current-state" }, words(d.state)),
  );
}

/** Who handed this interaction over, and what they wrote for the receiver. */
function transferredFrom(d) {
  const t = d.transferred_from;
  if (!t) return null;
  return h("div", { class: "notice small transferred", id: "transferred-from", role: "note" },
    h("strong", {}, `Transferred from ${t.display_name || t.user}${t.workgroup ? ` (${t.workgroup})` : ""}`),
    t.at ? [" · ", timeAgo(t.at)] : null,
    t.note ? h("blockquote", { class: "transfer-note" }, t.note) : h("div", { class: "muted" }, "No note."));
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
    // An offer is picked up or declined; once connected those buttons are gone.
    s === "alerting" ? btn("Pick up", "p", true, () => pickup(d.id), "primary") : null,
    s === "alerting" ? btn("Decline", null, true, () => decline(d.id)) : null,
    s === "alerting" ? null : s === "held"
      ? btn("Resume", "h", true, () => act(d.id, "resume"))
      : btn("Hold", "h", s === "connected", () => act(d.id, "hold")),
    // An offer is only picked up or declined.
    s === "alerting" ? null : btn("Transfer…", null, s === "connected" || s === "held", () => transfer(d)),
    s === "alerting" ? null : btn("Disconnect", null, s === "connected" || s === "held", () => disconnect(d), "danger"),
    d.state === "disconnected" && d.wrapup_pending ? btn("Wrap up…", null, true, () => wrapup(d), "primary") : null,
  );
}

async function pickup(id) {
  const ix = await attempt(() => api.post(`/api/v1/interactions/${id}/pickup`), "interaction");
  if (!ix) return;
  showBanner(null);
  upsert(ix);
  await select(id);
  document.getElementById("reply-text")?.focus();
}

/** Declines an offer: it goes to the next agent; this agent stays available. */
async function decline(id) {
  const ix = state.items.get(id);
  state.leaving.add(id);
  const done = await attempt(() => api.post(`/api/v1/interactions/${id}/decline`), "interaction");
  if (done === undefined) {
    state.leaving.delete(id);
    return;
  }
  events++;
  state.items.delete(id);
  forgetDraft(id);
  showBanner(null);
  drawList();
  if (state.selected === id) select(null);
  toast(`Declined${ix ? ` the offer from ${ix.customer_name}` : ""}. It goes to the next agent; you stay ${words(state.me.status || "available")}.`);
  // The revocation may come later, or not at all.
  setTimeout(() => state.leaving.delete(id), 10000);
}

async function act(id, action) {
  const ix = await attempt(() => api.post(`/api/v1/interactions/${id}/${action}`), "interaction");
  if (ix) { upsert(ix); refreshDetail(); }
}

/** Hides or deletes a message on the platform, after asking. */
/** Sends again a reply whose delivery is unknown (or that failed), after the agent has
 *  seen that the customer may already have it. */
async function resendReply(d, o) {
  if (o.state === "unknown" && !confirm(`The customer may already have this reply. Send it again?\n\n“${o.text}”`)) return;
  try {
    const r = await api.post(`/api/v1/interactions/${d.id}/outbound/${o.id}/resend`);
    if (r.state === "sent") toast("Reply sent.");
    else if (r.state === "unknown" || r.state === "failed") toast(`Still not delivered: ${plainError(r.last_error)}`, "bad", "interaction");
  } catch (e) {
    toast(`Could not resend the reply: ${plainError(e.message)}`, "bad", "interaction");
  }
  refreshDetail();
}

async function moderateMessage(d, m, action) {
  const what = action === "hide" ? "Hide this comment from the public" : "Delete this message on the platform";
  if (!confirm(`${what}?\n\n“${m.text}”`)) return;
  const path = `/api/v1/interactions/${d.id}/messages/${encodeURIComponent(m.platform_message_id)}/${action}`;
  try {
    await api.post(path);
  } catch (e) {
    const verb = action === "hide" ? "hide the comment" : "delete the message";
    toast(`Could not ${verb}: ${plainError(e.message)}. Try again in a moment.`, "bad", "interaction");
    return;
  }
  toast(action === "hide" ? "Comment hidden." : "Message deleted.");
  clearToasts("interaction");
  refreshDetail();
}

// ---- transfer, disconnect, wrap-up ---------------------------------------------------------

const AWAY = { away: "Away", not_responding: "Not responding", logged_out: "Logged out" };

async function transfer(d) {
  // Who is available changes all the time: ask again.
  const dir = await attempt(() => api.get("/api/v1/directory"), "interaction");
  if (dir) state.dir = dir;
  const dialog = document.getElementById("transfer-dialog");
  const groups = document.getElementById("transfer-workgroup");
  const agents = document.getElementById("transfer-agent");
  const note = document.getElementById("transfer-note");
  const agentNote = document.getElementById("transfer-agent-note");
  fill(groups, state.dir.workgroups.map((w) => h("option", { value: w.name }, w.name)));
  groups.value = d.workgroup;
  const wait = Math.round(alertTimeout(d) / 1000);
  const isAvailable = (a) => a.available ?? (a.status ? a.status === "available" : null);
  // Who can take it now comes first; the others are said to be away.
  const others = state.dir.agents.filter((a) => a.username !== state.me.username)
    .map((a, i) => ({ a, i, up: isAvailable(a) }))
    .sort((x, y) => (x.up === false) - (y.up === false) || x.i - y.i);
  fill(agents, others.map(({ a, up }) => h("option", { value: a.username, dataset: { available: String(up) } },
    up === true ? `${a.display_name} — Available`
      : up === false ? `${a.display_name} — ${AWAY[a.status] || "Busy"} — returns to ${d.workgroup} if not picked up`
        : `${a.display_name} (${a.username})`)));
  const form = dialog.querySelector("form");
  const kind = () => form.querySelector("input[name=kind]:checked").value;
  const explain = () => {
    const chosen = others.find(({ a }) => a.username === agents.value);
    agentNote.textContent = !chosen ? ""
      : chosen.up === false
        ? `${chosen.a.display_name} is ${(AWAY[chosen.a.status] || "not available").toLowerCase()}: it goes back to ${d.workgroup}'s queue, for whoever is available next.`
        : `${chosen.a.display_name} has ${wait} s to pick it up; then it goes back to ${d.workgroup}.`;
  };
  const toggle = () => {
    groups.parentElement.classList.toggle("hidden", kind() !== "workgroup");
    agents.parentElement.classList.toggle("hidden", kind() !== "agent");
    agentNote.classList.toggle("hidden", kind() !== "agent");
    explain();
  };
  form.querySelectorAll("input[name=kind]").forEach((r) => (r.onchange = toggle));
  agents.onchange = explain;
  note.value = "";
  toggle();
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const body = kind() === "agent" ? { to_user: agents.value } : { to_workgroup: groups.value };
    if (note.value.trim()) body.note = note.value.trim();
    state.leaving.add(d.id);
    const res = await attempt(() => api.post(`/api/v1/interactions/${d.id}/transfer`, body), "interaction");
    if (!res) {
      state.leaving.delete(d.id);
      return;
    }
    const back = res.workgroup || d.workgroup;
    if (body.to_user) {
      const name = others.find(({ a }) => a.username === body.to_user)?.a.display_name || body.to_user;
      const secs = res.wait_ms ? Math.round(res.wait_ms / 1000) : wait;
      toast(res.agent_available === false
        ? `${name} is not available, so it went back to ${back}'s queue.`
        : `Offered to ${name}; if not picked up within ${secs} s it goes back to ${back}.`);
    } else {
      toast(`Transferred to ${body.to_workgroup}'s queue.`);
    }
    forgetDraft(d.id);
    upsert(res);
    select(null);
    setTimeout(() => state.leaving.delete(d.id), 10000);
  };
  dialog.showModal();
}

async function disconnect(d) {
  const ix = await attempt(() => api.post(`/api/v1/interactions/${d.id}/disconnect`), "interaction");
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
    const ix = await attempt(() => api.post(`/api/v1/interactions/${d.id}/wrapup`, { code: codes.value }), "interaction");
    if (ix) {
      toast(`Wrap-up saved: ${codes.value}.`);
      forgetDraft(d.id);
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
