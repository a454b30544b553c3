// The customer beside the agent's Current Interaction: the thread's earlier conversation,
// and the contact: name, notes, platform identities (linked into one person, or unlinked),
// and earlier interactions, each opening with its transcript.
//
// The contact's panel is made once per contact and kept across the page's redraws, so
// what the agent types in it, and whether it is open, survive new messages arriving.

import * as api from "/assets/api.js";
import { h, fill, when, words, attempt, toast, platformName } from "/assets/ui.js";
import { transcript } from "/assets/transcript.js";

/** The thread's conversation before this interaction, folded; null when there is none. */
export function earlierConversation(d) {
  if (!d.earlier?.length) return null;
  const n = d.earlier.length;
  return h("details", { class: "earlier", id: "earlier" },
    h("summary", {}, `Earlier in this conversation (${n} message${n === 1 ? "" : "s"})`),
    transcript({ ...d, messages: d.earlier, outbound: [] }));
}

const panels = new Map();

/** The contact panel of interaction `d` (the same element for the same contact). */
export function customerPanel(d) {
  if (!d.contact) return null;
  let panel = panels.get(d.contact.id);
  if (!panel) {
    panel = h("details", { class: "customer panel-inner", id: "customer", dataset: { contact: d.contact.id } },
      h("summary", {}, h("span", { class: "summary-text" }, `Customer: ${d.contact.name || "not named"}`)),
      h("div", { class: "customer-body" }, h("p", { class: "muted small" }, "Loading…")));
    panel.addEventListener("toggle", () => { if (panel.open) load(panel, d.contact.id, d.id); });
    panels.set(d.contact.id, panel);
  }
  panel.dataset.current = d.id;
  return panel;
}

async function load(panel, id, currentId) {
  const c = await attempt(() => api.get(`/api/v1/contacts/${id}`), "interaction");
  if (!c) return;
  draw(panel, c, Number(panel.dataset.current) || currentId);
}

function draw(panel, c, currentId) {
  const earlier = c.interactions.filter((ix) => ix.id !== currentId);
  panel.querySelector(".summary-text").textContent =
    `Customer: ${c.name || "not named"} · ${earlier.length} earlier interaction${earlier.length === 1 ? "" : "s"}`;
  const name = h("input", { name: "name", value: c.name, maxlength: 200, autocomplete: "off" });
  const notes = h("textarea", { name: "notes", rows: 2, maxlength: 4000 }, c.notes);
  const save = h("form", { class: "contact-form", "aria-label": "Contact details", onsubmit: async (e) => {
    e.preventDefault();
    const saved = await attempt(() => api.put(`/api/v1/contacts/${c.id}`, { name: name.value, notes: notes.value }), "interaction");
    if (saved) { toast("Contact saved."); draw(panel, saved, currentId); }
  } },
  h("label", {}, "Name ", name), h("label", {}, "Notes ", notes), h("button", {}, "Save"));
  const identities = h("ul", { class: "plain identities" }, c.identities.map((i) =>
    h("li", { dataset: { identity: i.id } },
      h("strong", {}, platformName(i.platform) || i.channel), " ",
      i.name || (i.platform_id ? "" : "(no personal data kept)"),
      i.handle ? ` @${i.handle}` : "",
      h("span", { class: "muted small" }, ` since ${when(i.created_at)}`),
      c.identities.length > 1
        ? [" ", h("button", { class: "link", "aria-label": `Unlink ${platformName(i.platform) || i.channel} ${i.name || ""}`.trim(), onclick: async () => {
          const moved = await attempt(() => api.post(`/api/v1/contacts/${c.id}/unlink`, { identity_id: i.id }), "interaction");
          if (moved) { toast("Unlinked: it is a contact of its own now."); load(panel, c.id, currentId); }
        } }, "Unlink")]
        : null)));
  fill(panel.querySelector(".customer-body"),
    save,
    h("h4", {}, "Identities"), identities, linker(panel, c, currentId),
    h("h4", {}, "Earlier interactions"),
    earlier.length
      ? h("ul", { class: "plain history" }, earlier.map((ix) => h("li", { dataset: { id: ix.id } },
        h("button", { class: "link", "aria-label": `Open interaction ${ix.id} of ${when(ix.created_at)}`, onclick: () => openPast(ix.id) }, when(ix.created_at)),
        ` · ${platformName(ix.platform) || ix.channel} · ${ix.agent || "no agent"} · ${ix.wrapup_code || words(ix.state)}`)))
      : h("p", { class: "muted small" }, "None: this is their first."));
}

