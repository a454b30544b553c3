// The agent's reply box. The draft owns its visibility: a private draft stays private
// after it is sent (the next one starts private too) and after the platform refused it,
// and turning a written private draft public asks first. Public and private look
// different at a glance. A counter shows the platform's limit for the chosen kind of reply
// and Send is refused, with the reason, before an over-long reply leaves.

import * as api from "/assets/api.js";
import { h, when, duration, toast, platformName } from "/assets/ui.js";
import { plainError } from "/assets/transcript.js";
import { measure } from "/assets/textlength.js";
import { extrasControls, extrasOf, keptExtras, sentExtras, textChanged, listOn } from "/assets/replyextras.js";
import { filesControl } from "/assets/replyfiles.js";
import { templateComposer } from "/assets/replytemplates.js";

/** Drafts by interaction id: `{ text, visibility, error }`. They survive redraws and
 *  moving between interactions, and, kept in this tab's storage for the user who wrote
 *  them, a session that ended by itself: signed in again, the agent finds them where they
 *  were (signing out on purpose forgets them). */
const drafts = new Map(
  Object.entries(api.savedDrafts()).map(([id, d]) => [Number(id), { ...d, error: null }]),
);

function persist() {
  const items = {};
  for (const [id, d] of drafts) {
    if (d.text || Array.isArray(d.list)) items[id] = { text: d.text, visibility: d.visibility, ...keptExtras(d) };
  }
  api.saveDrafts(items);
}

/** Forgets an interaction's draft (it left My Interactions). */
export function forgetDraft(id) {
  drafts.delete(id);
  persist();
}

/** Which visibilities the platform allows for this interaction. */
function visibilities(d) {
  if (d.media_type === "social_direct_message") return ["private"];
  // A comment on Facebook or Instagram may also be answered with one private reply.
  return d.platform === "facebook" || d.platform === "instagram" ? ["public", "private"] : ["public"];
}

function draftOf(d) {
  const choices = visibilities(d);
  let draft = drafts.get(d.id);
  if (!draft) {
    draft = { text: "", visibility: choices[0], error: null };
    drafts.set(d.id, draft);
  }
  if (!choices.includes(draft.visibility)) draft.visibility = choices[0];
  return draft;
}

const LABEL = {
  public: "Public — everyone sees this",
  private: "Private — only the customer",
};

/**
 * The reply form for a connected interaction. `sent()` runs after each attempt, so the
 * page can reload the transcript.
 */
