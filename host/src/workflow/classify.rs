//! `classify(ix)`: sentiment and actionability from keyword rules.
//!
//! The rules live in `classify.toml` in the workflow folder, next to the scripts, so a
//! solution engineer edits them like a script and they reload (and are checked) with the
//! folder. Without the file, the English rules shipped in `workflows/classify.toml` apply.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use rhai::{Array, Dynamic, Map};
use serde::Deserialize;

/// The rules shipped with Switchboard.
pub const DEFAULT_RULES: &str = include_str!("../../../workflows/classify.toml");

/// Score limits that turn sums of weights into labels.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// A sentiment score at or above this is `positive`.
    pub positive: i64,
    /// A sentiment score at or below this is `negative`.
    pub negative: i64,
    /// An actionability score at or above this is actionable.
    pub actionable: i64,
}

/// Keywords of one language, with weights.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// Positive weights push toward positive sentiment, negative ones toward negative.
    #[serde(default)]
    pub sentiment: BTreeMap<String, i64>,
    /// Weights of words that ask for an answer (questions, complaints, requests).
    #[serde(default)]
    pub actionable: BTreeMap<String, i64>,
}

/// A rule file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The language assumed when the message has none and no keyword tells.
    pub default_language: String,
    /// Label limits.
    pub thresholds: Thresholds,
    /// Keywords per language (BCP-47 primary tag: `en`, `fr`, `es`, ...), stored
    /// normalized (see `normalize`) once parsed.
    pub languages: BTreeMap<String, Language>,
}

/// What `classify` found.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// `positive`, `neutral` or `negative`.
    pub sentiment: &'static str,
    /// Sum of the sentiment weights found.
    pub score: i64,
    /// Whether the message asks for an answer.
    pub actionable: bool,
    /// Sum of the actionability weights found.
    pub actionability: i64,
    /// The language whose rules applied.
    pub language: String,
    /// The keywords found, in rule order.
    pub matched: Vec<String>,
}

impl Classification {
    /// The map scripts receive.
    pub fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("sentiment".into(), self.sentiment.into());
        map.insert("score".into(), self.score.into());
        map.insert("actionable".into(), self.actionable.into());
        map.insert("actionability".into(), self.actionability.into());
        map.insert("language".into(), self.language.clone().into());
        let matched: Array = self.matched.iter().cloned().map(Dynamic::from).collect();
        map.insert("matched".into(), matched.into());
        map
    }
}

impl Rules {
    /// Parses and checks a rule file; errors name the file and line.
    pub fn parse(file: &str, text: &str) -> Result<Rules> {
        let rules: Rules = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| text[..s.start].lines().count().max(1))
                .unwrap_or(1);
            anyhow::anyhow!("{file}:{at}: {}", e.message())
        })?;
        let t = &rules.thresholds;
        if t.negative >= t.positive {
            bail!(
                "{file}: thresholds.negative ({}) must be below thresholds.positive ({})",
                t.negative,
                t.positive
            );
        }
        if !rules.languages.contains_key(&rules.default_language) {
            bail!(
                "{file}: default_language `{}` has no [languages.{}] rules",
                rules.default_language,
                rules.default_language
            );
        }
        for (lang, l) in &rules.languages {
            for word in l.sentiment.keys().chain(l.actionable.keys()) {
                if word.trim().is_empty() || *word != word.to_lowercase() {
                    bail!(
                        "{file}: [languages.{lang}] keyword `{word}` must be non-empty lower case"
                    );
                }
            }
        }
        // Keywords are normalized once here, not on every message.
        let mut rules = rules;
        for l in rules.languages.values_mut() {
            for words in [&mut l.sentiment, &mut l.actionable] {
                *words = std::mem::take(words)
                    .into_iter()
                    .map(|(w, weight)| (normalize(&w), weight))
                    .collect();
            }
        }
        Ok(rules)
    }

    /// The shipped rules.
    pub fn shipped() -> Rules {
        Rules::parse("workflows/classify.toml", DEFAULT_RULES).expect("shipped rules parse")
    }

    /// Loads `classify.toml` from the workflow folder, or the shipped rules without it.
    pub fn load(dir: &std::path::Path) -> Result<Rules> {
        let path = dir.join("classify.toml");
        if !path.exists() {
            return Ok(Rules::shipped());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Rules::parse(&path.display().to_string(), &text)
    }

    /// Classifies `text`, written in `language` when the platform said so.
    pub fn classify(&self, text: &str, language: Option<&str>) -> Classification {
        let normalized = normalize(text);
        let lang = language
            .map(|l| l.split(['-', '_']).next().unwrap_or(l).to_lowercase())
            .filter(|l| self.languages.contains_key(l))
            .unwrap_or_else(|| self.detect(&normalized));
        let rules = &self.languages[&lang];
        let mut matched = Vec::new();
        let mut sum = |words: &BTreeMap<String, i64>| {
            words
                .iter()
                .map(|(word, weight)| {
                    let n = occurrences(&normalized, word);
                    if n > 0 {
                        matched.push(word.trim().to_string());
                    }
                    weight * n
                })
                .sum::<i64>()
        };
        let score = sum(&rules.sentiment);
        let actionability = sum(&rules.actionable);
        let t = &self.thresholds;
        let sentiment = if score >= t.positive {
            "positive"
        } else if score <= t.negative {
            "negative"
        } else {
            "neutral"
        };
        Classification {
            sentiment,
            score,
            actionable: actionability >= t.actionable,
            actionability,
            language: lang,
            matched,
        }
    }

    /// The language whose keywords occur most; the default when none does.
    fn detect(&self, normalized: &str) -> String {
        let hits = |l: &Language| {
            l.sentiment
                .keys()
                .chain(l.actionable.keys())
                .filter(|w| w.chars().any(char::is_alphabetic))
                .map(|w| occurrences(normalized, w))
                .sum::<i64>()
        };
        let mut best = (0, self.default_language.clone());
        for (name, l) in &self.languages {
            let n = hits(l);
            if n > best.0 || (n == best.0 && n > 0 && *name == self.default_language) {
                best = (n, name.clone());
            }
        }
        best.1
    }
}

