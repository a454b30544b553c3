// Files in the reply box: "Attach file" (or pasting an image into the text) where the
// platform takes files in this kind of reply (`file_limits` of the interaction detail).
// A file the platform would refuse (its type or size) is refused here first, with the
// same words the server uses; the server checks again before anything is sent.

import { h } from "/assets/ui.js";

const KIND_WORDS = { image: "images", video: "videos", audio: "audio files", file: "documents" };

/** The files chosen per interaction id: they outlive redraws of the reply box (a live
 *  update, a switch between public and private), not the page. */
const kept = new Map();

/** The kind of file a MIME type is, as the server decides it. */
function kindOf(type) {
  const family = String(type || "").split("/")[0];
  return ["image", "video", "audio"].includes(family) ? family : "file";
}

function sizeWords(bytes) {
  const mb = 1024 * 1024;
  if (bytes >= mb) {
    const tenths = Math.ceil((bytes * 10) / mb);
    return tenths % 10 === 0 ? `${tenths / 10} MB` : `${Math.floor(tenths / 10)}.${tenths % 10} MB`;
  }
  return `${Math.ceil(bytes / 1024)} KB`;
}

/** What the platform takes in a `visibility` reply, in words ("images up to 5 MB, …"). */
export function takesWords(limits, visibility) {
  return limits.filter((l) => l.visibility === visibility)
    .map((l) => `${KIND_WORDS[l.kind] || l.kind} up to ${sizeWords(l.max_bytes)}`).join(", ");
}

/**
 * Why `file` cannot go in a `visibility` reply on `platform` with `limits`, or null.
 * (Exported for the browser tests.)
 */
export function refusal(file, limits, visibility, platform) {
  const here = limits.filter((l) => l.visibility === visibility);
  if (!here.length) return `${platform} takes no files in ${visibility} replies.`;
  const kind = kindOf(file.type);
  const limit = here.find((l) => l.kind === kind);
  if (!limit) return `${file.name} is ${kind === "file" ? "a document" : kind === "audio" ? "audio" : `a ${kind}`}; ${platform} takes ${takesWords(limits, visibility)} here.`;
  if (limit.mime_types.length && file.type && !limit.mime_types.includes(file.type)) {
    return `${file.name} is ${file.type}; ${platform} takes ${KIND_WORDS[kind]} as ${limit.mime_types.map((m) => m.split("/").pop().toUpperCase()).join(", ")} only.`;
  }
  if (file.size > limit.max_bytes) return `${file.name} is ${sizeWords(file.size)}; ${platform} takes ${KIND_WORDS[kind]} up to ${sizeWords(limit.max_bytes)}.`;
  if (file.size === 0) return `${file.name} is empty.`;
  return null;
}

/**
 * The files control of a reply box for interaction detail `d` and a `visibility` reply:
 * `element` (the button and the chosen files), `files()` the files to send, `clear()`
 * after sending. `onError(text)`
 * shows a refusal (null clears it); `text` is the reply's textarea, which takes pasted
 * images.
 */
export function filesControl(d, visibility, text, platform, onError) {
  const limits = d.file_limits || [];
  let current = visibility;
  // Files the other kind of reply took but this one does not are dropped, with a word.
  let chosen = (kept.get(d.id) || []).filter((f) => !refusal(f, limits, current, platform));
  const dropped = (kept.get(d.id) || []).length - chosen.length;
  kept.set(d.id, chosen);
  if (dropped) setTimeout(() => onError(`Removed ${dropped === 1 ? "a file" : `${dropped} files`} a ${current} reply cannot carry.`));
  const input = h("input", { type: "file", multiple: true, class: "visually-hidden", id: "reply-file", tabindex: "-1", "aria-hidden": "true" });
  const button = h("button", { type: "button", class: "secondary small", id: "attach", "aria-describedby": "attach-hint" }, "📎 Attach file");
  const hint = h("span", { id: "attach-hint", class: "small muted" });
  const list = h("ul", { class: "chosen-files", "aria-label": "Files to send" });
  const element = h("div", { class: "reply-files" }, input, button, " ", hint, list);

  const draw = () => {
    const allowed = limits.some((l) => l.visibility === current);
    element.classList.toggle("hidden", !allowed);
    hint.textContent = allowed ? `${platform} takes ${takesWords(limits, current)}; you can also paste an image.` : "";
    list.replaceChildren(...chosen.map((f, i) => h("li", {},
      `📎 ${f.name} (${sizeWords(f.size)}) `,
      h("button", { type: "button", class: "link-button", "aria-label": `Remove ${f.name}`, onclick: () => { chosen.splice(i, 1); onError(null); draw(); } }, "remove"))));
  };
  const add = (files) => {
    for (const f of files) {
      const why = refusal(f, limits, current, platform);
      if (why) { onError(why); continue; }
      chosen.push(f);
      onError(null);
    }
    draw();
  };
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => { add([...input.files]); input.value = ""; });
  text.addEventListener("paste", (e) => {
    const pasted = [...(e.clipboardData?.files || [])];
    if (!pasted.length || !limits.some((l) => l.visibility === current)) return;
    e.preventDefault();
    add(pasted.map((f, i) => f.name && f.name !== "image.png" ? f : new File([f], `pasted-${Date.now()}-${i}.${(f.type.split("/")[1] || "png")}`, { type: f.type })));
  });
  draw();
  return {
    element,
    files: () => chosen.slice(),
    clear: () => { chosen.length = 0; draw(); },
  };
}
