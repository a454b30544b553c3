// The administrator desktop (`social_media_admin` right): channels with their status and
// suspended keywords, workgroups, users, stations, utilization, skills, wrap-up codes,
// workflow versions, plugins and the cluster's hosts. Each screen reads the API and writes through it; the
// server validates, and its message is shown as it is.

import * as api from "/assets/api.js";
import { h, fill, when, ago, words, toast, attempt, topBar, requireRight, platformName } from "/assets/ui.js";
import { table, field, checks, checked, pairs, list, submit, onSaved, reshow } from "/assets/adminkit.js";
import { channelsScreen } from "/assets/channels.js";
import { retentionScreen } from "/assets/privacy.js";
import { workflowsScreen } from "/assets/scripts.js";

const nav = document.getElementById("admin-nav");
const panel = document.getElementById("admin-panel");

const SCREENS = [
  ["channels", "Channels", () => channelsScreen(panel)],
  ["workgroups", "Workgroups", workgroups],
  ["users", "Users", users],
  ["stations", "Stations", stations],
  ["utilization", "Utilization", utilization],
  ["skills", "Skills", skills],
  ["wrapup", "Wrap-up codes", wrapupCodes],
  ["responses", "Standard responses", standardResponses],
  ["workflows", "Workflows", () => workflowsScreen(panel)],
  ["plugins", "Plugins", plugins],
  ["cluster", "Cluster", cluster],
  ["retention", "Retention and privacy", () => retentionScreen(panel)],
];
const USER_RIGHTS = ["agent", "supervisor", "social_media_admin", "acd_social_media", "acd_whatsapp"];
const STATION_RIGHTS = ["acd_social_media", "acd_whatsapp"];

async function start() {
  const me = await api.me();
  topBar(me, "/admin");
  if (!requireRight(me, ["social_media_admin"], document.querySelector("main"))) return;
  fill(nav, SCREENS.map(([id, label]) =>
    h("button", { role: "tab", id: `tab-${id}`, "aria-controls": "admin-panel", onclick: () => show(id) }, label)));
  nav.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const tabs = [...nav.querySelectorAll("[role=tab]")];
    const at = tabs.indexOf(document.activeElement);
    const next = tabs[(at + (e.key === "ArrowDown" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
    e.preventDefault();
  });
  // A link or the address bar may name another screen (`/admin#plugins`).
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1) || "channels");
}

/**
 * Shows a screen. Screens are drawn one after the other: a screen still loading (the
 * channels, when the address names another screen) would otherwise finish last and draw
 * over the one the user asked for.
 */
let drawing = Promise.resolve();
function show(id) {
  drawing = drawing.then(() => draw(id), () => draw(id));
  return drawing;
}

async function draw(id) {
  const screen = SCREENS.find(([s]) => s === id) || SCREENS[0];
  history.replaceState(null, "", `#${screen[0]}`);
  for (const tab of nav.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.id === `tab-${screen[0]}`));
  }
  panel.setAttribute("aria-labelledby", `tab-${screen[0]}`);
  fill(panel, h("p", { class: "muted" }, "Loading…"));
  await screen[2]();
}

onSaved(() => show(location.hash.slice(1)));

// ---- workgroups ---------------------------------------------------------------------------

async function workgroups() {
  const [groups, people] = await Promise.all([api.get("/api/v1/workgroups"), api.get("/api/v1/users")]);
  fill(
    panel,
    h("h2", {}, "Workgroups"),
    table(["Workgroup", "Members", "Service level target", "Alert timeout", "Wrap-up codes", ""], groups.map((g) =>
      h("tr", { dataset: { workgroup: g.name } },
        h("td", {}, h("strong", {}, g.name)),
        h("td", {}, g.members.join(", ") || h("span", { class: "muted" }, "none")),
        h("td", {}, `${g.sl_target_s} s`),
        h("td", {}, `${g.alert_timeout_ms / 1000} s`),
        h("td", {}, g.wrapup_codes.join(", ") || "–", g.wrapup_required ? h("span", { class: "badge warn" }, "required") : null),
        h("td", {},
          editButton(`Edit ${g.name}`, 6, () => workgroupForm(g, people)), " ",
          h("button", { class: "danger", onclick: () => removeWorkgroup(g) }, "Delete")),
      )), "Workgroups"),
    h("h3", {}, "New workgroup"),
    workgroupForm(null, people),
  );
}

