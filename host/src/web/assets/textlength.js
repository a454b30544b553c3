// How long a reply is, counted the way its platform counts it. The server is the
// authority (it refuses an over-long reply with 422 `too_long`); this lets the reply box
// say so before sending. Both pass the same fixtures: tests/fixtures/text-length.json.
//
//   measure("héllo", "characters")  → 5   Unicode code points
//   measure("see x.com/a 👍🏽", "x")  → 30  X's weighted count (twitter-text v3)
//
// X's rules (twitter-text v3 configuration): the text is NFC-normalized; code points in
// 0–4351, 8192–8205, 8208–8223 and 8242–8247 weigh 1, all others 2; every URL counts 23;
// an emoji (one emoji sequence: a flag, a keycap, a skin tone, a ZWJ family) counts 2.

/** The length of `text` under a platform's `counting` (`characters` or `x`). */
export function measure(text, counting) {
  text = String(text ?? "");
  if (counting === "x") return weighted(text);
  return [...text].length;
}

// ---- X's weighted length --------------------------------------------------------------------

const LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
const URL_WEIGHT = 23;
const EMOJI_WEIGHT = 2;

function weightOf(cp) {
  return LIGHT.some(([lo, hi]) => cp >= lo && cp <= hi) ? 1 : 2;
}

function weighted(raw) {
  const text = raw.normalize("NFC");
  // Spans [start, end) of URLs and emoji, in UTF-16 offsets, in order.
  const spans = [];
  for (const u of urls(text)) spans.push({ ...u, weight: URL_WEIGHT });
  for (const m of text.matchAll(EMOJI)) {
    if (!isEmoji(m[0])) continue;
    const start = m.index, end = m.index + m[0].length;
    if (spans.some((s) => s.weight === URL_WEIGHT && start < s.end && end > s.start)) continue;
    spans.push({ start, end, weight: EMOJI_WEIGHT });
  }
  spans.sort((a, b) => a.start - b.start);
  let total = 0;
  let i = 0;
  let next = 0;
  while (i < text.length) {
    while (next < spans.length && spans[next].end <= i) next++;
    const span = spans[next];
    if (span && span.start === i) {
      total += span.weight;
      i = span.end;
      next++;
      continue;
    }
    const cp = text.codePointAt(i);
    total += weightOf(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return total;
}

// One emoji sequence: a flag (two regional indicators), a keycap, or a pictograph with its
// presentation selector, skin tone or tag sequence, joined to more by ZWJ.
const PIC = String.raw`\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier}|[\u{E0020}-\u{E007E}]+\u{E007F})?`;
const EMOJI = new RegExp(
  String.raw`\p{Regional_Indicator}{2}|[#*0-9]\uFE0F?\u20E3|${PIC}(?:\u200D${PIC})*`,
  "gu",
);

/** A pictograph that is also ordinary text (©, ®, ‼ …) is an emoji only with U+FE0F or
 *  when it is drawn as one by default (above U+1F000) or joined in a sequence. */
function isEmoji(s) {
  const cps = [...s];
  if (cps.length > 1) return true;
  const cp = cps[0].codePointAt(0);
  return /\p{Emoji_Presentation}/u.test(cps[0]) || cp >= 0x1f000;
}

// ---- URLs, as twitter-text finds them ---------------------------------------------------------

// Generic top-level domains X recognises without a scheme (the common ones; X's full list
// is longer), and every country-code one.
const GTLDS = new Set(`com net org edu gov mil int info biz name pro mobi aero asia cat coop jobs museum tel travel
  app dev page shop store online site website xyz tech blog news live life world email cloud club design
  agency digital global media network group company services solutions support systems today top vip win
  art studio space fun social link click help care health love game games video tv music photo photos
  money bank finance fund capital market markets sale deals gift`.split(/\s+/));
const CCTLDS = new Set(`ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt
  bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es
  et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id
  ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv
  ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu
  nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm
  sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc
  ve vg vi vn vu wf ws ye yt za zm zw`.split(/\s+/));
// A name under a country code, without a scheme or a path, is not a link ("readme.md"),
// except under these.
const SPECIAL_CCTLDS = new Set(["co", "tv"]);

const CANDIDATE = new RegExp(
  String.raw`(https?:\/\/)?((?:[\p{L}\p{N}](?:[\p{L}\p{N}_-]*[\p{L}\p{N}])?\.)+)([\p{L}]{2,63})(?![\p{L}\p{N}_-])((?::\d{1,5})?(?:[/?#][^\s]*)?)`,
  "giu",
);

function urls(text) {
  const found = [];
  for (const m of text.matchAll(CANDIDATE)) {
    const [whole, scheme, labels, tldRaw, restRaw] = m;
    const start = m.index;
    const before = text.slice(0, start);
    // A link starts a word: not after a letter, digit, @, $ or # (nor -, _, ., / for bare ones).
    if (/[\p{L}\p{N}@＠$#＃]$/u.test(before)) continue;
    if (!scheme && /[-_./]$/.test(before)) continue;
    const tld = tldRaw.toLowerCase();
    const cc = CCTLDS.has(tld);
    if (!cc && !GTLDS.has(tld)) continue;
    const rest = trimPath(restRaw);
    const short = labels.split(".").length === 2; // one name, then the country code
    if (!scheme && cc && short && !SPECIAL_CCTLDS.has(tld) && !rest) continue;
    const length = whole.length - restRaw.length + rest.length;
    found.push({ start, end: start + length });
  }
  return found;
}

/** Punctuation that ends a sentence is not part of the link; a closing bracket without
 *  its opening one is not either. */
function trimPath(path) {
  let p = path;
  for (;;) {
    const before = p;
    p = p.replace(/[.,;:!?'"‘’“”]+$/u, "");
    for (const [open, close] of [["(", ")"], ["[", "]"], ["{", "}"]]) {
      if (p.endsWith(close) && p.split(open).length < p.split(close).length) p = p.slice(0, -1);
    }
    if (p === before) return p;
  }
}