export function replyBox(d, sent) {
  const draft = draftOf(d);
  const choices = visibilities(d);
  const form = h("form", {
    class: `reply ${draft.visibility}`, id: "reply", "aria-label": "Reply",
    onsubmit: (e) => { e.preventDefault(); send(d, form, sent); },
  });
  const radios = choices.length > 1
    ? h("fieldset", { class: "visibility" },
      h("legend", {}, "Who sees this reply"),
      choices.map((v) => h("label", { class: `inline choice ${v}` },
        h("input", {
          type: "radio", name: "visibility", value: v, checked: v === draft.visibility,
          onchange: (e) => choose(d, form, e.target.value, sent),
        }),
        v === "public" ? "Public comment" : "Private message")))
    : null;
  const strip = h("div", { id: "reply-visibility", class: `visibility-label ${draft.visibility}` },
    h("span", { class: "icon", "aria-hidden": "true" }, draft.visibility === "public" ? "👁" : "🔒"), " ",
    LABEL[draft.visibility]);
  const note = h("div", { id: "window-note", role: "status" });
  // WhatsApp's templates as the business account lists them, with parameters and a
  // preview (replytemplates.js).
  const composer = templateComposer(d, () => { draft.error = null; showError(form, null); update(d, form); });
  const templates = composer.element;
  const picker = h("ul", { id: "response-picker", class: "picker hidden", role: "listbox", "aria-label": "Standard responses" });
  const text = h("textarea", {
    id: "reply-text", name: "text", "aria-label": "Reply text",
    "aria-describedby": "reply-visibility reply-count",
    "aria-controls": "response-picker", "aria-autocomplete": "list",
    placeholder: draft.visibility === "public"
      ? "Write a public reply… (/ and a word: standard responses; Ctrl+Enter sends)"
      : "Write a private reply… (/ and a word: standard responses; Ctrl+Enter sends)",
    oninput: () => {
      draft.text = text.value; draft.error = null; persist(); showError(form, null); update(d, form);
      textChanged(form, draft);
      suggest(d, form);
    },
    onkeydown: (e) => {
      if (pickerKey(d, form, e)) return;
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(d, form, sent); }
    },
    onblur: () => setTimeout(() => closePicker(form), 150),
  });
  text.value = draft.text;
  // Files where the platform takes them in this kind of reply (replyfiles.js).
  const files = filesControl(d, draft.visibility, text, platformName(d.platform), (message) => {
    draft.error = message;
    showError(form, message);
  });
  form.composer = composer;
  form.files = files;
  const count = h("div", { id: "reply-count", class: "count small" });
  const error = h("div", { id: "reply-error", class: "notice bad hidden", role: "alert" });
  const button = h("button", { class: "primary", id: "send", "aria-describedby": "reply-count" },
    choices.length > 1 ? `Send ${draft.visibility} reply` : "Send reply");
  // Who sends it (X handles) and an Apple list picker: replyextras.js.
  const extras = extrasControls(d, draft, () => { draft.error = null; persist(); showError(form, null); });
  form.append(radios || "", strip, note, templates, extras.sender || "", picker, text, files.element, extras.list || "", h("div", { class: "row send-row" }, count, h("span", { class: "spacer" }), button), error);
  extras.ready();
  showError(form, draft.error);
  update(d, form);
  return form;
}

/** Switching visibility: public to private is free; a written private draft turned public
 *  asks first (the dialog in agent.html). */
function choose(d, form, visibility, sent) {
  const draft = draftOf(d);
  if (visibility === draft.visibility) return;
  const apply = () => {
    draft.visibility = visibility;
    persist();
    // A live update may have redrawn the box while the question was open.
    const shown = document.getElementById("reply");
    if (shown) shown.replaceWith(replyBox(d, sent));
    document.getElementById("reply-text")?.focus();
  };
  if (visibility !== "public" || !draft.text.trim()) return apply();
  // Until confirmed, the draft stays private.
  form.querySelector(`input[value="${draft.visibility}"]`).checked = true;
  const dialog = document.getElementById("visibility-dialog");
  document.getElementById("visibility-draft").textContent = draft.text;
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "public") apply();
    else document.getElementById("reply-text")?.focus();
  };
  dialog.showModal();
}

function limitOf(d, visibility) {
  const l = d.reply_window?.[visibility]?.limit;
  return l && Number(l.max) > 0 ? { max: Number(l.max), counting: l.counting || "characters" } : null;
}

