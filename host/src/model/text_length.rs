//! How long a text is, counted the way a platform counts it: code points for most, X's
//! weighted count for posts on X. The host refuses a reply over the platform's limit
//! with these rules; the desktop's counter (`web/assets/textlength.js`) follows the same
//! rules, and both pass the fixtures in `tests/fixtures/text-length.json`.
//!
//! X's rules (twitter-text v3's configuration, as X publishes them): the text is NFC
//! normalized; code points in 0-4351, 8192-8205, 8208-8223 and 8242-8247 weigh 1, all
//! others 2; every URL counts 23; an emoji sequence (a flag, a keycap, a pictograph with
//! its skin tone or presentation selector, a ZWJ family) counts 2.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// How a platform counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// Unicode code points.
    Characters,
    /// X's weighted count.
    X,
}

/// The longest text a platform takes for one kind of reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TextLimit {
    /// The most it takes, counted as `counting` says.
    pub max: u32,
    /// How it counts.
    pub counting: Counting,
}

impl TextLimit {
    /// `Err(length)` when `text` is over the limit.
    pub fn check(&self, text: &str) -> Result<(), u32> {
        let length = measure(text, self.counting);
        if length > self.max {
            Err(length)
        } else {
            Ok(())
        }
    }
}

/// The length of `text` under `counting`.
pub fn measure(text: &str, counting: Counting) -> u32 {
    let n = match counting {
        Counting::Characters => text.chars().count(),
        Counting::X => weighted(text),
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

const LIGHT: [(u32, u32); 4] = [(0, 4351), (8192, 8205), (8208, 8223), (8242, 8247)];
const URL_WEIGHT: usize = 23;
const EMOJI_WEIGHT: usize = 2;

/// One emoji sequence: a flag, a keycap, or pictographs with their modifiers joined by ZWJ.
static EMOJI: LazyLock<Regex> = LazyLock::new(|| {
    let pic = r"\p{Extended_Pictographic}(?:\x{FE0F}|\p{Emoji_Modifier}|[\x{E0020}-\x{E007E}]+\x{E007F})?";
    Regex::new(&format!(
        r"\p{{Regional_Indicator}}{{2}}|[#*0-9]\x{{FE0F}}?\x{{20E3}}|{pic}(?:\x{{200D}}{pic})*"
    ))
    .expect("emoji pattern")
});

static EMOJI_PRESENTATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\p{Emoji_Presentation}").expect("emoji presentation pattern"));

/// A link candidate: optional scheme, labels, a top-level domain, then port and path.
/// (What must not follow the domain is checked by hand: the regex crate has no
/// look-ahead.)
static CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(https?://)?((?:[\p{L}\p{N}](?:[\p{L}\p{N}_-]*[\p{L}\p{N}])?\.)+)(\p{L}{2,63})((?::\d{1,5})?(?:[/?#][^\s]*)?)",
    )
    .expect("url pattern")
});

/// Generic top-level domains X recognises without a scheme (the common ones).
const GTLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "name",
    "pro",
    "mobi",
    "aero",
    "asia",
    "cat",
    "coop",
    "jobs",
    "museum",
    "tel",
    "travel",
    "app",
    "dev",
    "page",
    "shop",
    "store",
    "online",
    "site",
    "website",
    "xyz",
    "tech",
    "blog",
    "news",
    "live",
    "life",
    "world",
    "email",
    "cloud",
    "club",
    "design",
    "agency",
    "digital",
    "global",
    "media",
    "network",
    "group",
    "company",
    "services",
    "solutions",
    "support",
    "systems",
    "today",
    "top",
    "vip",
    "win",
    "art",
    "studio",
    "space",
    "fun",
    "social",
    "link",
    "click",
    "help",
    "care",
    "health",
    "love",
    "game",
    "games",
    "video",
    "tv",
    "music",
    "photo",
    "photos",
    "money",
    "bank",
    "finance",
    "fund",
    "capital",
    "market",
    "markets",
    "sale",
    "deals",
    "gift",
];