/** The form of a new workgroup, or of `g`. */
function workgroupForm(g, people) {
  return h("form", { class: "grid", id: g ? `edit-workgroup-${g.id}` : "new-workgroup", onsubmit: (e) => submit(e, async (form) => {
    const data = new FormData(form);
    const body = {
      name: data.get("name"), sl_target_s: Number(data.get("sl_target_s")),
      alert_timeout_ms: Number(data.get("alert_timeout_s")) * 1000,
      wrapup_codes: list(data.get("wrapup_codes") || ""), wrapup_required: data.get("wrapup_required") === "on",
      members: checked(form, "members"),
    };
    if (g) await api.put(`/api/v1/workgroups/${g.id}`, body);
    else await api.post("/api/v1/workgroups", body);
  }, g ? `Workgroup ${g.name} saved.` : "Workgroup created.") },
    field("Name", h("input", { name: "name", required: true, value: g ? g.name : "" })),
    // The server's bounds, so the browser says so in seconds before anything is sent.
    field("Service level target (s)", h("input", { name: "sl_target_s", type: "number", min: 1, max: 86400, value: g ? g.sl_target_s : 60, required: true })),
    field("Alert timeout (s)", h("input", { name: "alert_timeout_s", type: "number", min: 1, max: 600, step: 1, value: g ? g.alert_timeout_ms / 1000 : 30, required: true })),
    field("Wrap-up codes (comma separated)", h("input", { name: "wrapup_codes", placeholder: "Resolved, Escalated", value: g ? g.wrapup_codes.join(", ") : "" })),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "wrapup_required", checked: Boolean(g?.wrapup_required) }), "Wrap-up required"),
    checks("members", people.map((u) => u.username), g ? g.members : []),
    h("div", {}, h("button", { class: "primary" }, g ? "Save workgroup" : "Create workgroup")),
  );
}

async function removeWorkgroup(g) {
  if (!confirm(`Delete workgroup ${g.name}?`)) return;
  if (await attempt(() => api.del(`/api/v1/workgroups/${g.id}`)) !== undefined) { toast(`Workgroup ${g.name} deleted.`); reshow(); }
}

// ---- users --------------------------------------------------------------------------------

async function users() {
  const [people, groups] = await Promise.all([api.get("/api/v1/users"), api.get("/api/v1/workgroups")]);
  fill(
    panel,
    h("h2", {}, "Users"),
    table(["User", "Rights", "Workgroups", "Station", "Status", ""], people.map((u) =>
      h("tr", { dataset: { user: u.username } },
        h("td", {}, h("strong", {}, u.display_name), h("div", { class: "small muted" }, u.username)),
        h("td", { class: "small" }, u.rights.join(", ")),
        h("td", {}, u.workgroups.join(", ") || "–"),
        h("td", {}, u.station || "–"),
        h("td", {}, h("span", { class: `badge ${u.status}` }, words(u.status))),
        h("td", {},
          editButton(`Edit ${u.username}`, 6, () => userForm(u, groups)), " ",
          h("button", { class: "danger", onclick: () => removeUser(u) }, "Delete")),
      )), "Users"),
    h("h3", {}, "New user"),
    userForm(null, groups),
  );
}

