// Small helpers every page shares: building elements, formatting times, toasts, and the
// top bar with the pages the user's rights open.

import { signOut } from "/assets/api.js";

/**
 * Builds an element: `h("button", { class: "primary", onclick }, "Send")`.
 * Attributes starting with `on` become listeners; `null`/`false` attributes are skipped;
 * children may be strings, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** `1h 02m`, `3m 05s`, `12s`. */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const h_ = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h_) return `${h_}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** A local date and time. */
export function when(ms) {
  if (!ms) return "";
  return new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

/** A time of day, with seconds. */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Words for the API's names: `social_direct_message` → `Social direct message`. */
export function words(name) {
  const s = String(name ?? "").replaceAll("_", " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const PLATFORMS = { facebook: "Facebook", messenger: "Messenger", x: "X", whatsapp: "WhatsApp", apple: "Apple Messages" };

/** A platform as people write it: `whatsapp` → `WhatsApp`. */
export function platformName(id) {
  return PLATFORMS[id] || words(id);
}

/** Shows a message for a few seconds (errors stay until dismissed). */
export function toast(text, kind = "") {
  let box = document.getElementById("toast");
  if (!box) {
    box = h("div", { id: "toast", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const note = h("div", { class: `notice ${kind}` }, text);
  if (kind === "bad") {
    note.append(" ", h("button", { onclick: () => note.remove(), "aria-label": "Dismiss" }, "×"));
  } else {
    setTimeout(() => note.remove(), 4000);
  }
  box.append(note);
}

/** Runs an action; a failure becomes a toast in the server's words. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    toast(e.message || String(e), "bad");
    return undefined;
  }
}

const PAGES = [
  { path: "/agent", label: "Agent", right: "agent" },
  { path: "/supervisor", label: "Supervisor", rights: ["supervisor", "social_media_admin"] },
  { path: "/admin", label: "Administrator", right: "social_media_admin" },
];

/** The pages a user may open, first the one they land on. */
export function pagesFor(rights) {
  return PAGES.filter((p) => (p.rights || [p.right]).some((r) => rights.includes(r)));
}

/** Draws the top bar; `extra` goes before the sign-out button. */
export function topBar(me, current, ...extra) {
  const bar = document.querySelector("header.top");
  fill(
    bar,
    h("span", { class: "brand" }, "Switchboard"),
    h(
      "nav",
      { "aria-label": "Pages" },
      pagesFor(me.rights).map((p) =>
        h("a", { href: p.path, "aria-current": p.path === current ? "page" : null }, p.label),
      ),
    ),
    h("span", { class: "spacer" }),
    extra,
    h("span", { id: "who" }, me.display_name),
    h("button", { onclick: signOut }, "Sign out"),
  );
}

/** Refuses a page to a user without the right, and says so. */
export function requireRight(me, rights, main) {
  if (rights.some((r) => me.rights.includes(r))) return true;
  fill(main, h("section", { class: "panel" }, h("p", { class: "notice bad" },
    `This page needs the ${rights.join(" or ")} right.`)));
  return false;
}