/// Country-code top-level domains.
const CCTLDS: &[&str] = &[
    "ac", "ad", "ae", "af", "ag", "ai", "al", "am", "ao", "aq", "ar", "as", "at", "au", "aw", "ax",
    "az", "ba", "bb", "bd", "be", "bf", "bg", "bh", "bi", "bj", "bm", "bn", "bo", "br", "bs", "bt",
    "bv", "bw", "by", "bz", "ca", "cc", "cd", "cf", "cg", "ch", "ci", "ck", "cl", "cm", "cn", "co",
    "cr", "cu", "cv", "cw", "cx", "cy", "cz", "de", "dj", "dk", "dm", "do", "dz", "ec", "ee", "eg",
    "er", "es", "et", "eu", "fi", "fj", "fk", "fm", "fo", "fr", "ga", "gb", "gd", "ge", "gf", "gg",
    "gh", "gi", "gl", "gm", "gn", "gp", "gq", "gr", "gs", "gt", "gu", "gw", "gy", "hk", "hm", "hn",
    "hr", "ht", "hu", "id", "ie", "il", "im", "in", "io", "iq", "ir", "is", "it", "je", "jm", "jo",
    "jp", "ke", "kg", "kh", "ki", "km", "kn", "kp", "kr", "kw", "ky", "kz", "la", "lb", "lc", "li",
    "lk", "lr", "ls", "lt", "lu", "lv", "ly", "ma", "mc", "md", "me", "mg", "mh", "mk", "ml", "mm",
    "mn", "mo", "mp", "mq", "mr", "ms", "mt", "mu", "mv", "mw", "mx", "my", "mz", "na", "nc", "ne",
    "nf", "ng", "ni", "nl", "no", "np", "nr", "nu", "nz", "om", "pa", "pe", "pf", "pg", "ph", "pk",
    "pl", "pm", "pn", "pr", "ps", "pt", "pw", "py", "qa", "re", "ro", "rs", "ru", "rw", "sa", "sb",
    "sc", "sd", "se", "sg", "sh", "si", "sj", "sk", "sl", "sm", "sn", "so", "sr", "ss", "st", "su",
    "sv", "sx", "sy", "sz", "tc", "td", "tf", "tg", "th", "tj", "tk", "tl", "tm", "tn", "to", "tr",
    "tt", "tv", "tw", "tz", "ua", "ug", "uk", "us", "uy", "uz", "va", "vc", "ve", "vg", "vi", "vn",
    "vu", "wf", "ws", "ye", "yt", "za", "zm", "zw",
];

/// Under a country code, a bare name without a path is not a link ("readme.md"), except
/// under these.
const SPECIAL_CCTLDS: &[&str] = &["co", "tv"];

fn weight_of(c: char) -> usize {
    let cp = c as u32;
    if LIGHT.iter().any(|(lo, hi)| (*lo..=*hi).contains(&cp)) {
        1
    } else {
        2
    }
}

fn weighted(raw: &str) -> usize {
    let text: String = raw.nfc().collect();
    // Spans (start, end, weight) in byte offsets, URLs first, then emoji outside them.
    let mut spans: Vec<(usize, usize, usize)> = urls(&text)
        .into_iter()
        .map(|(s, e)| (s, e, URL_WEIGHT))
        .collect();
    for m in EMOJI.find_iter(&text) {
        if !is_emoji(m.as_str()) {
            continue;
        }
        let (start, end) = (m.start(), m.end());
        if spans
            .iter()
            .any(|(s, e, w)| *w == URL_WEIGHT && start < *e && end > *s)
        {
            continue;
        }
        spans.push((start, end, EMOJI_WEIGHT));
    }
    spans.sort_unstable();
    let mut total = 0;
    let mut spans = spans.into_iter().peekable();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        while spans.peek().is_some_and(|(_, end, _)| *end <= i) {
            spans.next();
        }
        if let Some(&(start, end, weight)) = spans.peek()
            && start == i
        {
            total += weight;
            spans.next();
            while chars.peek().is_some_and(|(j, _)| *j < end) {
                chars.next();
            }
            continue;
        }
        total += weight_of(c);
        chars.next();
    }
    total
}

