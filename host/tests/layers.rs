//! The host's folders form layers: each imports only from the ones below it, so a change
//! at the top never ripples down and the bottom can be read alone. This reads the
//! sources' `crate::` paths and fails on any import that goes up (or round in a cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom first. A module may import any module listed before it, never one after.
/// Leaf utilities (`clock`, `calendar`, `metrics`, `fswatch`) and `model`, the shared
/// vocabulary, come first; `server` wires everything; the demo runs a server (the benches, a crate of their own,
/// use the library from outside).
const LAYERS: &[&str] = &[
    "model",
    "clock",
    "calendar",
    "metrics",
    "fswatch",
    "routing",
    "workflow",
    "store",
    "reports",
    "connectors",
    "config",
    "cluster",
    "channels",
    "media",
    "interactions",
    "outbound",
    "ingest",
    "app",
    "web",
    "api",
    "server",
    "demo",
    "replay",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/ingest/stream.rs` -> `ingest`,
/// `src/app.rs` -> `app`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// Every `crate::name` a file mentions (in code, not in comments).
fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `switchboard_sdk::` or `some_crate::` end in "crate::" too.
            let before = rest[..at].chars().last();
            if !name.is_empty() && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                found.insert(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn every_folder_imports_only_from_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut upward = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(&own) = rank.get(module.as_str()) else {
            panic!("module `{module}` is in no layer: add it to LAYERS where it belongs");
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in imports(&text) {
            if used == module {
                continue;
            }
            let Some(&theirs) = rank.get(used.as_str()) else {
                panic!(
                    "{}: imports `crate::{used}`, which is in no layer",
                    file.display()
                );
            };
            if theirs > own {
                upward.push(format!(
                    "{} imports crate::{used} (a layer above `{module}`)",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that go up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_import_scanner_sees_paths_and_skips_comments_and_other_crates() {
    let found = imports(
        "use crate::store::{Store, now};\n// crate::api in a comment\nlet x = switchboard_sdk::y; fn f(a: crate::model::X) {}",
    );
    assert_eq!(
        found,
        BTreeSet::from(["model".to_owned(), "store".to_owned()])
    );
}