/** The form of a new user, or of `u` (its name fixed; a password given resets theirs). */
function userForm(u, groups) {
  const skills = u ? Object.entries(u.skills).map(([k, v]) => `${k}=${v}`).join(", ") : "";
  return h("form", { class: "grid", id: u ? `edit-user-${u.id}` : "new-user", onsubmit: (e) => submit(e, async (form) => {
    const data = new FormData(form);
    const body = {
      display_name: data.get("display_name") || (u ? u.username : data.get("username")),
      rights: checked(form, "rights"), workgroups: checked(form, "workgroups"),
      skills: Object.fromEntries(Object.entries(pairs(data.get("skills") || "")).map(([k, v]) => [k, Number(v)])),
    };
    if (data.get("password")) body.password = data.get("password");
    if (u) await api.put(`/api/v1/users/${u.id}`, body);
    else await api.post("/api/v1/users", { ...body, username: data.get("username") });
  }, u ? `User ${u.username} saved.` : "User created.") },
    u
      ? field("User name", h("input", { name: "username", value: u.username, readonly: true, title: "A user name cannot change once the user exists." }))
      : field("User name", h("input", { name: "username", required: true, autocomplete: "off" })),
    field("Display name", h("input", { name: "display_name", value: u ? u.display_name : "" })),
    u
      ? field("New password (leave empty to keep it)", h("input", { name: "password", type: "password", autocomplete: "new-password" }))
      : field("Password", h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" })),
    field("Skills (name=level, …)", h("input", { name: "skills", placeholder: "english=5, billing=3", value: skills })),
    checks("rights", USER_RIGHTS, u ? u.rights : ["agent"]),
    checks("workgroups", groups.map((g) => g.name), u ? u.workgroups : []),
    h("div", {}, h("button", { class: "primary" }, u ? "Save user" : "Create user")),
  );
}

/** An Edit button that opens `form()` in a row under its own, once. */
function editButton(label, columns, form) {
  return h("button", { "aria-label": label, onclick: (e) => {
    const row = e.target.closest("tr");
    row.after(h("tr", { class: "editing" }, h("td", { colspan: columns }, form())));
    e.target.disabled = true;
    row.nextElementSibling.querySelector("input:not([readonly]), select, textarea")?.focus();
  } }, "Edit");
}

async function removeUser(u) {
  if (!confirm(`Delete user ${u.username}?`)) return;
  if (await attempt(() => api.del(`/api/v1/users/${u.id}`)) !== undefined) { toast(`User ${u.username} deleted.`); reshow(); }
}

// ---- stations -----------------------------------------------------------------------------

async function stations() {
  const rows = await api.get("/api/v1/stations");
  fill(
    panel,
    h("h2", {}, "Stations"),
    h("p", { class: "muted small" }, "An agent logged in at a station gets its access rights for routing."),
    table(["Station", "Access rights", ""], rows.map((s) =>
      h("tr", { dataset: { station: s.name } }, h("td", {}, s.name), h("td", {}, s.rights.join(", ") || "–"),
        h("td", {},
          editButton(`Edit ${s.name}`, 3, () => stationForm(s)), " ",
          h("button", { class: "danger", onclick: () => removeStation(s) }, "Delete")))), "Stations"),
    h("h3", {}, "New station"),
    stationForm(null),
  );
}

/** The form of a new station, or of `st`. */
function stationForm(st) {
  return h("form", { class: "grid", id: st ? `edit-station-${st.id}` : "new-station", onsubmit: (e) => submit(e, async (form) => {
    const data = new FormData(form);
    const body = { name: data.get("name"), rights: checked(form, "rights") };
    if (st) await api.put(`/api/v1/stations/${st.id}`, body);
    else await api.post("/api/v1/stations", body);
  }, st ? `Station ${st.name} saved.` : "Station created.") },
    field("Name", h("input", { name: "name", required: true, value: st ? st.name : "" })),
    checks("rights", STATION_RIGHTS, st ? st.rights : []),
    h("div", {}, h("button", { class: "primary" }, st ? "Save station" : "Create station")));
}

async function removeStation(s) {
  if (await attempt(() => api.del(`/api/v1/stations/${s.id}`)) !== undefined) { toast(`Station ${s.name} deleted.`); reshow(); }
}

// ---- standard responses ---------------------------------------------------------------------

const PLACEHOLDERS = ["{customer_name}", "{agent_name}", "{workgroup}", "{channel}"];

async function standardResponses() {
  const [rows, groups] = await Promise.all([api.get("/api/v1/responses"), api.get("/api/v1/workgroups")]);
  const audience = (name, chosen) => h("select", { name },
    h("option", { value: "" }, "Everyone"),
    groups.map((g) => h("option", { value: g.name, selected: g.name === chosen }, `${g.name} members`)));
  const form = (r) => h("form", { class: "grid", "data-response": r ? r.id : "new", onsubmit: (e) => submit(e, async (f) => {
    const data = new FormData(f);
    const body = { title: data.get("title"), text: data.get("text"), workgroup: data.get("workgroup") || null };
    if (r) await api.put(`/api/v1/responses/${r.id}`, body);
    else await api.post("/api/v1/responses", body);
  }, r ? `Response “${r.title}” saved.` : "Response added.") },
    field("Title", h("input", { name: "title", required: true, maxlength: 80, value: r ? r.title : "" })),
    field("For", audience("workgroup", r && r.workgroup)),
    field("Text", h("textarea", { name: "text", required: true, rows: 3, maxlength: 8000 }, r ? r.text : "")),
    h("div", {}, h("button", { class: "primary" }, r ? "Save" : "Add response")));
  fill(
    panel,
    h("h2", {}, "Standard responses"),
    h("p", { class: "muted small" }, `Agents insert these from the reply box: type / and a word. Placeholders filled for each conversation: ${PLACEHOLDERS.join(", ")}.`),
    rows.length
      ? table(["Title", "For", "Text", ""], rows.map((r) =>
        h("tr", { "data-response": r.id }, h("td", {}, r.title), h("td", {}, r.workgroup ? `${r.workgroup} members` : "Everyone"),
          h("td", { class: "small" }, r.text),
          h("td", {},
            h("button", { onclick: (e) => { e.target.closest("tr").after(h("tr", {}, h("td", { colspan: 4 }, form(r)))); e.target.disabled = true; } }, "Edit"),
            " ",
            h("button", { class: "danger", onclick: () => removeResponse(r) }, "Delete")))), "Standard responses")
      : h("p", { class: "muted" }, "No standard responses yet."),
    h("h3", {}, "New response"),
    form(null),
  );
}

async function removeResponse(r) {
  if (!confirm(`Delete the response “${r.title}”?`)) return;
  if (await attempt(() => api.del(`/api/v1/responses/${r.id}`)) !== undefined) { toast(`Response “${r.title}” deleted.`); reshow(); }
}

// ---- utilization, skills, wrap-up codes -----------------------------------------------------

async function utilization() {
  const [people, groups] = await Promise.all([api.get("/api/v1/users"), api.get("/api/v1/workgroups")]);
  const agents = people.filter((u) => u.rights.includes("agent"));
  fill(
    panel,
    h("h2", {}, "Utilization"),
    h("p", { class: "muted small" }, "An agent takes an interaction only while the sum of percentages stays at or below 100 % and each type stays below its maximum. A user's own setting wins over the workgroup's."),
    h("p", { class: "muted small", id: "other-types" }, "Switchboard routes the two social types. Call, callback, email, chat, work item and generic are the contact center's other interaction types, handled by other systems: Switchboard does not route them, it only counts them toward the agent's share, so an agent busy on a call takes less social work."),
    agents.map((u) => h("div", {},
      h("h3", {}, `${u.display_name} (${u.username})`),
      table(["Type", "Percent", "Max", "Inherited from"], socialFirst(Object.entries(u.utilization)).map(([type, x]) =>
        h("tr", {}, h("td", {}, typeName(type)), h("td", { class: "num" }, `${x.percent} %`), h("td", { class: "num" }, x.max),
          h("td", {}, x.inherited ? x.from : h("span", { class: "badge" }, "set on user")))), `Utilization of ${u.username}`))),
    h("h3", {}, "Workgroup defaults"),
    table(["Workgroup", "Type", "Percent", "Max"], groups.flatMap((g) => Object.entries(g.utilization).map(([type, x]) =>
      h("tr", {}, h("td", {}, g.name), h("td", {}, typeName(type)), h("td", { class: "num" }, `${x.percent} %`), h("td", { class: "num" }, x.max)))), "Workgroup utilization"),
  );
}

/** `[type, value]` pairs with the social types first, the others by name. */
function socialFirst(entries) {
  const rank = ([t]) => (t.startsWith("social_") ? `0${t}` : `1${t}`);
  return [...entries].sort((a, b) => rank(a).localeCompare(rank(b)));
}

/** An interaction type, saying which ones Switchboard does not route itself. */
function typeName(type) {
  if (type.startsWith("social_")) return words(type);
  return [words(type), h("span", { class: "small muted" }, " · other type, counts toward the share only")];
}

async function skills() {
  const people = await api.get("/api/v1/users");
  const byskill = new Map();
  for (const u of people) for (const [s, level] of Object.entries(u.skills)) {
    if (!byskill.has(s)) byskill.set(s, []);
    byskill.get(s).push(`${u.username} (${level})`);
  }
  fill(
    panel,
    h("h2", {}, "Skills"),
    table(["Skill", "Agents (level)"], [...byskill].sort().map(([s, who]) => h("tr", {}, h("td", {}, s), h("td", {}, who.join(", ")))), "Skills"),
    h("h3", {}, "Set an agent's skills"),
    h("form", { class: "grid", id: "set-skills", onsubmit: (e) => submit(e, async (form) => {
      const data = new FormData(form);
      const user = people.find((u) => u.username === data.get("user"));
      const levels = Object.fromEntries(Object.entries(pairs(data.get("skills") || "")).map(([k, v]) => [k, Number(v)]));
      await api.put(`/api/v1/users/${user.id}`, { skills: levels });
    }, "Skills saved.") },
      field("Agent", h("select", { name: "user" }, people.map((u) => h("option", { value: u.username }, u.username)))),
      field("Skills (name=level, 1-100)", h("input", { name: "skills", placeholder: "english=5, french=3" })),
      h("div", {}, h("button", { class: "primary" }, "Save skills"))),
  );
}

async function wrapupCodes() {
  const groups = await api.get("/api/v1/workgroups");
  fill(
    panel,
    h("h2", {}, "Wrap-up codes"),
    groups.map((g) => h("form", { class: "grid", dataset: { workgroup: g.name }, onsubmit: (e) => submit(e, async (form) => {
      const data = new FormData(form);
      await api.put(`/api/v1/workgroups/${g.id}`, { wrapup_codes: list(data.get("codes") || ""), wrapup_required: data.get("required") === "on" });
    }, `Wrap-up codes of ${g.name} saved.`) },
      h("h3", {}, g.name),
      field("Codes (comma separated)", h("input", { name: "codes", value: g.wrapup_codes.join(", ") })),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "required", checked: g.wrapup_required }), "Required"),
      h("div", {}, h("button", {}, "Save")))),
  );
}

