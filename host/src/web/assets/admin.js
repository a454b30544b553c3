// The administrator desktop (`social_media_admin` right): channels with their status and
// suspended keywords, workgroups, users, stations, utilization, skills, wrap-up codes,
// workflow versions, plugins and the cluster's hosts. Each screen reads the API and writes through it; the
// server validates, and its message is shown as it is.

import * as api from "/assets/api.js";
import { h, fill, when, ago, words, toast, attempt, topBar, requireRight, platformName } from "/assets/ui.js";
import { retentionScreen } from "/assets/privacy.js";
import { workflowsScreen } from "/assets/scripts.js";

const nav = document.getElementById("admin-nav");
const panel = document.getElementById("admin-panel");

const SCREENS = [
  ["channels", "Channels", channels],
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

const reshow = () => show(location.hash.slice(1));

// ---- shared pieces --------------------------------------------------------------------------

/** A table in its own scrolling box: a wide one scrolls there, never the whole page. */
function table(headers, rows, caption) {
  return h("div", { class: "table-scroll", role: "region", "aria-label": caption, tabindex: 0 },
    h("table", {},
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

let fieldIds = 0;

/** A labelled input. The label points at the input (`for`) rather than wrapping it, so
 *  the input's accessible name is the label alone, not the label plus its value. */
function field(label, input) {
  input.id ||= `field-${++fieldIds}`;
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input);
}

function checks(name, values, checked = []) {
  return h("fieldset", { class: "row" }, h("legend", { class: "small muted" }, words(name)),
    values.map((v) => h("label", { class: "inline" }, h("input", { type: "checkbox", name, value: v, checked: checked.includes(v) }), v)));
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

/** `a=1, b=2` → `{a: "1", b: "2"}` (lines or commas). */
function pairs(text) {
  const out = {};
  for (const part of text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    if (at < 1) throw new Error(`“${part}” is not name=value`);
    out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

function list(text) {
  return text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

/** The API's field names as the forms label them. */
const FIELD_LABELS = {
  username: "User name", display_name: "Display name", password: "Password", name: "Name",
  rights: "Rights", skills: "Skills", members: "Members", workgroups: "Workgroups",
  wrapup_codes: "Wrap-up codes", wrapup_required: "Wrap-up required",
  sl_target_s: "Service level target", alert_timeout_ms: "Alert timeout",
  title: "Title", text: "Text", workgroup: "For",
};

/** The server's message in the form's words: `username: \`a b\` contains spaces` →
 *  `User name: “a b” contains spaces`. */
export function formWords(message) {
  const m = /^([a-z_]+): (.*)$/s.exec(message);
  const text = m && FIELD_LABELS[m[1]] ? `${FIELD_LABELS[m[1]]}: ${m[2]}` : message;
  return text.replace(/`([^`]*)`/g, "“$1”");
}

async function submit(e, fn, done) {
  e.preventDefault();
  const form = e.target;
  try {
    await fn(form);
    toast(done);
    reshow();
  } catch (err) {
    toast(formWords(err.message), "bad");
  }
}

// ---- channels -----------------------------------------------------------------------------

async function channels() {
  const [chans, plugs, groups, flows] = await Promise.all([
    attempt(() => api.get("/api/v1/channels")),
    attempt(() => api.get("/api/v1/plugins")),
    attempt(() => api.get("/api/v1/workgroups")),
    attempt(() => api.get("/api/v1/workflows")),
  ]);
  if (!chans) return fill(panel, h("p", { class: "notice bad" }, "Channels could not be loaded."));
  const choices = { plugs: plugs || [], groups: groups || [], scripts: flows?.scripts || ["default.rhai"] };
  const formBox = h("div", { id: "channel-form" }, channelForm(choices));
  const edit = (c) => {
    fill(formBox, channelForm(choices, c));
    formBox.querySelector("input, select")?.focus();
  };
  fill(
    panel,
    h("h2", {}, "Channels"),
    table(["Channel", "Platform", "Routes to", "Ingest", "Status", "Suspended keywords", ""], chans.map((c) => channelRow(c, edit)), "Channels"),
    h("div", { id: "channel-settings" }),
    formBox,
  );
}

function channelRow(c, edit) {
  const s = c.status || {};
  const health = s.last_error
    ? h("span", { class: "badge bad", title: s.last_error }, "Error")
    : h("span", { class: "badge good" }, "OK");
  return h("tr", { dataset: { channel: c.name } },
    h("td", {}, h("strong", {}, c.name), h("div", { class: "small muted" }, `${c.source === "config" ? "config file" : "created here"}${c.production ? "" : " · lab"}`)),
    h("td", {}, platformName(c.platform)),
    h("td", {}, c.workgroup, c.dm_workgroup && c.dm_workgroup !== c.workgroup ? ` / DMs: ${c.dm_workgroup}` : ""),
    h("td", {}, words(c.ingest), c.ingest !== "webhook" ? h("div", { class: "small muted" }, `every ${c.poll_interval_ms} ms, ${c.post_limit} per poll`) : null),
    h("td", { class: "small" },
      health,
      c.ingest !== "webhook" ? h("div", {}, s.polling ? "Polling" : "Not polling", s.last_ok_at ? ` · last ${when(s.last_ok_at)}` : "") : null,
      c.ingest !== "poll" ? h("div", {}, webhookStatus(c)) : null,
      s.stream_connected ? h("div", {}, "Stream connected") : null,
      (s.sources || []).length ? h("ul", { class: "sources" }, s.sources.map(sourceLine)) : null,
      (s.stream_failures || []).length ? streamFailures(s.stream_failures) : null,
      s.last_error ? channelProblem(s.last_error, s.last_error_at) : null,
    ),
    h("td", {}, (c.suspensions || []).length
      ? (c.suspensions || []).map((k) => h("div", { class: "row" },
        h("span", { class: "badge warn" }, k.keyword), k.until ? h("span", { class: "small muted" }, `until ${when(k.until)}`) : null,
        h("button", { onclick: () => lift(c.name, k.keyword), "aria-label": `Lift suspension of ${k.keyword}` }, "Lift")))
      : h("span", { class: "muted" }, "None")),
    h("td", {},
      h("button", { onclick: () => showSettings(c) }, "Settings"),
      c.source !== "config" ? h("button", { onclick: () => edit(c), "aria-label": `Edit ${c.name}` }, "Edit") : null,
      c.source !== "config" ? h("button", { class: "danger", onclick: () => removeChannel(c.name), "aria-label": `Delete ${c.name}` }, "Delete") : null),
  );
}

/** One source of the channel's polls (a search, mentions, direct messages, a feed): each
 *  goes on by itself, so one failing shows here while the others keep bringing messages. */
function sourceLine(src) {
  const warnings = src.warnings || [];
  return h("li", { dataset: { source: src.name } },
    h("span", { class: `badge ${src.ok ? "good" : "bad"}` }, src.ok ? "OK" : "Failing"), ` ${src.name}`,
    !src.ok && src.error
      ? h("div", {}, src.error, src.retry_at ? h("span", { class: "muted" }, ` · asked again ${when(src.retry_at)}`) : null)
      : null,
    warnings.length
      ? h("details", { class: "muted" },
        h("summary", {}, `${warnings.length} partial ${warnings.length === 1 ? "problem" : "problems"} in answers`),
        warnings.map((w) => h("div", {}, `${when(w.at)}: ${w.text}`)))
      : null);
}

/** Stream lines that could not be read or stored: kept and tried again until they are. */
function streamFailures(failures) {
  const n = failures.length;
  return h("div", { class: "channel-problem" },
    h("div", {}, `${n} stream ${n === 1 ? "line was" : "lines were"} not stored; ${n === 1 ? "it is" : "they are"} tried again.`),
    h("details", { class: "muted" }, h("summary", {}, "Technical detail"),
      failures.map((f) => h("div", { class: "technical" },
        `${f.attempts} ${f.attempts === 1 ? "attempt" : "attempts"}, next ${when(f.retry_at)}: ${f.error} — ${f.line}`))));
}

/** A channel's last error in plain words with what to do, the technical text folded
 *  away for whoever reads logs. */
function channelProblem(error, at) {
  let words = "The last call to the platform failed. It is tried again at the next poll.";
  const host = /host of `([^`]+)` is not on this channel's allowed_hosts/.exec(error);
  const internal = /host of `([^`]+)` is refused: it (?:is|resolves to) ([^,]+), (an? [^;(]+)/.exec(error);
  if (host) {
    words = `The plugin may not call ${originOf(host[1]) || host[1]}. Edit the channel and add it to Allowed hosts.`;
  } else if (internal) {
    words = `The plugin was stopped from reaching ${originOf(internal[1]) || internal[1]}: ${internal[2]} is ${internal[3].trim()}. Only a host written exactly in Allowed hosts may be inside your network.`;
  } else if (/unauthori[sz]ed|HTTP 401|HTTP 403|forbidden/i.test(error)) {
    words = "The platform refused the channel's credentials. Edit the channel and check its tokens and secrets.";
  } else if (/^webhook:/.test(error)) {
    words = "A webhook call from the platform was refused. Check the verify token and the app secret.";
  } else if (/timed? ?out|connect|unreachable|dns|resolve/i.test(error)) {
    words = "The platform could not be reached. It is tried again at the next poll.";
  } else if (/trap|panic|unreachable code|out of fuel|memory/i.test(error)) {
    words = "The plugin failed and was restarted. If this keeps happening, tell whoever maintains the plugin.";
  }
  return h("div", { class: "channel-problem" },
    h("div", {}, words, h("span", { class: "muted" }, ` (${when(at)})`)),
    h("details", { class: "muted" }, h("summary", {}, "Technical detail"), h("div", { class: "technical" }, error)));
}

/** Apple has no verification handshake: each request's JWT is checked instead. */
function webhookStatus(c) {
  const s = c.status || {};
  if (s.webhook_verified) return `Webhook verified ${when(s.webhook_verified_at)}`;
  if (c.platform === "apple") return "Webhook: each request's JWT is checked";
  return "Webhook not verified yet";
}

function showSettings(c) {
  const rows = [
    ["Workflow", c.workflow], ["Webhook URL", `${location.origin}${c.webhook_url}`],
    ["Poll interval", `${c.poll_interval_ms} ms`], ["Post limit", c.post_limit],
    ["RPC cache timeout", `${c.rpc_cache_timeout_s} s`], ["Grouping timeout", `${c.grouping_timeout_s} s`],
    ["Production", c.production ? "yes" : "no (lab)"], ["Do not store personal data", c.do_not_store_personal_data ? "yes" : "no"],
    ["Plugin", `${c.plugin} ${c.plugin_version || ""}`],
    ...Object.entries(c.settings || {}), ...Object.entries(c.secrets || {}),
  ];
  fill(document.getElementById("channel-settings"),
    h("h3", {}, `Settings of ${c.name}`),
    h("dl", { class: "attrs" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])));
}

async function lift(channel, keyword) {
  if (await attempt(() => api.del(`/api/v1/channels/${encodeURIComponent(channel)}/suspensions/${encodeURIComponent(keyword)}`)) !== undefined) {
    toast(`“${keyword}” is used again on ${channel}.`);
    reshow();
  }
}

async function removeChannel(name) {
  if (!confirm(`Delete channel ${name}? Its stored interactions stay.`)) return;
  if (await attempt(() => api.del(`/api/v1/channels/${encodeURIComponent(name)}`)) !== undefined) {
    toast(`Channel ${name} deleted.`);
    reshow();
  }
}

/** The new-channel form, or with `c` the form that replaces an administrator's channel
 *  (`PUT`): prefilled, name fixed, and secrets left empty keep their stored value. */
function channelForm({ plugs, groups, scripts }, c = null) {
  const keys = h("div", { id: "plugin-keys", class: "keys" });
  const select = (name, options, value) => {
    const el = h("select", { name }, options.map(([v, label]) => h("option", { value: v }, label)));
    if (value !== undefined && value !== null) el.value = value;
    return el;
  };
  const groupNames = groups.map((g) => [g.name, g.name]);
  // Test plugins (tests/plugins, such as the deliberately faulty one) are listed under
  // Plugins but not offered for a new channel; a channel already on one keeps it.
  const offered = plugs.filter((p) => p.health === "ok" && (!p.test_only || p.name === c?.plugin));
  const pluginSelect = select("plugin",
    offered.map((p) => [p.name, `${platformName(p.platform)} (${p.name} ${p.version})`]), c?.plugin);
  const hosts = h("textarea", { name: "allowed_hosts", rows: 2, "aria-describedby": "hosts-hint" }, (c?.allowed_hosts || []).join("\n"));
  // Once the administrator writes in Allowed hosts, it is theirs: no more proposals.
  hosts.addEventListener("input", () => { hosts.dataset.edited = "true"; });
  const declared = h("div", { class: "small muted", id: "declared-hosts" });
  const refill = () => {
    pluginKeys(plugs, pluginSelect.value, keys, c, hosts);
    declaredHosts(plugs, pluginSelect.value, declared);
  };
  pluginSelect.addEventListener("change", refill);
  const number = (name, min, max, value) => h("input", { name, type: "number", min, max, value });
  const form = h("form", { class: "grid", id: c ? "edit-channel" : "new-channel", onsubmit: (e) => submit(e, (f) => saveChannel(f, c), c ? `Channel ${c.name} saved; it restarted with the new settings.` : "Channel created.") },
    field("Name", h("input", { name: "name", required: true, pattern: "[a-z0-9_\\-]{1,40}", title: "lower-case letters, digits, - and _", value: c?.name, readonly: Boolean(c) })),
    field("Plugin", pluginSelect),
    field("Workgroup", select("workgroup", groupNames, c?.workgroup)),
    field("Direct-message workgroup", select("dm_workgroup", [["", "Same"], ...groupNames], c?.dm_workgroup ?? "")),
    field("Workflow", select("workflow", scripts.map((s) => [s, s]), c?.workflow ?? "default.rhai")),
    field("Ingest", select("ingest", ["poll", "webhook", "both"].map((v) => [v, words(v)]), c?.ingest)),
    field("Poll interval (ms)", number("poll_interval_ms", 100, null, c?.poll_interval_ms ?? 5000)),
    field("Post limit per poll", number("post_limit", 1, null, c?.post_limit ?? 100)),
    field("RPC cache timeout (s)", number("rpc_cache_timeout_s", 0, 3600, c?.rpc_cache_timeout_s ?? 90)),
    field("Grouping timeout (s)", number("grouping_timeout_s", 10, 3600, c?.grouping_timeout_s ?? 60)),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "production", checked: c ? c.production : true }), "Production"),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "do_not_store_personal_data", checked: c?.do_not_store_personal_data }), "Do not store personal data"),
    hostsField(hosts, declared),
    keys,
    field("More settings (name=value per line)", h("textarea", { name: "more_settings", rows: 2 })),
    field(c ? "More secrets (name=value per line; empty keeps the stored ones)" : "More secrets (name=value per line)", h("textarea", { name: "more_secrets", rows: 2 })),
    h("div", { class: "row" },
      h("button", { class: "primary" }, c ? "Save channel" : "Create channel"),
      c ? h("button", { type: "button", onclick: reshow }, "Cancel") : null),
  );
  queueMicrotask(refill);
  return h("div", {}, h("h3", {}, c ? `Edit channel ${c.name}` : "New channel"), form);
}

/** One input per setting the plugin reads, secrets as password fields. A key named with a
 *  pattern (`token_<handle>`) stands for several; it is explained, and set under "More". */
function pluginKeys(plugs, name, box, c = null, hosts = null) {
  const plugin = plugs.find((p) => p.name === name);
  const declared = new Set((plugin?.config_keys || []).map((k) => k.name));
  // Settings of the channel being edited that no field shows go to "More settings".
  const more = box.closest("form")?.querySelector("[name=more_settings]");
  if (c && more && !more.value) {
    more.value = Object.entries(c.settings || {}).filter(([k]) => !declared.has(k)).map(([k, v]) => `${k}=${v}`).join("\n");
  }
  fill(box, (plugin?.config_keys || []).map((k) => {
    const hint = h("div", { class: "small muted", id: `hint-${k.name}` }, k.description);
    if (k.name.includes("<")) {
      return h("div", { class: "field" }, h("strong", { class: "small" }, `${k.name}${k.required ? " *" : ""}`),
        h("div", { class: "small muted" }, `${k.description} Add one line per value under More ${k.secret ? "secrets" : "settings"}.`));
    }
    const given = k.default_value ?? k.default;
    if (!k.secret && (given === "true" || given === "false")) {
      // A yes/no setting: a checkbox, sent as "true" or "false" (see saveChannel).
      const current = c?.settings?.[k.name] ?? given;
      return h("div", { class: "field" },
        h("label", { class: "inline" },
          h("input", { type: "checkbox", dataset: { bool: k.name }, checked: current === "true", "aria-describedby": hint.id }),
          k.name),
        hint);
    }
    const input = h("input", {
      name: `${k.secret ? "secret" : "setting"}:${k.name}`, type: k.secret ? "password" : "text",
      // When editing, an empty secret keeps the stored one.
      required: k.required && !(c && k.secret),
      placeholder: c && k.secret ? "unchanged" : k.default_value ?? k.default ?? "", "aria-describedby": hint.id,
      value: k.secret ? null : c?.settings?.[k.name] ?? null,
    });
    if (hosts && /_url$/.test(k.name)) input.addEventListener("input", () => proposeHosts(box, hosts));
    const f = field(`${k.name}${k.required ? " *" : ""}`, input);
    f.append(hint);
    return f;
  }));
}

/** Allowed hosts, with a hint of what is proposed there and the plugin's own hosts. */
function hostsField(hosts, declared) {
  const f = field("Allowed hosts (one per line)", hosts);
  f.classList.add("wide");
  f.append(h("div", { class: "small muted", id: "hosts-hint" },
    "The hosts this channel's plugin may call, as scheme://host:port. Empty: the hosts the plugin names itself. A base URL you type above is added here. A host inside your network (such as 127.0.0.1 or 10.0.0.5) is reached only when written here exactly."), declared);
  return f;
}

/** What the chosen plugin calls when Allowed hosts is empty, shown before the channel
 *  is created. */
function declaredHosts(plugs, name, box) {
  const hosts = plugs.find((p) => p.name === name)?.hosts || [];
  fill(box, hosts.length
    ? `With Allowed hosts empty, this plugin calls: ${hosts.join(", ")}.`
    : "This plugin names no host of its own: with Allowed hosts empty, it may call none.");
}

/** `https://api.example.com:8443/v2/` → `https://api.example.com:8443`; null if not a URL. */
export function originOf(text) {
  try {
    const url = new URL(text.trim());
    return /^https?:$/.test(url.protocol) ? url.origin : null;
  } catch {
    return null;
  }
}

/** Fills Allowed hosts from the base URLs typed in the form, unless the administrator
 *  wrote in it: a channel pointed at another host (an emulator, a regional API) cannot
 *  reach it otherwise, and the first poll fails. */
function proposeHosts(box, hosts) {
  if (hosts.dataset.edited) return;
  const origins = [...box.querySelectorAll("input[name^='setting:']")]
    .filter((i) => /_url$/.test(i.name) && i.value.trim())
    .map((i) => originOf(i.value))
    .filter(Boolean);
  hosts.value = [...new Set(origins)].join("\n");
}

/** Creates the channel (`POST`), or replaces `c` (`PUT`). */
async function saveChannel(form, c) {
  const data = new FormData(form);
  const body = {
    name: data.get("name"), plugin: data.get("plugin"), workgroup: data.get("workgroup"),
    workflow: data.get("workflow"), grouping_timeout_s: Number(data.get("grouping_timeout_s")),
    ingest: data.get("ingest"), poll_interval_ms: Number(data.get("poll_interval_ms")),
    post_limit: Number(data.get("post_limit")), rpc_cache_timeout_s: Number(data.get("rpc_cache_timeout_s")),
    production: data.get("production") === "on", do_not_store_personal_data: data.get("do_not_store_personal_data") === "on",
    allowed_hosts: list(data.get("allowed_hosts") || ""), settings: {}, secrets: {},
  };
  if (data.get("dm_workgroup")) body.dm_workgroup = data.get("dm_workgroup");
  Object.assign(body.settings, pairs(data.get("more_settings") || ""));
  Object.assign(body.secrets, pairs(data.get("more_secrets") || ""));
  for (const box of form.querySelectorAll("input[data-bool]")) {
    body.settings[box.dataset.bool] = box.checked ? "true" : "false";
  }
  for (const [k, v] of data.entries()) {
    if (!v) continue;
    if (k.startsWith("setting:")) body.settings[k.slice(8)] = v;
    if (k.startsWith("secret:")) body.secrets[k.slice(7)] = v;
  }
  if (c) await api.put(`/api/v1/channels/${encodeURIComponent(c.name)}`, body);
  else await api.post("/api/v1/channels", body);
}

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
