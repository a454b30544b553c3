// The transcript's links (host/src/web/assets/linkify.js): web addresses, @mentions and
// #hashtags of customers' text become safe links, and nothing else does, whatever the text.
// No browser needed (the browser test in rich-replies.test.mjs checks the real page).
//
//   node --test linkify.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { linkTokens, linkified } from "../../host/src/web/assets/linkify.js";

const links = (text, platform = "x") => linkTokens(text, platform).filter((t) => t.href).map((t) => [t.kind, t.text, t.href]);

/** Every piece put together gives the text back: nothing is lost, added or reordered. */
function whole(text, platform = "x") {
  assert.equal(linkTokens(text, platform).map((t) => t.text).join(""), text);
}

test("http and https addresses link, as written, to where they go", () => {
  assert.deepEqual(links("see https://acme.example/orders/42?x=1&y=2#top now"), [
    ["url", "https://acme.example/orders/42?x=1&y=2#top", "https://acme.example/orders/42?x=1&y=2#top"],
  ]);
  assert.deepEqual(links("HTTP://ACME.example/A"), [["url", "HTTP://ACME.example/A", "http://acme.example/A"]]);
  assert.deepEqual(links("www.acme.example/help"), [["url", "www.acme.example/help", "https://www.acme.example/help"]]);
  whole("see https://acme.example/orders/42?x=1&y=2#top now");
});

test("punctuation that ends the sentence is not part of the address", () => {
  const cases = {
    "Look: https://acme.example/a.": "https://acme.example/a",
    "https://acme.example/a, then": "https://acme.example/a",
    "is it https://acme.example/a?": "https://acme.example/a",
    "wow https://acme.example/a!!!": "https://acme.example/a",
    "(see https://acme.example/a)": "https://acme.example/a",
    "(see https://en.wikipedia.example/wiki/Boot_(shoe))": "https://en.wikipedia.example/wiki/Boot_(shoe)",
    "[https://acme.example/a]": "https://acme.example/a",
    "“https://acme.example/a”": "https://acme.example/a",
    "'https://acme.example/a'": "https://acme.example/a",
    "<https://acme.example/a>": "https://acme.example/a",
    "https://acme.example/a…": "https://acme.example/a",
  };
  for (const [text, url] of Object.entries(cases)) {
    const found = links(text);
    assert.equal(found.length, 1, `${text}: ${JSON.stringify(found)}`);
    assert.equal(found[0][1], url, text);
    whole(text);
  }
});

test("no other scheme links: javascript:, data:, vbscript:, file:, and addresses that hide their host", () => {
  for (const text of [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "java\tscript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://acme.example/x",
    "https://",
    "http://:80",
    "https://bank.example@evil.example/login",
    "https://user:pass@evil.example/",
    "www.",
  ]) {
    assert.deepEqual(links(text), [], text);
    whole(text);
  }
  // An address inside a hostile one links only its own http(s) part.
  assert.deepEqual(links("javascript:https://acme.example").map((l) => l[2]), ["https://acme.example/"]);
});

test("markup and attribute tricks stay text, and an address ends before them", () => {
  const img = `<img src=x onerror="alert(1)">`;
  assert.deepEqual(links(img), []);
  whole(img);
  const quote = `https://acme.example/"onmouseover="alert(1)`;
  assert.deepEqual(links(quote), [["url", "https://acme.example/", "https://acme.example/"]]);
  whole(quote);
  const tag = `https://acme.example/<script>alert(1)</script>`;
  assert.deepEqual(links(tag), [["url", "https://acme.example/", "https://acme.example/"]]);
  const tick = "https://acme.example/`onfocus=alert(1)";
  assert.deepEqual(links(tick).map((l) => l[2]), ["https://acme.example/"]);
  // A quote inside the path after all (apostrophes are kept inside, as in names).
  assert.deepEqual(links("https://acme.example/o'brien's"), [["url", "https://acme.example/o'brien's", "https://acme.example/o'brien's"]]);
  // Control characters end an address too.
  assert.deepEqual(links("https://acme.example/a\u0000b").map((l) => l[1]), ["https://acme.example/a"]);
});

test("mentions and hashtags link to the message's platform", () => {
  assert.deepEqual(links("thanks @AcmeHelp for #fastdelivery", "x"), [
    ["mention", "@AcmeHelp", "https://x.com/AcmeHelp"],
    ["hashtag", "#fastdelivery", "https://x.com/hashtag/fastdelivery"],
  ]);
  assert.deepEqual(links("@sheena.b loves #boots", "instagram"), [
    ["mention", "@sheena.b", "https://www.instagram.com/sheena.b/"],
    ["hashtag", "#boots", "https://www.instagram.com/explore/tags/boots/"],
  ]);
  assert.deepEqual(links("cc @acme.shoes #sale", "facebook"), [
    ["mention", "@acme.shoes", "https://www.facebook.com/acme.shoes"],
    ["hashtag", "#sale", "https://www.facebook.com/hashtag/sale"],
  ]);
  assert.deepEqual(links("#sale", "messenger"), [["hashtag", "#sale", "https://www.facebook.com/hashtag/sale"]]);
  // Platforms with no profile pages: text (addresses still link).
  for (const p of ["whatsapp", "apple", "", null, "__proto__", "constructor", "hasOwnProperty"]) {
    assert.deepEqual(links("@acme #sale https://acme.example", p), [["url", "https://acme.example", "https://acme.example/"]], String(p));
  }
});

