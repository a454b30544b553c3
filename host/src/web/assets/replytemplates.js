// The template composer of the reply box (WhatsApp outside the 24-hour window): the
// business account's templates as the platform lists them (`GET
// /api/v1/interactions/{id}/templates`), only approved ones selectable, a field per
// body parameter and a live preview of what the customer will read. A template whose
// header is media is sent with the reply's first attached file as its header.

import { h } from "/assets/ui.js";
import * as api from "/assets/api.js";

/** `body` with `{{n}}` replaced by `values[n-1]` (an empty value shows as `{{n}}`). */
export function fill(body, values) {
  return String(body || "").replace(/\{\{(\d+)\}\}/g, (all, n) => {
    const v = values[Number(n) - 1];
    return v && v.trim() ? v : all;
  });
}

/**
 * The composer for interaction `d`: `element`, `load()` (asks the server once),
 * `template(files)` → `{ template }` to send or `{ error, focus }` to show, and
 * `available()` whether there is any template to send. `onChange()` is called as the
 * agent types.
 */
export function templateComposer(d, onChange) {
  let list = (d.templates || []).map((t) => ({ ...t, status: "APPROVED", body: "", parameters: 0 }));
  let source = "setting";
  let loaded = null;
  const select = h("select", { id: "template", name: "template", "aria-label": "Template" });
  const params = h("div", { class: "template-params" });
  const preview = h("div", { class: "template-preview", id: "template-preview", "aria-live": "polite", "aria-label": "What the customer will read" });
  const status = h("div", { class: "small muted", id: "template-status", role: "status" });
  const element = h("div", { class: "template-composer hidden", id: "template-label" },
    h("label", {}, "Template ", select), status, params, preview);

  const current = () => list[Number(select.value)] || null;
  const values = () => [...params.querySelectorAll("input")].map((i) => i.value);

  const drawOptions = () => {
    select.replaceChildren(...list.map((t, i) => h("option", {
      value: String(i), disabled: t.status !== "APPROVED",
    }, `${t.name} (${t.language})${t.status !== "APPROVED" ? ` — ${t.status.toLowerCase()}, cannot be sent` : ""}`)));
    const first = list.findIndex((t) => t.status === "APPROVED");
    if (first >= 0) select.value = String(first);
    drawParams();
  };
  const drawParams = () => {
    const t = current();
    params.replaceChildren();
    if (t) {
      for (let n = 1; n <= t.parameters; n += 1) {
        params.append(h("label", { class: "inline" }, `{{${n}}} `,
          h("input", { type: "text", name: `param-${n}`, id: `template-param-${n}`, "aria-label": `Parameter ${n}`, oninput: () => { drawPreview(); onChange(); } })));
      }
    }
    drawPreview();
  };
  const drawPreview = () => {
    const t = current();
    preview.replaceChildren();
    if (!t) return;
    if (!t.body) {
      preview.append(h("p", { class: "small muted" }, `The platform's text of ${t.name} is not known here (it comes from the channel's templates setting).`));
      return;
    }
    if (t.header === "text" && t.header_text) preview.append(h("strong", {}, t.header_text));
    else if (t.header) preview.append(h("div", { class: "small muted" }, `Header: the first attached ${t.header === "document" ? "document" : t.header}.`));
    preview.append(h("p", {}, fill(t.body, values())));
    if (t.footer) preview.append(h("div", { class: "small muted" }, t.footer));
  };
  select.addEventListener("change", () => { drawParams(); onChange(); });
  drawOptions();

  return {
    element,
    available: () => list.some((t) => t.status === "APPROVED"),
    load() {
      if (!loaded) {
        status.textContent = "Loading the account's templates…";
        loaded = api.get(`/api/v1/interactions/${d.id}/templates`).then((res) => {
          source = res.source;
          if (res.templates.length || source === "platform") list = res.templates;
          status.textContent = res.error || (source === "platform" ? "" : "Names from the channel's settings.");
          drawOptions();
          onChange();
        }).catch((e) => { status.textContent = `The templates cannot be listed: ${e.message}`; });
      }
      return loaded;
    },
    template(files) {
      const t = current();
      if (!t || t.status !== "APPROVED") return { error: "Choose an approved template.", focus: "#template" };
      const vals = values();
      const missing = vals.findIndex((v) => !v.trim());
      if (missing >= 0) return { error: `Fill in parameter {{${missing + 1}}} of ${t.name}.`, focus: `#template-param-${missing + 1}` };
      if (t.header && t.header !== "text" && !files.length) {
        return { error: `${t.name} has a${t.header === "image" ? "n image" : ` ${t.header}`} header: attach the file to send with it.`, focus: "#attach" };
      }
      return { template: { name: t.name, language: t.language, parameters: vals }, text: t.body ? fill(t.body, vals) : `[template ${t.name}]` };
    },
  };
}
