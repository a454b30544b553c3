// The administrator's Channels screen: each channel with its status, sources, problems
// and suspended keywords; the guided form that creates or replaces one, labelling each
// setting as its platform does, saying where to find it, and testing the credentials
// against the platform before anything is saved. A channel is paused (after a
// confirmation) and resumed from its row: a paused one shows how many messages wait.

import * as api from "/assets/api.js";
import { h, fill, when, words, toast, attempt, platformName } from "/assets/ui.js";
import { table, field, pairs, list, submit, formWords, reshow } from "/assets/adminkit.js";

export async function channelsScreen(panel) {
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
  return h("tr", { dataset: { channel: c.name, paused: String(Boolean(c.paused)) } },
    h("td", {}, h("strong", {}, c.name), h("div", { class: "small muted" }, `${c.source === "config" ? "config file" : "created here"}${c.production ? "" : " · lab"}`)),
    h("td", {}, platformName(c.platform)),
    h("td", {}, c.workgroup, c.dm_workgroup && c.dm_workgroup !== c.workgroup ? ` / DMs: ${c.dm_workgroup}` : ""),
    h("td", {}, words(c.ingest), c.ingest !== "webhook" ? h("div", { class: "small muted" }, `every ${c.poll_interval_ms} ms, ${c.post_limit} per poll`) : null),
    h("td", { class: "small" },
      pauseState(c),
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
      h("button", { onclick: () => testRunning(c), "aria-label": `Test the credentials of ${c.name}` }, "Test"),
      c.paused
        ? h("button", { class: "primary", onclick: () => resumeChannel(c.name), "aria-label": `Resume ${c.name}` }, "Resume")
        : h("button", { onclick: () => pauseChannel(c.name), "aria-label": `Pause ${c.name}` }, "Pause"),
      c.source !== "config" ? h("button", { onclick: () => edit(c), "aria-label": `Edit ${c.name}` }, "Edit") : null,
      c.source !== "config" ? h("button", { class: "danger", onclick: () => removeChannel(c.name), "aria-label": `Delete ${c.name}` }, "Delete") : null),
  );
}

/** Paused: what arrives is stored but not routed; how many messages wait, since when and
 *  by whom. Resumed while some still wait: they are being routed, in arrival order. */
function pauseState(c) {
  const waiting = c.waiting || 0;
  const count = `${waiting} ${waiting === 1 ? "message" : "messages"}`;
  if (c.paused) {
    return h("div", { class: "pause-state" },
      h("span", { class: "badge paused" }, "Paused"),
      h("span", { class: "waiting" }, ` ${count} waiting`),
      h("div", { class: "muted" }, `Since ${when(c.paused_at)}${c.paused_by ? ` by ${c.paused_by}` : ""}. New messages are stored, not routed.`));
  }
  if (waiting > 0) {
    return h("div", { class: "pause-state" },
      h("span", { class: "badge warn" }, "Resuming"),
      h("span", { class: "waiting" }, ` ${count} still to route`));
  }
  return null;
}

/** Pauses or resumes `name`; a refusal is told in plain words, and a channel gone meanwhile
 *  leaves the list as it is drawn again. */
async function pauseOrResume(name, action) {
  try {
    return await api.post(`/api/v1/channels/${encodeURIComponent(name)}/${action}`);
  } catch (e) {
    toast(`Channel ${name} was not ${action}d: ${formWords(e.message)}`, "bad");
    if (e.status === 404) reshow();
    return undefined;
  }
}

async function pauseChannel(name) {
  if (!confirm(`Pause channel ${name}? What its customers send is still stored, but nobody is offered it until you resume the channel.`)) return;
  if (await pauseOrResume(name, "pause") !== undefined) {
    toast(`Channel ${name} paused: new messages are stored and wait.`);
    reshow();
  }
}

