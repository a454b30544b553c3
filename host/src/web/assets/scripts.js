// The administrator's view of workflow versions: each version this host loaded (newest
// first) with the scripts it changed, and any script's text as that version ran it.

import * as api from "/assets/api.js";
import { h, fill, when, attempt } from "/assets/ui.js";

/** The versions list and a reader for one script's text. */
export async function versionHistory() {
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
