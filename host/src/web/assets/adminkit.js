// Pieces every administrator screen uses: tables in their own scrolling box, labelled
// fields, name=value lists, and forms that show the server's refusal in the form's words
// and draw the screen again once saved.

import { h, words, toast } from "/assets/ui.js";

let redraw = () => {};

/** What `submit` runs once a form is saved: the administrator page draws its screen again. */
export function onSaved(fn) {
  redraw = fn;
}

/** Draws the current screen again. */
export const reshow = () => redraw();

/** A table in its own scrolling box: a wide one scrolls there, never the whole page. */
export function table(headers, rows, caption) {
  return h("div", { class: "table-scroll", role: "region", "aria-label": caption, tabindex: 0 },
    h("table", {},
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

let fieldIds = 0;

/** A labelled input. The label points at the input (`for`) rather than wrapping it, so
 *  the input's accessible name is the label alone, not the label plus its value. */
export function field(label, input) {
  input.id ||= `field-${++fieldIds}`;
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input);
}

export function checks(name, values, checked = []) {
  return h("fieldset", { class: "row" }, h("legend", { class: "small muted" }, words(name)),
    values.map((v) => h("label", { class: "inline" }, h("input", { type: "checkbox", name, value: v, checked: checked.includes(v) }), v)));
}

export function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

/** `a=1, b=2` → `{a: "1", b: "2"}` (lines or commas). */
export function pairs(text) {
  const out = {};
  for (const part of text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    if (at < 1) throw new Error(`“${part}” is not name=value`);
    out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

export function list(text) {
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

export async function submit(e, fn, done) {
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