/** The window note, the counter and whether Send may be pressed, for the draft as it is. */
function update(d, form) {
  const draft = draftOf(d);
  const w = d.reply_window?.[draft.visibility];
  const templateOnly = Boolean(w && !w.free_form && w.templates);
  const closed = Boolean(w && !w.free_form && !w.templates);
  form.querySelector("#template-label").classList.toggle("hidden", !templateOnly);
  if (templateOnly) form.composer.load();
  const hasTemplates = form.composer.available();
  form.querySelector("#reply-text").classList.toggle("hidden", templateOnly || closed);
  const note = form.querySelector("#window-note");
  let text;
  let kind = "";
  if (!w) text = "You can reply.";
  else if (closed) { text = w.note || "Replies are closed for this conversation."; kind = "bad"; }
  else if (templateOnly) {
    text = w.note || "The 24-hour window has closed: only an approved template can be sent.";
    if (!hasTemplates) text += " This channel has no approved templates.";
    kind = "warn";
  } else if (w.until) {
    text = `You can reply freely until ${when(w.until)} (${duration(w.until - Date.now())} left).${w.note ? ` ${w.note}` : ""}`;
  } else text = w.note || "You can reply.";
  note.className = `notice small ${kind}`;
  note.textContent = text;

  const count = form.querySelector("#reply-count");
  const limit = limitOf(d, draft.visibility);
  const length = measure(draft.text, limit?.counting || "characters");
  const over = limit ? length - limit.max : 0;
  count.classList.toggle("over", over > 0);
  count.classList.toggle("hidden", templateOnly || closed);
  if (!limit) count.textContent = `${length} ${length === 1 ? "character" : "characters"}`;
  else if (over > 0) {
    count.textContent = `${length} / ${limit.max}: ${over} too many for ${platformName(d.platform)}. Shorten the reply to send it.`;
  } else {
    count.textContent = `${length} / ${limit.max}${limit.counting === "x" ? " (X counts a link as 23 and some characters as 2)" : ""}`;
  }
  const button = form.querySelector("#send");
  button.disabled = closed || (templateOnly && !hasTemplates) || (!templateOnly && over > 0);
  button.title = over > 0 && !templateOnly ? "Too long to send: shorten the reply first" : "";
}

// ---- standard responses: "/" and a word -----------------------------------------------------

/** The `/word` being typed just before the cursor: `{ start, word }`, or null. */
function slashToken(text, cursor) {
  const m = /(^|\s)\/([\p{L}\p{N}_-]*)$/u.exec(text.slice(0, cursor));
  return m ? { start: cursor - m[2].length - 1, word: m[2] } : null;
}

let asked = 0;

/** Shows the responses matching the `/word` at the cursor, filled in for this conversation. */
async function suggest(d, form) {
  const text = form.querySelector("#reply-text");
  const token = slashToken(text.value, text.selectionStart);
  if (!token) return closePicker(form);
  const mine = ++asked;
  let found;
  try {
    found = await api.get(`/api/v1/responses?interaction=${d.id}&q=${encodeURIComponent(token.word)}`);
  } catch (e) {
    return closePicker(form);
  }
  if (mine !== asked || !form.isConnected) return;
  const picker = form.querySelector("#response-picker");
  picker.replaceChildren(...(found.length
    ? found.slice(0, 8).map((r, i) => h("li", {
      role: "option", id: `response-${r.id}`, "aria-selected": String(i === 0), "data-id": r.id,
      onmousedown: (e) => { e.preventDefault(); insert(d, form, r); },
    }, h("strong", {}, r.title), h("span", { class: "small muted" }, ` ${r.text}`)))
    : [h("li", { class: "muted small", role: "presentation" }, token.word ? `No standard response matches “${token.word}”.` : "No standard responses for this conversation.")]));
  picker.responses = found.slice(0, 8);
  picker.classList.remove("hidden");
}

function closePicker(form) {
  const picker = form.querySelector("#response-picker");
  if (!picker) return;
  picker.classList.add("hidden");
  picker.responses = [];
  form.querySelector("#reply-text")?.removeAttribute("aria-activedescendant");
}

/** Arrow keys move, Enter or Tab inserts, Escape closes; true when the picker took the key. */
function pickerKey(d, form, e) {
  const picker = form.querySelector("#response-picker");
  if (!picker || picker.classList.contains("hidden") || !picker.responses?.length) {
    if (e.key === "Escape" && picker && !picker.classList.contains("hidden")) { closePicker(form); return true; }
    return false;
  }
  const options = [...picker.querySelectorAll("[role=option]")];
  const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    const next = (at + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
    options.forEach((o, i) => o.setAttribute("aria-selected", String(i === next)));
    form.querySelector("#reply-text").setAttribute("aria-activedescendant", options[next].id);
  } else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") {
    insert(d, form, picker.responses[Math.max(at, 0)]);
  } else if (e.key === "Escape") {
    closePicker(form);
  } else {
    return false;
  }
  e.preventDefault();
  return true;
}

/** Puts a response in place of the `/word`, unless the reply would then be too long for
 *  the platform: then it says so and leaves the draft as it was. */