async function resumeChannel(name) {
  const c = await pauseOrResume(name, "resume");
  if (c !== undefined) {
    const waiting = c?.waiting || 0;
    toast(waiting
      ? `Channel ${name} resumed: ${waiting} waiting ${waiting === 1 ? "message is" : "messages are"} being routed, oldest first.`
      : `Channel ${name} resumed.`);
    reshow();
  }
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
  const ingest = select("ingest", ["poll", "webhook", "both"].map((v) => [v, words(v)]), c?.ingest);
  const refill = () => {
    ingestModes(plugs.find((p) => p.name === pluginSelect.value), ingest);
    pluginKeys(plugs, pluginSelect.value, keys, c, hosts);
    declaredHosts(plugs, pluginSelect.value, declared);
  };
  for (const option of pluginSelect.options) {
    option.dataset.platform = offered.find((p) => p.name === option.value)?.platform || "";
  }
  pluginSelect.addEventListener("change", refill);
  const number = (name, min, max, value) => h("input", { name, type: "number", min, max, value });
  const form = h("form", { class: "grid", id: c ? "edit-channel" : "new-channel", onsubmit: (e) => submit(e, (f) => saveChannel(f, c), c ? `Channel ${c.name} saved; it restarted with the new settings.` : "Channel created.") },
    field("Name", h("input", { name: "name", required: true, pattern: "[a-z0-9_\\-]{1,40}", title: "lower-case letters, digits, - and _", value: c?.name, readonly: Boolean(c) })),
    field("Plugin", pluginSelect),
    field("Workgroup", select("workgroup", groupNames, c?.workgroup)),
    field("Direct-message workgroup", select("dm_workgroup", [["", "Same"], ...groupNames], c?.dm_workgroup ?? "")),
    field("Workflow", select("workflow", scripts.map((s) => [s, s]), c?.workflow ?? "default.rhai")),
    field("Ingest", ingest),
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
    h("div", { class: "row wide" },
      h("button", { class: "primary" }, c ? "Save channel" : "Create channel"),
      h("button", { type: "button", onclick: (e) => testDraft(e.target.form), "aria-describedby": "credentials-result" }, "Test credentials"),
      c ? h("button", { type: "button", onclick: reshow }, "Cancel") : null),
    h("div", { id: "credentials-result", class: "wide", role: "status", "aria-live": "polite" }),
  );
  queueMicrotask(refill);
  return h("div", {}, h("h3", {}, c ? `Edit channel ${c.name}` : "New channel"), form);
}

/** Offers only the ingest modes the plugin can do (a webhook-only platform cannot be
 *  polled); the current choice stays when it is still possible. */
function ingestModes(plugin, select) {
  const can = plugin?.capabilities || ["poll", "webhook"];
  const possible = { poll: can.includes("poll"), webhook: can.includes("webhook") };
  possible.both = possible.poll && possible.webhook;
  for (const option of select.options) option.disabled = !possible[option.value];
  if (select.selectedOptions[0]?.disabled) {
    select.value = [...select.options].find((o) => !o.disabled)?.value ?? select.value;
  }
}

/** One input per setting the plugin reads, labelled as the platform's console calls it,
 *  with what it means and where to find it; secrets as password fields. A key named with
 *  a pattern (`token_<handle>`) stands for several: it is explained, and set under "More". */
function pluginKeys(plugs, name, box, c = null, hosts = null) {
  const plugin = plugs.find((p) => p.name === name);
  const declared = new Set((plugin?.config_keys || []).map((k) => k.name));
  // Settings of the channel being edited that no field shows go to "More settings".
  const more = box.closest("form")?.querySelector("[name=more_settings]");
  if (c && more && !more.value) {
    more.value = Object.entries(c.settings || {}).filter(([k]) => !declared.has(k)).map(([k, v]) => `${k}=${v}`).join("\n");
  }
  fill(box, (plugin?.config_keys || []).map((k) => {
    const hint = keyHint(k, c);
    if (k.name.includes("<")) {
      return h("div", { class: "field", dataset: { key: k.name } }, h("strong", { class: "small" }, `${k.label || k.name}${k.required ? " *" : ""}`),
        hint, h("div", { class: "small muted" }, `Add one line per value under More ${k.secret ? "secrets" : "settings"}, as ${k.name}=….`));
    }
    const given = k.default_value ?? k.default;
    if (!k.secret && (given === "true" || given === "false")) {
      // A yes/no setting: a checkbox, sent as "true" or "false" (see channelBody).
      const current = c?.settings?.[k.name] ?? given;
      return h("div", { class: "field", dataset: { key: k.name } },
        h("label", { class: "inline" },
          h("input", { type: "checkbox", dataset: { bool: k.name }, checked: current === "true", "aria-describedby": hint.id }),
          k.label || k.name),
        hint);
    }
    const input = h("input", {
      name: `${k.secret ? "secret" : "setting"}:${k.name}`, type: k.secret ? "password" : "text",
      // When editing, an empty secret keeps the stored one.
      required: k.required && !(c && k.secret),
      autocomplete: k.secret ? "new-password" : "off",
      placeholder: c && k.secret ? "unchanged" : k.default_value ?? k.default ?? "", "aria-describedby": hint.id,
      value: k.secret ? null : c?.settings?.[k.name] ?? null,
    });
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
    if (hosts && /_url$/.test(k.name)) input.addEventListener("input", () => proposeHosts(box, hosts));
    const f = field(`${k.label || k.name}${k.required ? " *" : ""}`, input);
    f.dataset.key = k.name;
    if (k.secret) {
      const label = f.querySelector("label");
      label.classList.add("with-badge");
      label.append(h("span", { class: "badge" }, "secret"));
    }
    f.append(hint);
    return f;
  }));
}