// ---- workflows and plugins --------------------------------------------------------------------

async function plugins() {
  const rows = await api.get("/api/v1/plugins");
  fill(
    panel,
    h("h2", {}, "Plugins"),
    table(["Plugin", "Platform", "Version", "Health", "Channels", "Restarts", "Hosts it calls", "Settings it reads"], rows.map((p) =>
      h("tr", { dataset: { plugin: p.name } },
        h("td", {}, h("strong", {}, p.name), p.test_only ? [" ", h("span", { class: "badge warn" }, "test only")] : null, h("div", { class: "small muted" }, p.file)),
        h("td", {}, p.platform ? platformName(p.platform) : "–"),
        h("td", {}, p.version || "–"),
        h("td", {}, h("span", { class: `badge ${p.health === "ok" ? "good" : "bad"}`, title: p.error || "" }, p.health), p.error ? h("div", { class: "small" }, p.error) : null),
        h("td", {}, (p.channels || []).join(", ") || "–"),
        h("td", { class: "num" }, p.restarts ?? 0),
        h("td", { class: "small", dataset: { hosts: "" } }, (p.hosts || []).join(", ") || "–"),
        h("td", { class: "small" }, (p.config_keys || []).map((k) => k.name).join(", ")),
      )), "Plugins"),
  );
}

