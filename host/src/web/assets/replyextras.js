// What the reply box offers besides text, where the platform takes it (the reply API's
// `from_handle` and `list_items`):
// - "Reply as": which of the channel's accounts sends (an X channel with several handles;
//   `reply_handles` of the interaction, the default first).
// - An Apple Messages list picker: the reply's text is the list's title, and the customer
//   picks one of the choices written here; a preview shows what they will see.
// - Messenger quick replies: the same choices, sent as buttons under the reply's text
//   (at most 13, each title at most 20 characters); the customer's tap comes back as
//   their answer.
//
// The state lives in the draft (`from`, `list`), so it survives redraws like the text.

import { h } from "/assets/ui.js";

/** The accounts a reply may be sent from, or none when there is nothing to choose. */
function senders(d) {
  const handles = Array.isArray(d.reply_handles) ? d.reply_handles : [];
  return handles.length > 1 ? handles : [];
}

/** Apple Messages sends list pickers; Messenger sends the choices as quick replies. */
export function listsAllowed(d) {
  return d.platform === "apple" || d.platform === "messenger";
}

/** Messenger's quick replies rather than Apple's list picker. */
function quick(d) {
  return d.platform === "messenger";
}

const QUICK_MAX = 13;
const QUICK_TITLE_MAX = 20;

/** The draft's list picker is on. */
export function listOn(d, draft) {
  return listsAllowed(d) && Array.isArray(draft.list);
}

/** Draft fields this module owns, as they are kept between page loads. */
export function keptExtras(draft) {
  const kept = {};
  if (draft.from) kept.from = draft.from;
  if (Array.isArray(draft.list)) kept.list = draft.list;
  return kept;
}

/**
 * The controls for interaction `d` and its draft: `{ sender, list, ready }` (`sender` and
 * `list` may be null), `ready()` to run once they are in the form. `changed()` runs after
 * each change (to save the draft and recount).
 */
export function extrasControls(d, draft, changed) {
  const list = listsAllowed(d) ? listComposer(d, draft, changed) : null;
  return { sender: senderPicker(d, draft, changed), list, ready: () => list?.redraw() };
}

function senderPicker(d, draft, changed) {
  const handles = senders(d);
  if (!handles.length) return null;
  if (!handles.includes(draft.from)) draft.from = handles[0];
  const select = h("select", {
    id: "reply-from", name: "from_handle",
    onchange: (e) => { draft.from = e.target.value; changed(); },
  }, handles.map((handle, i) => h("option", { value: handle, selected: handle === draft.from }, i === 0 ? `${handle} (default)` : handle)));
  return h("label", { class: "inline reply-from", id: "reply-from-label" }, "Reply as", select);
}

// ---- Apple list picker ------------------------------------------------------------------

function listComposer(d, draft, changed) {
  const box = h("fieldset", { class: "list-picker", id: "list-picker" });
  const redraw = (focus) => {
    drawList(d, draft, box, changed, redraw);
    if (focus) box.querySelector(focus)?.focus();
  };
  box.redraw = redraw;
  redraw();
  return box;
}

function drawList(d, draft, box, changed, redraw) {
  const on = listOn(d, draft);
  const form = box.closest("form");
  const toggle = h("label", { class: "inline" },
    h("input", {
      type: "checkbox", id: "list-on", checked: on,
      "aria-describedby": "list-picker-help",
      // Enter toggles it, as Space does, rather than sending the reply.
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); e.target.click(); } },
      onchange: (e) => {
        // Turned off, the choices are kept in case it is turned on again before sending.
        if (e.target.checked) draft.list = draft.keptList?.length ? draft.keptList : ["", ""];
        else [draft.keptList, draft.list] = [draft.list, null];
        changed();
        redraw(e.target.checked ? "#list-choice-1" : "#list-on");
      },
    }),
    quick(d) ? "Add quick replies" : "Send as a list picker");
  const help = h("span", { id: "list-picker-help", class: "small muted" },
    quick(d)
      ? `Buttons under your message the customer taps to answer (at most ${QUICK_MAX}, ${QUICK_TITLE_MAX} characters each).`
      : on ? "The reply text is the list's title; the customer picks one choice." : "The customer picks one of the choices you write.");
  box.replaceChildren(h("legend", { class: "sr-only" }, quick(d) ? "Quick replies" : "List picker"), h("div", { class: "row" }, toggle, help));
  // A list picker's text is its title; quick replies go under an ordinary message.
  syncReplyText(form, on && !quick(d));
  if (!on) return;

  const items = h("ol", { class: "list-choices" }, draft.list.map((title, i) => {
    const n = i + 1;
    const input = h("input", {
      type: "text", id: `list-choice-${n}`, class: "list-choice",
      "aria-label": `Choice ${n}`, placeholder: `Choice ${n}`,
      oninput: (e) => { draft.list[i] = e.target.value; changed(); drawPreview(box, draft, form); },
      onkeydown: (e) => {
        // Enter adds a choice after this one (it never sends the list half written);
        // Ctrl+Enter sends, as in the reply text.
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          box.closest("form")?.requestSubmit();
        } else if (e.key === "Enter") {
          e.preventDefault();
          draft.list.splice(n, 0, "");
          changed();
          redraw(`#list-choice-${n + 1}`);
        }
      },
    });
    input.value = title;
    const remove = h("button", {
      type: "button", class: "small", "aria-label": `Remove choice ${n}${title.trim() ? `: ${title.trim()}` : ""}`,
      onclick: () => {
        draft.list.splice(i, 1);
        changed();
        redraw(draft.list.length ? `#list-choice-${Math.min(n, draft.list.length)}` : "#list-add");
      },
    }, "Remove");
    return h("li", {}, h("span", { class: "list-number", "aria-hidden": "true" }, `${n}.`), input, remove);
  }));
  const add = h("button", {
    type: "button", id: "list-add",
    onclick: () => { draft.list.push(""); changed(); redraw(`#list-choice-${draft.list.length}`); },
  }, "Add choice");
  const preview = h("div", { class: "list-preview", id: "list-preview", role: "group", "aria-label": "Preview: what the customer sees" });
  box.append(h("div", { class: "list-body" }, h("div", { class: "list-edit" }, items, h("div", { class: "row" }, add)), preview));
  drawPreview(box, draft, form);
}

