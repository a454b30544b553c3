// Links in what customers write: web addresses, @mentions and #hashtags become links the
// agent may open, and nothing else does. Only http and https addresses link (never
// `javascript:`, `data:` or any other scheme, nor an address hiding a user name before its
// host); a mention or hashtag links to the profile or hashtag page of the message's own
// platform (X, Instagram, Facebook and Messenger) and stays text where the platform has
// none. Links open in a new tab with no opener, no referrer and no endorsement.
//
// The elements are built with DOM calls from the text (`textContent`, `setAttribute` with
// a URL the browser parsed), never as HTML, so a customer's text cannot become markup, an
// attribute or a script. No imports: `linkTokens` is tested by itself under node
// (tests/browser/linkify.test.mjs).

/** Where a platform's mentions and hashtags lead; `name` is the part a mention may use. */
const PLATFORMS = {
  x: {
    name: /^[A-Za-z0-9_]{1,15}(?![A-Za-z0-9_])/,
    mention: (u) => `https://x.com/${u}`,
    hashtag: (t) => `https://x.com/hashtag/${t}`,
  },
  instagram: {
    name: /^[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![A-Za-z0-9_])/,
    mention: (u) => `https://www.instagram.com/${u}/`,
    hashtag: (t) => `https://www.instagram.com/explore/tags/${t}/`,
  },
  facebook: {
    name: /^[A-Za-z0-9](?:[A-Za-z0-9.]{0,48}[A-Za-z0-9])?(?![A-Za-z0-9_])/,
    mention: (u) => `https://www.facebook.com/${u}`,
    hashtag: (t) => `https://www.facebook.com/hashtag/${t}`,
  },
};
PLATFORMS.messenger = PLATFORMS.facebook;

/** An address as written: `http://`, `https://` or `www.`, up to a space, a quote or an
 *  angle bracket; not glued to a word before it. */
const URL_RE = /(?<![\p{L}\p{M}\p{N}_@＠.\-])(?:https?:\/\/|www\.)[^\s<>"`“”‘’«»\u0000-\u001f\u007f]+/giu;

/** A mention or hashtag: `@` or `#` (full-width too), not after a word, an e-mail's name or
 *  an HTML entity's `&`. */
const TAG_RE = /(?<![\p{L}\p{M}\p{N}_!#$%&*@＠＃/\\])([@＠#＃])([\p{L}\p{M}\p{N}_.]+)/gu;

/** A hashtag: letters, marks, digits and `_`, not digits only. */
const HASHTAG_RE = /^[\p{L}\p{M}\p{N}_]+/u;

/** Punctuation that ends a sentence rather than an address. */
const TRAILING = new Set([".", ",", ":", ";", "!", "?", "'", "*", "…"]);
const CLOSERS = { ")": "(", "]": "[", "}": "{" };

/** The address without what only ends the sentence around it: trailing punctuation, and a
 *  closing bracket with no opening one in the address (`(see https://a.example/x)`). */
function trimUrl(raw) {
  const open = { "(": 0, "[": 0, "{": 0 };
  const close = { ")": 0, "]": 0, "}": 0 };
  for (const c of raw) {
    if (c in open) open[c]++;
    else if (c in close) close[c]++;
  }
  let end = raw.length;
  while (end > 0) {
    const c = raw[end - 1];
    if (TRAILING.has(c)) end--;
    else if (c in CLOSERS && close[c] > open[CLOSERS[c]]) {
      close[c]--;
      end--;
    } else break;
  }
  return raw.slice(0, end);
}

/** The link for an address as written, or null: http(s) only, with a host, and no user
 *  name or password before the host (`https://bank.example@evil.example` misleads). */
function webLink(written) {
  let url;
  try {
    url = new URL(/^www\./i.test(written) ? `https://${written}` : written);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (!url.hostname || url.username || url.password) return null;
  return url.href;
}

/** The mentions and hashtags of `text` that start at or after `from` and end by `to`. */
function tags(text, platform, from, to) {
  const links = Object.hasOwn(PLATFORMS, platform) ? PLATFORMS[platform] : null;
  if (!links) return [];
  const found = [];
  TAG_RE.lastIndex = from;
  for (let m = TAG_RE.exec(text); m && m.index < to; m = TAG_RE.exec(text)) {
    const [, sigil, rest] = m;
    const mention = sigil === "@" || sigil === "＠";
    const name = mention ? links.name.exec(rest)?.[0] : HASHTAG_RE.exec(rest)?.[0];
    if (!name || m.index + sigil.length + name.length > to) continue;
    // A hashtag of digits only is a number (`#1`); a mention running on into letters the
    // platform's names cannot have is no mention.
    if (!mention && /^[\p{N}_]+$/u.test(name)) continue;
    if (mention && /^[\p{L}\p{M}\p{N}]/u.test(rest.slice(name.length))) continue;
    const href = mention ? links.mention(name) : links.hashtag(encodeURIComponent(name));
    found.push({ start: m.index, text: sigil + name, href, kind: mention ? "mention" : "hashtag" });
  }
  return found;
}

/**
 * `text` as pieces, in order: `{ text }` stays text, `{ text, href, kind }` is a link
 * (`kind`: `url`, `mention` or `hashtag`); the pieces' texts put together are `text`.
 * `platform` is the message's (`x`, `instagram`, `facebook`, `messenger`, ...).
 */
export function linkTokens(text, platform) {
  const source = String(text ?? "");
  const links = [];
  let at = 0;
  for (const m of source.matchAll(URL_RE)) {
    const written = trimUrl(m[0]);
    const href = written.length > "www.".length ? webLink(written) : null;
    if (!href) continue;
    links.push(...tags(source, platform, at, m.index));
    links.push({ start: m.index, text: written, href, kind: "url" });
    at = m.index + written.length;
  }
  links.push(...tags(source, platform, at, source.length));
  const out = [];
  at = 0;
  for (const link of links) {
    if (link.start > at) out.push({ text: source.slice(at, link.start) });
    out.push({ text: link.text, href: link.href, kind: link.kind });
    at = link.start + link.text.length;
  }
  if (at < source.length) out.push({ text: source.slice(at) });
  return out;
}

/** `text` as text nodes and safe links, in a fragment (`doc`: the document to build in). */
export function linkified(text, platform, doc = document) {
  const fragment = doc.createDocumentFragment();
  for (const t of linkTokens(text, platform)) {
    if (!t.href) {
      fragment.append(doc.createTextNode(t.text));
      continue;
    }
    const a = doc.createElement("a");
    a.setAttribute("href", t.href);
    a.setAttribute("target", "_blank");
    a.setAttribute("rel", "noopener noreferrer nofollow");
    a.setAttribute("class", `link ${t.kind}`);
    // Where it really goes, for an address written to look like another.
    if (t.kind === "url") a.setAttribute("title", t.href);
    a.textContent = t.text;
    fragment.append(a);
  }
  return fragment;
}