// ---- cluster ----------------------------------------------------------------------------------

const HOST_STATE = {
  up: ["good", "up"],
  missing: ["bad", "missing"],
  stopped: ["", "stopped"],
};

/** How long ago a heartbeat was, in seconds to the tenth. */
function lag(ms) {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s ago` : ago(Date.now() - ms);
}

/** The hosts sharing the store, which one leads, and what each runs; redrawn every two
 *  seconds while the screen is shown, so a change of leader shows as it happens. */
let clusterTimer;
async function cluster() {
  const c = await api.get("/api/v1/cluster");
  // Another screen was chosen while this one loaded: it is not drawn over.
  if (location.hash !== "#cluster") return;
  const up = c.hosts.filter((x) => x.state === "up").length;
  fill(
    panel,
    h("h2", {}, "Cluster"),
    h("p", { id: "cluster-leader" },
      c.leader
        ? ["Leader: ", h("strong", {}, c.leader), c.leader === c.this_host ? " (this host)." : "."]
        : h("span", { class: "badge bad" }, "No host holds the leader's lease at the moment.")),
    h("p", { class: "small muted" },
      c.hosts.length === 1
        ? "One host. Hosts started with the same PostgreSQL store are listed here, with the one holding the leader's lease."
        : `${up} of ${c.hosts.length} hosts up.`),
    table(["Host", "Address", "State", "Last heartbeat", "Channels", "Started"], c.hosts.map((x) => {
      const [tone, label] = HOST_STATE[x.state] || ["", x.state];
      return h("tr", { dataset: { host: x.host_id } },
        h("td", {}, h("strong", {}, x.host_id), x.leader ? [" ", h("span", { class: "badge good" }, "leader")] : null,
          x.host_id === c.this_host ? h("div", { class: "small muted" }, "this host") : null),
        h("td", {}, x.address),
        h("td", {}, h("span", { class: `badge ${tone}` }, label)),
        h("td", { title: when(x.last_heartbeat) }, lag(x.lag_ms)),
        h("td", {}, (x.channels || []).join(", ") || "–"),
        h("td", {}, when(x.started_at)));
    }), "Hosts"),
  );
  clearTimeout(clusterTimer);
  clusterTimer = setTimeout(() => {
    if (location.hash === "#cluster") drawing = drawing.then(cluster, cluster).catch(() => {});
  }, 2000);
}

start();