function insert(d, form, response) {
  const text = form.querySelector("#reply-text");
  const token = slashToken(text.value, text.selectionStart);
  closePicker(form);
  if (!token) return;
  const draft = draftOf(d);
  const next = text.value.slice(0, token.start) + response.text + text.value.slice(text.selectionStart);
  const limit = limitOf(d, draft.visibility);
  const length = measure(next, limit?.counting || "characters");
  if (limit && length > limit.max) {
    draft.error = `“${response.title}” was not inserted: the reply would be ${length} characters, and ${platformName(d.platform)} takes at most ${limit.max}.`;
    showError(form, draft.error);
    return;
  }
  text.value = next;
  const cursor = token.start + response.text.length;
  text.setSelectionRange(cursor, cursor);
  draft.text = next;
  draft.error = null;
  persist();
  showError(form, null);
  update(d, form);
}

function showError(form, message) {
  const error = form.querySelector("#reply-error");
  error.textContent = message || "";
  error.classList.toggle("hidden", !message);
}

async function send(d, form, sent) {
  const draft = draftOf(d);
  const button = form.querySelector("#send");
  if (button.disabled) return;
  const visibility = draft.visibility;
  const body = { visibility, text: draft.text.trim() };
  const useTemplate = !form.querySelector("#template-label").classList.contains("hidden");
  const files = form.files.files();
  if (useTemplate) {
    const chosen = form.composer.template(files);
    if (chosen.error) {
      draft.error = chosen.error;
      showError(form, draft.error);
      if (chosen.focus) form.querySelector(chosen.focus)?.focus();
      return;
    }
    body.template = chosen.template;
    body.text = chosen.text;
  } else if (!body.text && !listOn(d, draft) && !files.length) {
    draft.error = "Write something first.";
    showError(form, draft.error);
    return;
  }
  if (!useTemplate) {
    const { extras, error, focus } = extrasOf(d, draft, body.text);
    if (error) {
      draft.error = error;
      showError(form, draft.error);
      if (focus) form.querySelector(focus)?.focus();
      return;
    }
    Object.assign(body, extras);
  }
  draft.error = null;
  showError(form, null);
  button.disabled = true;
  try {
    const res = files.length
      ? await api.postForm(`/api/v1/interactions/${d.id}/reply`, formOf(body, files))
      : await api.post(`/api/v1/interactions/${d.id}/reply`, body);
    if (res.state === "failed") {
      let why = plainError(res.last_error || "it gave no reason").replace(/[.\s]*$/, ".");
      why = why.charAt(0).toUpperCase() + why.slice(1);
      draft.error = `The platform refused the reply. ${why} Your text is still here, still ${visibility}.`;
    } else {
      toast(res.state === "sent" ? "Reply sent." : "Reply queued; it will be retried until the platform takes it.");
      // The next reply starts with the same visibility: a private conversation stays private.
      if (draft.text.trim() === body.text || useTemplate) draft.text = "";
      if (body.list_items) sentExtras(draft);
      form.files.clear();
      persist();
    }
  } catch (e) {
    draft.error = e.code === "too_long" && e.data.limit
      ? `Too long for ${platformName(d.platform)}: ${e.data.length ?? "over"} of ${e.data.limit} allowed. Shorten the reply and send it again.`
      : plainError(e.message);
  } finally {
    button.disabled = false;
  }
  if (form.isConnected) {
    form.querySelector("#reply-text").value = draft.text;
    showError(form, draft.error);
    update(d, form);
  }
  await sent();
}

/** A reply with files, as the multipart form the reply route takes. */
function formOf(body, files) {
  const form = new FormData();
  form.append("text", body.text || "");
  form.append("visibility", body.visibility);
  if (body.template) form.append("template", JSON.stringify(body.template));
  if (body.from_handle) form.append("from_handle", body.from_handle);
  if (body.list_items) form.append("list_items", JSON.stringify(body.list_items));
  for (const f of files) form.append("file", f, f.name);
  return form;
}
