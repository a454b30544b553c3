// What a message carries besides its text, drawn for the agent: photos inline (a
// thumbnail that opens full size), audio and video players, documents to download,
// locations with a map link the agent may choose to open, contact cards, shared links,
// and a plain label for kinds Switchboard cannot show yet (`GET /api/v1/interactions/{id}`,
// `attachments[]`).
//
// Files come only from this host (`/api/v1/attachments/{id}`, fetched with the session's
// token into blob: URLs): the desktop never loads a platform's or anyone else's URL by
// itself, which would tell that host who read the message. Links the customer sent are
// only followed when the agent clicks them.

import { h } from "/assets/ui.js";
import { blobUrl, download } from "/assets/api.js";

/**
 * Files already fetched, by their host path: a stored file never changes, so the
 * transcript's redraws (after every send, every update) reuse the `blob:` URL instead of
 * fetching the file again, which made images flicker and left a new blob behind each
 * time. The oldest are let go past a few hundred.
 */
const fetched = new Map();
const KEEP = 300;

function cachedBlobUrl(path) {
  let url = fetched.get(path);
  if (!url) {
    url = blobUrl(path);
    fetched.set(path, url);
    url.catch(() => fetched.delete(path));
    if (fetched.size > KEEP) {
      const [oldest, gone] = fetched.entries().next().value;
      fetched.delete(oldest);
      gone.then((u) => URL.revokeObjectURL(u), () => {});
    }
  }
  return url;
}

/** The element for one attachment (`attachments[]` of a transcript message). */
export function attachment(a) {
  const box = h("div", { class: `attachment attachment-${safeClass(a.kind)}` });
  if (a.id !== null && a.id !== undefined) box.append(file(a));
  else box.append(content(a));
  // A caption that only repeats what the content says (a place's name) is not shown twice.
  const repeats = Object.values(a.details || {}).includes(a.caption);
  if (a.caption && !repeats && !["share", "fallback"].includes(a.kind)) box.append(h("div", { class: "small" }, a.caption));
  return box;
}

function safeClass(kind) {
  return String(kind || "unknown").replace(/[^a-z0-9-]/gi, "_");
}

/** A file the host downloads: its state first, then the file itself once stored. */
function file(a) {
  const name = a.file_name || a.label;
  if (a.state === "pending") {
    return h("div", { class: "small muted", role: "status" },
      `⏳ ${a.label}: not yet available`, a.error ? ` (${a.error})` : "");
  }
  if (a.state === "failed") {
    return h("div", { class: "small warn-text" }, `⚠ ${a.label} could not be downloaded from the platform`, a.error ? `: ${a.error}` : ".");
  }
  if (a.state === "erased" || !a.url) {
    return h("div", { class: "small muted" }, `${a.label}: removed (retention or erasure).`);
  }
  const type = a.mime_type || "";
  if (a.inline && type.startsWith("image/")) return image(a, name);
  if (a.inline && (type.startsWith("audio/") || type.startsWith("video/"))) return player(a, type.startsWith("video/") ? "video" : "audio", name);
  const button = h("button", { type: "button", class: "link-button", "aria-label": `Download ${name}` }, `📎 ${name}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await download(a.url, a.file_name || "attachment"); }
    catch (e) { button.after(h("span", { class: "small warn-text" }, ` ${e.message}`)); }
    finally { button.disabled = false; }
  });
  return h("div", { class: "small" }, button, a.size ? h("span", { class: "muted" }, ` · ${sizeWords(a.size)}`) : null);
}

/** A photo: a thumbnail, loaded with the token; a click opens it full size. */
function image(a, name) {
  const img = h("img", { alt: a.caption || a.label, class: "thumbnail", loading: "lazy" });
  const open = h("a", { href: "#", class: "thumbnail-link", "aria-label": `Open ${name} full size` }, img);
  const holder = h("div", {}, open);
  cachedBlobUrl(a.url).then((url) => {
    img.src = url;
    open.href = url;
    open.target = "_blank";
    open.rel = "noopener";
  }).catch((e) => holder.replaceChildren(h("div", { class: "small warn-text" }, `⚠ ${a.label}: ${e.message}`)));
  return holder;
}

function player(a, tag, name) {
  const el = h(tag, { controls: true, preload: "metadata", "aria-label": name });
  const holder = h("div", {}, el);
  cachedBlobUrl(a.url).then((url) => { el.src = url; })
    .catch((e) => holder.replaceChildren(h("div", { class: "small warn-text" }, `⚠ ${a.label}: ${e.message}`)));
  return holder;
}

/** Content without a file: what it says, in words. */
function content(a) {
  const d = a.details || {};
  switch (a.kind) {
    case "location": return location(a, d);
    case "contact":
      return h("div", { class: "small" }, "👤 ", h("strong", {}, "Contact card: "),
        [d.name, d.phone, d.email].filter(Boolean).join(" · ") || "no details");
    case "share":
    case "fallback":
    case "story-mention":
    case "story-reply":
      return h("div", { class: "small" }, `🔗 ${a.label}`, d.title || a.caption ? `: ${d.title || a.caption}` : "",
        safeLink(d.url) ? [" ", link(d.url, "open")] : null);
    case "sticker":
      return h("div", { class: "small" }, `🏷 ${a.label}`, d["sticker-id"] ? h("span", { class: "muted" }, ` (${d["sticker-id"]})`) : null);
    default: {
      // The connector's caption, when it gave one, already says what this is.
      const extra = a.caption ? "" : Object.entries(d).map(([k, v]) => `${k}: ${v}`).join(" · ");
      return h("div", { class: "small muted" }, `📦 ${a.label}`, extra ? ` — ${extra}` : "");
    }
  }
}

function location(a, d) {
  const lat = Number(d.latitude);
  const lon = Number(d.longitude);
  const valid = Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
  const where = [d.name, d.address].filter(Boolean).join(", ");
  const map = valid
    ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`
    : null;
  return h("div", { class: "small" }, "📍 ", h("strong", {}, "Location"),
    where ? `: ${where}` : "",
    valid ? h("span", { class: "muted" }, ` (${lat.toFixed(5)}, ${lon.toFixed(5)})`) : h("span", { class: "muted" }, " (no coordinates)"),
    map ? [" ", link(map, "open the map")] : null);
}

function safeLink(url) {
  try { return ["http:", "https:"].includes(new URL(url).protocol); } catch { return false; }
}

function link(url, text) {
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, text);
}

function sizeWords(n) {
  if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}