/** The reply text's placeholder and the Send button say what is being written. */
function syncReplyText(form, on) {
  const text = form?.querySelector("#reply-text");
  if (text) {
    if (!text.dataset.placeholder) text.dataset.placeholder = text.placeholder;
    text.placeholder = on ? "The list's title, e.g. “Which store suits you?” (Ctrl+Enter sends)" : text.dataset.placeholder;
    text.setAttribute("aria-label", on ? "List title" : "Reply text");
  }
  const send = form?.querySelector("#send");
  if (send) send.textContent = on ? "Send list picker" : "Send reply";
}

/** The list as the customer's Messages shows it: its title, then the choices. */
function drawPreview(box, draft, form) {
  const preview = box.querySelector("#list-preview");
  if (!preview) return;
  const title = form?.querySelector("#reply-text")?.value.trim() || "Please choose";
  const choices = draft.list.map((t) => t.trim());
  preview.replaceChildren(
    h("div", { class: "small muted" }, "Preview"),
    h("div", { class: "list-preview-card" },
      h("div", { class: "list-preview-title" }, title),
      h("ul", {}, choices.map((t, i) => h("li", { class: t ? "" : "empty" }, t || `Choice ${i + 1} has no title yet`)))),
  );
}

/** Redraws the preview after the reply text (the list's title) changed. */
export function textChanged(form, draft) {
  const box = form.querySelector("#list-picker");
  if (box && Array.isArray(draft.list)) drawPreview(box, draft, form);
}

/**
 * What the reply request carries besides its text, or the reason it cannot be sent yet:
 * `{ extras }` or `{ error }`. A list needs a title (the reply text) and choices, each with
 * a title of its own.
 */
export function extrasOf(d, draft, text) {
  const extras = {};
  const handles = senders(d);
  if (handles.length) extras.from_handle = handles.includes(draft.from) ? draft.from : handles[0];
  if (listOn(d, draft)) {
    const titles = draft.list.map((t) => t.trim());
    if (!titles.length) return { error: "The list has no choices: add one, or turn the list picker off." };
    const untitled = titles.findIndex((t) => !t);
    if (untitled >= 0) return { error: `Choice ${untitled + 1} has no title: give every choice a title, or remove it.`, focus: `#list-choice-${untitled + 1}` };
    const twice = titles.findIndex((t, i) => titles.findIndex((u) => u.toLowerCase() === t.toLowerCase()) !== i);
    if (twice >= 0) return { error: `Two choices are both “${titles[twice]}”: the customer could not tell them apart.`, focus: `#list-choice-${twice + 1}` };
    if (quick(d)) {
      if (titles.length > QUICK_MAX) return { error: `Messenger shows at most ${QUICK_MAX} quick replies: remove ${titles.length - QUICK_MAX}.`, focus: `#list-choice-${QUICK_MAX + 1}` };
      const long = titles.findIndex((t) => [...t].length > QUICK_TITLE_MAX);
      if (long >= 0) return { error: `Choice ${long + 1} is ${[...titles[long]].length} characters: Messenger shows ${QUICK_TITLE_MAX} at most.`, focus: `#list-choice-${long + 1}` };
      if (!text) return { error: "Write the message the quick replies answer.", focus: "#reply-text" };
    }
    if (!text) return { error: "Write the list's title first: what the customer is asked to choose.", focus: "#reply-text" };
    extras.list_items = titles.map((title, i) => ({ id: `choice-${i + 1}`, title }));
  }
  return { extras };
}

/** After a reply was sent: the next one starts as plain text again. */
export function sentExtras(draft) {
  draft.list = null;
  draft.keptList = null;
}
