// The administrator's Workflows screen: the running version, the last refused reload,
// warnings, failures while running, and each version this host loaded (newest first) with
// the scripts it changed and any script's text as that version ran it.

import * as api from "/assets/api.js";
import { h, fill, when, attempt } from "/assets/ui.js";

/** The versions list and a reader for one script's text. */
async function versionHistory() {
  const versions = await api.get("/api/v1/workflows/versions");
  const reader = h("section", { id: "script-text", class: "hidden", "aria-live": "polite" });
  const open = async (version, name) => {
    const s = await attempt(() => api.get(`/api/v1/workflows/versions/${version}/scripts/${encodeURIComponent(name)}`));
    if (!s) return;
    reader.classList.remove("hidden");
    fill(reader,
      h("h4", {}, `${s.name}, v${s.version} (loaded ${when(s.loaded_at)})`),
      h("pre", { class: "script", tabindex: "0", "aria-label": `${s.name} as v${s.version} ran it` }, s.text));
    reader.scrollIntoView({ behavior: "smooth", block: "nearest" });
  };
  return h("div", {},
    h("h3", {}, "Versions and scripts"),
    h("p", { class: "muted small" }, "Every version this host loaded (the last 50), with the scripts each changed. Select a script to read it as that version ran it."),
    h("table", { "aria-label": "Workflow versions" },
      h("thead", {}, h("tr", {}, h("th", {}, "Version"), h("th", {}, "Loaded"), h("th", {}, "Scripts"))),
      h("tbody", {}, versions.map((v) => h("tr", { dataset: { version: v.version } },
        h("td", {}, `v${v.version}`),
        h("td", {}, when(v.loaded_at)),
        h("td", {}, v.scripts.map((name, i) => [i ? ", " : "",
          h("button", { class: "link", "aria-label": `Read ${name} of v${v.version}`, onclick: () => open(v.version, name) }, name),
          v.changed.includes(name) ? h("span", { class: "badge warn small" }, " changed") : null]),
          v.removed.length ? h("span", { class: "muted small" }, ` (removed: ${v.removed.join(", ")})`) : null))))),
    reader);
}

/** The Workflows screen: what runs, refused reloads, warnings, failures and versions. */
export async function workflowsScreen(panel) {
  const w = await api.get("/api/v1/workflows");
  fill(
    panel,
    h("h2", {}, "Workflows"),
    h("dl", { class: "attrs" },
      h("dt", {}, "Running version"), h("dd", {}, `v${w.version}, loaded ${when(w.loaded_at)}`),
      h("dt", {}, "Folder"), h("dd", {}, w.dir),
      h("dt", {}, "Scripts"), h("dd", {}, w.scripts.join(", ")),
      h("dt", {}, "Earlier versions still running"), h("dd", {}, w.kept_versions.length ? w.kept_versions.map((v) => `v${v}`).join(", ") : "none"),
      h("dt", {}, "Refused reloads"), h("dd", {}, w.refused_reloads)),
    h("h3", {}, "Last refused reload"),
    w.last_error
      ? h("div", { class: "notice bad" }, h("p", {}, `Refused ${when(w.last_error.at)}; v${w.version} keeps running.`), h("pre", { class: "wrap" }, w.last_error.error))
      : h("p", { class: "notice" }, "None: the last reload was accepted."),
    h("h3", {}, "Warnings"),
    (w.warnings || []).length
      ? h("div", { id: "workflow-warnings", class: "notice warn" },
        h("p", {}, `v${w.version} runs, but names what nobody has yet: until someone does, that work waits or fails.`),
        h("ul", { class: "plain" }, ...w.warnings.map((text) => h("li", {}, h("code", { class: "wrap" }, text)))))
      : h("p", { class: "notice" }, "None: every agent and skill the scripts name exists."),
    h("h3", {}, "Failures while running"),
    (w.runtime_errors || []).length
      ? h("div", { id: "runtime-errors" }, ...w.runtime_errors.map(scriptFailures))
      : h("p", { class: "notice" }, "None since the host started."),
    await versionHistory(),
  );
}

/** One script's failures while running: how many, and the last few, innermost fault first. */
function scriptFailures(s) {
  return h("section", { class: "card", dataset: { script: s.script } },
    h("p", {}, h("strong", {}, `${s.script}: ${s.count} failure${s.count === 1 ? "" : "s"}`)),
    h("p", { class: "small muted" }, "Each message it failed on went to its channel's own route. Its interaction carries the attribute workflow_fallback with the reason; GET /api/v1/interactions?workflow_fallback=true lists them."),
    h("ul", { class: "plain" }, ...s.recent.map((e) =>
      h("li", {},
        h("div", { class: "small" }, `${when(e.at)} · ${e.handler} · `,
          e.interaction_id ? `interaction #${e.interaction_id}` : `message ${e.message_id} on ${e.channel}`),
        h("pre", { class: "wrap notice bad" }, e.error)))));
}

