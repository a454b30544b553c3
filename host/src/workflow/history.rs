//! The workflow versions this host has loaded, with each script's text, so administrators
//! can read what runs and what changed. The last [`KEEP`] versions are kept; a script
//! whose text did not change shares it with the version before.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many versions are kept.
pub const KEEP: usize = 50;

/// One loaded version.
struct Entry {
    number: i64,
    loaded_at: i64,
    sources: BTreeMap<String, Arc<str>>,
    changed: Vec<String>,
    removed: Vec<String>,
}

/// A version as listed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    /// Its number (one more with every reload that was not refused).
    pub version: i64,
    /// When it was loaded, unix ms.
    pub loaded_at: i64,
    /// Its scripts, by file name.
    pub scripts: Vec<String>,
    /// Scripts new or changed since the version before (all of them for the first kept).
    pub changed: Vec<String>,
    /// Scripts the version before had and this one does not.
    pub removed: Vec<String>,
}

/// One script of one version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ScriptText {
    pub version: i64,
    pub name: String,
    pub loaded_at: i64,
    /// The script as it was loaded.
    pub text: String,
}

/// The versions loaded, oldest first.
#[derive(Default)]
pub struct History {
    entries: Mutex<VecDeque<Entry>>,
}

impl History {
    /// Records version `number`, loaded at `loaded_at` from `sources`.
    pub fn record(&self, number: i64, loaded_at: i64, sources: &BTreeMap<String, Arc<str>>) {
        let mut entries = self.entries.lock().unwrap();
        let before = entries.back().map(|e| &e.sources);
        let mut kept = BTreeMap::new();
        let mut changed = Vec::new();
        for (name, text) in sources {
            match before.and_then(|b| b.get(name)) {
                Some(old) if **old == **text => {
                    kept.insert(name.clone(), old.clone());
                }
                _ => {
                    changed.push(name.clone());
                    kept.insert(name.clone(), text.clone());
                }
            }
        }
        let removed = before
            .map(|b| {
                b.keys()
                    .filter(|n| !sources.contains_key(*n))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        entries.push_back(Entry {
            number,
            loaded_at,
            sources: kept,
            changed,
            removed,
        });
        while entries.len() > KEEP {
            entries.pop_front();
        }
    }

    /// The versions kept, newest first.
    pub fn list(&self) -> Vec<VersionSummary> {
        self.entries
            .lock()
            .unwrap()
            .iter()
            .rev()
            .map(|e| VersionSummary {
                version: e.number,
                loaded_at: e.loaded_at,
                scripts: e.sources.keys().cloned().collect(),
                changed: e.changed.clone(),
                removed: e.removed.clone(),
            })
            .collect()
    }

    /// The text of script `name` in version `number`, if that version is kept and has it.
    pub fn script(&self, number: i64, name: &str) -> Option<ScriptText> {
        let entries = self.entries.lock().unwrap();
        let e = entries.iter().find(|e| e.number == number)?;
        Some(ScriptText {
            version: number,
            name: name.to_owned(),
            loaded_at: e.loaded_at,
            text: e.sources.get(name)?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(pairs: &[(&str, &str)]) -> BTreeMap<String, Arc<str>> {
        pairs
            .iter()
            .map(|(n, t)| (n.to_string(), Arc::from(*t)))
            .collect()
    }

    #[test]
    fn each_version_says_what_changed_and_keeps_its_texts() {
        let h = History::default();
        h.record(
            1,
            10,
            &sources(&[("a.rhai", "fn a() {}"), ("b.rhai", "fn b() {}")]),
        );
        h.record(
            2,
            20,
            &sources(&[("a.rhai", "fn a() { 1 }"), ("b.rhai", "fn b() {}")]),
        );
        h.record(3, 30, &sources(&[("a.rhai", "fn a() { 1 }")]));
        let list = h.list();
        assert_eq!(
            list.iter().map(|v| v.version).collect::<Vec<_>>(),
            [3, 2, 1]
        );
        assert_eq!(list[0].removed, ["b.rhai"]);
        assert!(list[0].changed.is_empty());
        assert_eq!(list[1].changed, ["a.rhai"]);
        assert_eq!(list[2].changed, ["a.rhai", "b.rhai"]);
        assert_eq!(h.script(1, "a.rhai").unwrap().text, "fn a() {}");
        assert_eq!(h.script(2, "a.rhai").unwrap().text, "fn a() { 1 }");
        assert_eq!(h.script(3, "b.rhai"), None);
        assert_eq!(h.script(9, "a.rhai"), None);
    }

    #[test]
    fn only_the_last_versions_are_kept() {
        let h = History::default();
        for n in 1..=(KEEP as i64 + 5) {
            h.record(n, n, &sources(&[("a.rhai", "x")]));
        }
        let list = h.list();
        assert_eq!(list.len(), KEEP);
        assert_eq!(list.last().unwrap().version, 6);
    }
}