/// Lower case, words separated by single spaces, punctuation kept as its own token, with
/// a space at both ends so a keyword matches whole words only.
fn normalize(text: &str) -> String {
    let mut out = String::from(" ");
    for c in text.to_lowercase().chars() {
        if c.is_alphanumeric() || c == '\'' {
            out.push(c);
        } else if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            out.push(c);
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// How often a (normalized) keyword occurs in a normalized text.
fn occurrences(normalized: &str, keyword: &str) -> i64 {
    normalized.matches(keyword).count() as i64
}

/// An author's influence: a 0-100 score from the follower count (20 points per power of
/// ten) and its level (`low`, `medium`, `high`; `unknown` without a count).
pub fn influence_of(followers: Option<i64>) -> (i64, &'static str) {
    match followers {
        Some(n) => {
            let score = ((20.0 * ((n.max(0) + 1) as f64).log10()).round() as i64).min(100);
            let level = match score {
                60.. => "high",
                40.. => "medium",
                _ => "low",
            };
            (score, level)
        }
        None => (0, "unknown"),
    }
}

/// `influence(ix)`: [`influence_of`] as the script sees it, with the follower count.
pub fn influence(followers: Option<i64>) -> Map {
    let (score, level) = influence_of(followers);
    let mut map = Map::new();
    map.insert(
        "followers".into(),
        followers.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
    );
    map.insert("score".into(), score.into());
    map.insert("level".into(), level.into());
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_label_plain_english() {
        let rules = Rules::shipped();
        let angry = rules.classify(
            "My order arrived broken. This is terrible, I want a refund!",
            None,
        );
        assert_eq!(angry.sentiment, "negative", "{angry:?}");
        assert!(angry.actionable, "{angry:?}");
        assert_eq!(angry.language, "en");
        let happy = rules.classify("Thanks, love the new app 😍", None);
        assert_eq!(happy.sentiment, "positive", "{happy:?}");
        assert!(!happy.actionable, "{happy:?}");
        let flat = rules.classify("I saw the post", None);
        assert_eq!(flat.sentiment, "neutral");
    }

    #[test]
    fn keywords_match_whole_words_only() {
        let rules = Rules::parse(
            "t.toml",
            "default_language = \"en\"\n[thresholds]\npositive = 1\nnegative = -1\nactionable = 1\n\
             [languages.en.sentiment]\nbad = -1\n[languages.en.actionable]\n\"not working\" = 2\n",
        )
        .unwrap();
        assert_eq!(rules.classify("Badge design", None).sentiment, "neutral");
        assert_eq!(rules.classify("so BAD.", None).sentiment, "negative");
        assert!(rules.classify("app is not   working", None).actionable);
    }

    #[test]
    fn the_platform_language_wins_and_unknown_text_is_detected() {
        let rules = Rules::shipped();
        let fr = rules.classify("Merci, c'est super", None);
        assert_eq!(fr.language, "fr");
        assert_eq!(fr.sentiment, "positive");
        let es = rules.classify("terrible", Some("es-MX"));
        assert_eq!(es.language, "es");
    }

    #[test]
    fn bad_rule_files_name_the_line() {
        let err = Rules::parse(
            "c.toml",
            "default_language = \"en\"\n[thresholds]\npositive = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.toml:3"), "{err}");
        let err = Rules::parse(
            "c.toml",
            "default_language = \"de\"\n[thresholds]\npositive = 1\nnegative = -1\nactionable = 1\n[languages.en]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("default_language `de`"), "{err}");
    }

    #[test]
    fn influence_grows_with_followers() {
        let level = |n| influence(Some(n))["level"].clone().into_string().unwrap();
        assert_eq!(level(5), "low");
        assert_eq!(level(500), "medium");
        assert_eq!(level(50_000), "high");
        assert_eq!(influence(Some(10_000_000))["score"].as_int().unwrap(), 100);
        assert_eq!(
            influence(None)["level"].clone().into_string().unwrap(),
            "unknown"
        );
    }
}
