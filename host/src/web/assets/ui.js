// Small helpers every page shares: building elements, formatting times, toasts, and the
// top bar with the pages the user's rights open.

import { signOut, sessionEnd, idleLimit, keepAlive } from "/assets/api.js";

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

const PLATFORMS = { facebook: "Facebook", messenger: "Messenger", instagram: "Instagram", x: "X", whatsapp: "WhatsApp", apple: "Apple Messages" };

/** A platform as people write it: `whatsapp` → `WhatsApp`. */
export function platformName(id) {
  return PLATFORMS[id] || words(id);
}

const TOAST_MS = { bad: 8000, warn: 6000, "": 4000 };

/**
 * Shows a message that leaves by itself (errors after 8 s, others sooner; a pointer or
 * the keyboard on it holds it), with a close button. An error names what it concerns
 * (`scope`): `clearToasts(scope)` takes it away once the cause is fixed, and every error
 * leaves when the page shows something else (another tab, another interaction).
 */
export function toast(text, kind = "", scope = "page") {
  let box = document.getElementById("toast");
  if (!box) {
    box = h("div", { id: "toast", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const note = h("div", { class: `notice ${kind}`, dataset: { scope } }, h("span", {}, text));
  const close = () => { clearTimeout(timer); note.remove(); };
  note.append(h("button", { class: "close", onclick: close, "aria-label": "Dismiss this message" }, "×"));
  let timer = setTimeout(close, TOAST_MS[kind] ?? 4000);
  const hold = () => clearTimeout(timer);
  const release = () => { clearTimeout(timer); timer = setTimeout(close, 3000); };
  note.addEventListener("pointerenter", hold);
  note.addEventListener("pointerleave", release);
  note.addEventListener("focusin", hold);
  note.addEventListener("focusout", release);
  box.append(note);
  return close;
}

/** Takes away the error and warning toasts about `scope` (all of them without one);
 *  confirmations stay for their few seconds. */
export function clearToasts(scope) {
  for (const note of document.querySelectorAll("#toast .notice.bad, #toast .notice.warn")) {
    if (!scope || note.dataset.scope === scope) note.remove();
  }
}

// Errors belong to the screen they happened on: another tab (the address's #part) or
// page clears them.
addEventListener("hashchange", () => clearToasts());
addEventListener("popstate", () => clearToasts());

/** `@handle`, whether or not the platform's handle already starts with an @. */
export function handle(name) {
  const bare = String(name ?? "").replace(/^@+/, "");
  return bare ? `@${bare}` : "";
}

/** "just now", "2 min ago", "3 h ago", "yesterday", or the date. */
export function ago(ms, now = Date.now()) {
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return s < -45 ? when(ms) : "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hours = Math.round(m / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return when(ms);
}

/** A `<time>` that reads "2 min ago", with the exact time on hover; `refreshTimes()`
 *  keeps it current. */
export function timeAgo(ms) {
  if (!ms) return "";
  const exact = new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
  return h("time", { datetime: new Date(ms).toISOString(), title: exact, class: "ago", dataset: { at: ms } }, ago(ms));
}

/** Brings every `timeAgo` on the page up to date. */
export function refreshTimes() {
  const now = Date.now();
  for (const el of document.querySelectorAll("time.ago")) {
    const text = ago(Number(el.dataset.at), now);
    if (el.textContent !== text) el.textContent = text;
  }
}

/** Runs an action; a failure becomes a toast in the server's words (about `scope`). */
export async function attempt(fn, scope) {
  try {
    return await fn();
  } catch (e) {
    toast(e.message || String(e), "bad", scope);
    return undefined;
  }
}

const PAGES = [
  { path: "/agent", label: "Agent", right: "agent" },
  { path: "/supervisor", label: "Supervisor", rights: ["supervisor", "social_media_admin"] },
  { path: "/reports", label: "Reports", rights: ["supervisor", "social_media_admin"] },
  { path: "/admin", label: "Administrator", right: "social_media_admin" },
];

/** The pages a user may open, in the top bar's order. */
export function pagesFor(rights) {
  return PAGES.filter((p) => (p.rights || [p.right]).some((r) => rights.includes(r)));
}

/** Where a user lands after signing in: the widest page their rights open
 *  (administrator, then supervisor, then agent). */
export function landingFor(rights) {
  const order = ["/admin", "/supervisor", "/agent"];
  return pagesFor(rights).filter((p) => order.includes(p.path))
    .sort((a, b) => order.indexOf(a.path) - order.indexOf(b.path))[0] || null;
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
  watchSession();
}

let watching = null;

/**
 * Warns shortly before the session ends (two minutes, or a third of a short idle limit):
 * an idle end can be put off with "Stay signed in"; the absolute limit cannot, and says
 * so. When the time is up the page goes back to sign-in with the reason; reply drafts are
 * kept for the next sign-in in this tab.
 */
function watchSession() {
  if (watching) return;
  const banner = h("div", { id: "session-warning", class: "notice warn hidden", role: "alert" });
  document.querySelector("header.top").after(banner);
  const check = () => {
    const end = sessionEnd();
    if (!end) return;
    const left = end.at - Date.now();
    if (left <= 0) {
      clearInterval(watching);
      signOut(end.kind === "idle"
        ? "Your session ended after a period without activity. Please sign in again; your unsent replies are kept."
        : "Your session has reached its maximum length. Please sign in again; your unsent replies are kept.", true);
      return;
    }
    const lead = Math.min(end.kind === "idle" ? 120000 : 300000, idleLimit() / 3);
    if (left > lead) {
      banner.classList.add("hidden");
      return;
    }
    const inWords = duration(left);
    if (end.kind === "idle") {
      fill(banner,
        h("span", {}, `You will be signed out in ${inWords} because nothing happened for a while. Unsent replies are kept.`), " ",
        h("button", {
          class: "primary", id: "stay-signed-in",
          onclick: async () => { try { await keepAlive(); check(); } catch { /* signed out */ } },
        }, "Stay signed in"));
    } else {
      fill(banner, h("span", {},
        `Your session reaches its maximum length in ${inWords}: you will then sign in again. Unsent replies are kept.`));
    }
    banner.classList.remove("hidden");
  };
  watching = setInterval(check, 1000);
  check();
}

/** Refuses a page to a user without the right, and says so. */
export function requireRight(me, rights, main) {
  if (rights.some((r) => me.rights.includes(r))) return true;
  fill(main, h("section", { class: "panel" }, h("p", { class: "notice bad" },
    `This page needs the ${rights.join(" or ")} right.`)));
  return false;
}