test("what is not a mention or a hashtag stays text", () => {
  for (const text of [
    "ann@acme.example",         // an e-mail address
    "order #42",                // a number
    "&#64;acme",                // an HTML entity
    "C#",                       // a word
    "@",
    "#",
    "@@acme",
    "@a_name_much_too_long_for_x",   // X names have at most 15 characters
    "@acmé",                    // runs on into a letter X names cannot have
  ]) {
    assert.deepEqual(links(text, "x"), [], text);
    whole(text);
  }
  // Trailing punctuation is left out.
  assert.deepEqual(links("ask @acme.", "x").map((l) => l[1]), ["@acme"]);
  assert.deepEqual(links("ask @sheena.b.", "instagram").map((l) => l[1]), ["@sheena.b"]);
  assert.deepEqual(links("#boots, #shoes!", "x").map((l) => l[1]), ["#boots", "#shoes"]);
  // Inside an address, # and @ belong to the address.
  assert.deepEqual(links("https://acme.example/p#frag and https://acme.example/@me", "x").map((l) => l[0]), ["url", "url"]);
});

test("unicode: hashtags in any script, full-width signs, emoji and surrogates survive", () => {
  assert.deepEqual(links("j'adore #café et #日本 ＃ラーメン", "x"), [
    ["hashtag", "#café", "https://x.com/hashtag/caf%C3%A9"],
    ["hashtag", "#日本", "https://x.com/hashtag/%E6%97%A5%E6%9C%AC"],
    ["hashtag", "＃ラーメン", "https://x.com/hashtag/%E3%83%A9%E3%83%BC%E3%83%A1%E3%83%B3"],
  ]);
  assert.deepEqual(links("＠acme", "x"), [["mention", "＠acme", "https://x.com/acme"]]);
  // An internationalized host goes to its punycode form, which the title shows.
  assert.deepEqual(links("https://bücher.example/ü"), [["url", "https://bücher.example/ü", "https://xn--bcher-kva.example/%C3%BC"]]);
  for (const text of ["👢 https://acme.example/👢 👢", "\u{1F600}@acme\u{1F600}#x", "\uD800 lone surrogate https://a.example \uDC00", "e\u0301 #e\u0301"]) {
    whole(text);
  }
  assert.deepEqual(links("👢 https://acme.example/👢 👢").map((l) => l[2]), ["https://acme.example/%F0%9F%91%A2"]);
});

test("long and odd texts take little time and lose nothing", () => {
  const texts = [
    ")".repeat(20000),
    `https://a.example/${")".repeat(20000)}`,
    "@".repeat(20000),
    "#".repeat(10000) + "a",
    `${"a".repeat(50000)} https://a.example`,
    "www.".repeat(5000),
  ];
  const start = Date.now();
  for (const t of texts) whole(t);
  assert.ok(Date.now() - start < 2000, `${Date.now() - start} ms`);
  assert.deepEqual(linkTokens(null, "x"), []);
  assert.deepEqual(linkTokens(undefined, "x"), []);
});

/** A document that records what is made of it: the links are built with DOM calls only. */
function recordingDocument() {
  const made = [];
  const node = (kind, value) => {
    const n = { kind, value, attributes: {}, children: [], textContent: value ?? "" };
    n.setAttribute = (k, v) => { n.attributes[k] = String(v); };
    n.append = (...c) => n.children.push(...c);
    Object.defineProperty(n, "innerHTML", { set() { throw new Error("innerHTML used"); } });
    made.push(n);
    return n;
  };
  return {
    made,
    createDocumentFragment: () => node("fragment"),
    createTextNode: (t) => node("text", t),
    createElement: (tag) => node(tag),
  };
}

test("links are elements with a parsed URL, a new tab, no opener, referrer or endorsement", () => {
  const doc = recordingDocument();
  const text = `hi @acme <img src=x onerror=alert(1)> https://acme.example/"x javascript:alert(1)`;
  const fragment = linkified(text, "x", doc);
  const anchors = fragment.children.filter((c) => c.kind === "a");
  assert.deepEqual(anchors.map((a) => a.attributes.href), ["https://x.com/acme", "https://acme.example/"]);
  for (const a of anchors) {
    assert.equal(a.attributes.target, "_blank");
    assert.equal(a.attributes.rel, "noopener noreferrer nofollow");
    assert.deepEqual(Object.keys(a.attributes).sort(), a.attributes.title ? ["class", "href", "rel", "target", "title"] : ["class", "href", "rel", "target"]);
  }
  assert.equal(anchors[1].attributes.title, "https://acme.example/");
  assert.equal(fragment.children.map((c) => c.textContent).join(""), text);
  assert.ok(!doc.made.some((n) => !["fragment", "text", "a"].includes(n.kind)), "only text and links are made");
});