/// A pictograph that is also ordinary text (©, ®, ‼) counts as an emoji only with its
/// presentation selector, in a sequence, or when drawn as one by default.
fn is_emoji(s: &str) -> bool {
    let mut cps = s.chars();
    let first = cps.next().unwrap_or('\0');
    cps.next().is_some() || EMOJI_PRESENTATION.is_match(s) || first as u32 >= 0x1f000
}

/// The byte spans of the links in `text`, as X finds them.
fn urls(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(m) = CANDIDATE.captures_at(text, from) {
        let whole = m.get(0).expect("match");
        let start = whole.start();
        let tld_group = m.get(3).expect("tld");
        // Nothing word-like may follow the domain itself: then no link starts here (look
        // again from the next character, as a look-ahead would).
        let after_tld = text[tld_group.end()..].chars().next();
        if m.get(4).is_some_and(|r| r.as_str().is_empty())
            && after_tld.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        // Otherwise the search goes on after this candidate, link or not.
        from = whole.end();
        let scheme = m.get(1).is_some();
        // A link starts a word: not after a letter, digit, @, $ or # (nor -, _, ., / for
        // one without a scheme).
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || "@＠$#＃".contains(c)) {
            continue;
        }
        if !scheme && before.is_some_and(|c| "-_./".contains(c)) {
            continue;
        }
        let tld = tld_group.as_str().to_lowercase();
        let cc = CCTLDS.contains(&tld.as_str());
        if !cc && !GTLDS.contains(&tld.as_str()) {
            continue;
        }
        let rest_raw = m.get(4).map_or("", |r| r.as_str());
        let rest = trim_path(rest_raw);
        let labels = m.get(2).map_or("", |l| l.as_str());
        let short = labels.matches('.').count() == 1; // one name, then the country code
        if !scheme && cc && short && !SPECIAL_CCTLDS.contains(&tld.as_str()) && rest.is_empty() {
            continue;
        }
        let end = whole.end() - rest_raw.len() + rest.len();
        found.push((start, end));
    }
    found
}

/// Sentence punctuation after a link is not part of it, nor is a closing bracket whose
/// opening one is not in the link.
fn trim_path(path: &str) -> &str {
    let mut p = path;
    loop {
        let before = p;
        p = p.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"', '‘', '’', '“', '”']);
        for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
            if p.ends_with(close) && p.matches(open).count() < p.matches(close).count() {
                p = &p[..p.len() - close.len_utf8()];
            }
        }
        if p == before {
            return p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
        counting: String,
        length: u32,
    }

    /// The same fixtures the desktop's counter passes (tests/browser/textlength.test.mjs).
    #[test]
    fn every_shared_fixture_counts_as_the_desktop_counts() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/text-length.json"
        );
        let cases: Vec<Case> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(cases.len() >= 10, "the fixtures are there");
        let mut wrong = Vec::new();
        for c in &cases {
            let counting = match c.counting.as_str() {
                "x" => Counting::X,
                "characters" => Counting::Characters,
                other => panic!("unknown counting {other}"),
            };
            let got = measure(&c.text, counting);
            if got != c.length {
                wrong.push(format!(
                    "{:?} ({}): {got}, expected {}",
                    c.text, c.counting, c.length
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_limit_says_how_long_an_over_long_text_is() {
        let post = TextLimit {
            max: 280,
            counting: Counting::X,
        };
        assert_eq!(post.check(&"a".repeat(280)), Ok(()));
        assert_eq!(post.check(&"a".repeat(281)), Err(281));
        assert_eq!(post.check(&"日".repeat(141)), Err(282), "CJK weighs 2 on X");
        let dm = TextLimit {
            max: 3,
            counting: Counting::Characters,
        };
        assert_eq!(dm.check("日本語"), Ok(()));
    }
}