/** What a setting means, where to find it on the platform, and its name in a config file. */
function keyHint(k, c) {
  const id = `hint-${k.name.replace(/[^a-z0-9_-]/gi, "_")}`;
  return h("div", { class: "small muted key-hint", id },
    k.description,
    k.where_to_find ? h("div", { class: "where" }, h("strong", {}, "Where to find it: "), k.where_to_find) : null,
    h("div", {},
      k.secret ? (c ? "Secret: kept sealed and never shown again; leave empty to keep the stored one. " : "Secret: kept sealed and never shown again. ") : "",
      "In a config file: ", h("code", {}, `${k.secret ? "secrets" : "settings"}.${k.name}`)));
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

/** The channel the form describes, as the API takes it. */
function channelBody(form) {
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
  return body;
}

/** Creates the channel (`POST`), or replaces `c` (`PUT`). */
async function saveChannel(form, c) {
  const body = channelBody(form);
  if (c) await api.put(`/api/v1/channels/${encodeURIComponent(c.name)}`, body);
  else await api.post("/api/v1/channels", body);
}

/** The Test button: the form's channel, unsaved, checked against the platform. Secrets
 *  left empty while editing are the stored ones (the server fills them in). */
async function testDraft(form) {
  const out = form.querySelector("#credentials-result");
  const name = form.querySelector("[name=name]");
  if (!name.reportValidity()) return;
  let body;
  try {
    body = channelBody(form);
  } catch (e) {
    return fill(out, h("div", { class: "notice bad" }, e.message));
  }
  fill(out, h("div", { class: "notice" }, `Asking ${platformName(pluginPlatform(form))}…`));
  try {
    const answer = await api.post(`/api/v1/channels/${encodeURIComponent(body.name)}/check`, body);
    fill(out, checkAnswer(answer));
    pointAt(form, answer);
  } catch (e) {
    fill(out, h("div", { class: "notice bad" }, formWords(e.message)));
    pointAt(form, e.data);
  }
}

/** A setting or secret the server names (`setting`/`secret`): its field is marked and
 *  focused, so the administrator sees what to change. */
function pointAt(form, named) {
  const key = named?.setting || named?.secret;
  const input = key && form.querySelector(`[name="${named.setting ? "setting" : "secret"}:${CSS.escape(key)}"]`);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

/** The platform the chosen plugin speaks (for "Asking Facebook…"). */
function pluginPlatform(form) {
  const select = form.querySelector("[name=plugin]");
  return select?.selectedOptions[0]?.dataset.platform || "the platform";
}

/** A running channel's credentials, checked as they are now. */
async function testRunning(c) {
  try {
    const answer = await api.call("POST", `/api/v1/channels/${encodeURIComponent(c.name)}/check`);
    toast(`${c.name}: ${answer.message}`, answer.works ? undefined : answer.reason === "unsupported" || answer.reason === "unreachable" ? "warn" : "bad");
  } catch (e) {
    toast(`${c.name}: ${e.message}`, "bad");
  }
}

/** What the check found: the account, or why not; and anything to know although it works. */
function checkAnswer(a) {
  const kind = a.works ? "good" : a.reason === "unsupported" || a.reason === "unreachable" ? "warn" : "bad";
  const warnings = a.account?.warnings || [];
  return h("div", { class: `notice ${kind}`, dataset: { works: String(a.works), reason: a.reason || "" } },
    h("div", {}, a.message.replace(/`([^`]*)`/g, "“$1”")),
    warnings.length ? h("ul", {}, warnings.map((w) => h("li", {}, w))) : null);
}