/** Search for another contact of the same person, and link it into this one. */
function linker(panel, c, currentId) {
  const q = h("input", { type: "search", name: "q", placeholder: "name or handle", autocomplete: "off" });
  const results = h("ul", { class: "plain link-results", "aria-live": "polite" });
  return h("form", { class: "link-form", "aria-label": "Link another identity", onsubmit: async (e) => {
    e.preventDefault();
    const found = await attempt(() => api.get(`/api/v1/contacts?q=${encodeURIComponent(q.value)}`), "interaction");
    if (!found) return;
    const others = found.filter((o) => o.id !== c.id);
    fill(results, others.length
      ? others.map((o) => h("li", {}, `${o.name || "not named"} `, h("button", { onclick: async (ev) => {
        ev.preventDefault();
        const linked = await attempt(() => api.post(`/api/v1/contacts/${c.id}/link`, { contact_id: o.id }), "interaction");
        if (linked) { toast(`Linked: ${o.name || "that contact"} is the same person.`); draw(panel, linked, currentId); }
      } }, "Link")))
      : h("li", { class: "muted small" }, "No other contact matches."));
  } },
  h("label", {}, "Link another identity of this person ", q), h("button", {}, "Find"), results);
}

/** Opens an earlier interaction's transcript in a dialog. */
async function openPast(id) {
  const d = await attempt(() => api.get(`/api/v1/interactions/${id}`), "interaction");
  if (!d) return;
  let dialog = document.getElementById("past-dialog");
  if (!dialog) {
    dialog = h("dialog", { id: "past-dialog", "aria-labelledby": "past-title" });
    document.body.append(dialog);
  }
  fill(dialog,
    h("h2", { id: "past-title" }, `Interaction #${d.id} · ${when(d.created_at)}`),
    h("p", { class: "small muted" }, `${platformName(d.platform)} · ${d.workgroup} · ${d.assigned_to || "no agent"} · ${d.wrapup_code || words(d.state)}`),
    transcript(d),
    h("form", { method: "dialog" }, h("button", { class: "primary" }, "Close")));
  dialog.showModal();
}

/** The top bar's "My history": the agent's own ended interactions, searchable. */
export function historyButton() {
  return h("button", { id: "history-open", onclick: openHistory }, "My history");
}

async function openHistory() {
  let dialog = document.getElementById("history-dialog");
  if (!dialog) {
    const text = h("input", { type: "search", name: "text", placeholder: "words in a message", autocomplete: "off" });
    const author = h("input", { type: "search", name: "author", placeholder: "name or handle", autocomplete: "off" });
    dialog = h("dialog", { id: "history-dialog", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "My history"),
      h("form", { class: "search", onsubmit: (e) => { e.preventDefault(); searchHistory(text.value, author.value); } },
        h("label", {}, "Text ", text), h("label", {}, "Customer ", author), h("button", { class: "primary" }, "Search")),
      h("p", { class: "muted small", id: "history-count", role: "status" }),
      h("ul", { class: "plain history", id: "history-list" }),
      h("form", { method: "dialog" }, h("button", {}, "Close")));
    document.body.append(dialog);
  }
  dialog.showModal();
  searchHistory("", "");
}

async function searchHistory(text, author) {
  const q = new URLSearchParams({ limit: "50" });
  if (text) q.set("text", text);
  if (author) q.set("author", author);
  const res = await attempt(() => api.get(`/api/v1/me/history?${q}`));
  if (!res) return;
  document.getElementById("history-count").textContent = res.total > res.items.length
    ? `${res.total} found; the newest ${res.items.length} are shown.`
    : `${res.total} found.`;
  fill(document.getElementById("history-list"), res.items.map((ix) => h("li", { dataset: { id: ix.id } },
    h("button", { class: "link", "aria-label": `Open interaction ${ix.id} with ${ix.customer_name}`, onclick: () => openPast(ix.id) }, when(ix.created_at)),
    ` · ${platformName(ix.platform) || ix.channel} · ${ix.customer_name} · ${ix.wrapup_code || "no wrap-up"}`,
    ix.preview ? h("div", { class: "small muted" }, ix.preview) : null)));
}
