//! Checks that `cargo xtask demo` builds the host exactly as `cargo test --workspace`
//! does, by comparing the two cargo invocations' unit graphs (what cargo would compile,
//! with each crate's features and profile) without building anything.
//!
//! `--unit-graph` is unstable, so the child cargo runs with `RUSTC_BOOTSTRAP=1`; it only
//! prints the graph, so nothing built is affected.

use std::collections::{BTreeMap, HashSet};

use super::{DEMO_BUILD, cargo};

/// A tiny JSON value: enough for cargo's unit graph (std only, like the rest of xtask).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(key).unwrap_or(&Json::Null),
            _ => &Json::Null,
        }
    }

    fn items(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => &[],
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                loop {
                    self.ws();
                    if self.s[self.i] == b'}' {
                        self.i += 1;
                        return Json::Obj(m);
                    }
                    let Json::Str(k) = self.value() else {
                        panic!("object key at {}", self.i)
                    };
                    self.ws();
                    assert_eq!(self.s[self.i], b':');
                    self.i += 1;
                    m.insert(k, self.value());
                    self.ws();
                    if self.s[self.i] == b',' {
                        self.i += 1;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.s[self.i] == b']' {
                        self.i += 1;
                        return Json::Arr(v);
                    }
                    v.push(self.value());
                    self.ws();
                    if self.s[self.i] == b',' {
                        self.i += 1;
                    }
                }
            }
            b'"' => {
                self.i += 1;
                let mut out = Vec::new();
                while self.s[self.i] != b'"' {
                    if self.s[self.i] == b'\\' {
                        self.i += 1;
                    }
                    out.push(self.s[self.i]);
                    self.i += 1;
                }
                self.i += 1;
                Json::Str(String::from_utf8_lossy(&out).into_owned())
            }
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                Json::Num(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
            }
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(self.s[self.i..].starts_with(w.as_bytes()));
        self.i += w.len();
        v
    }
}

/// Every unit of a cargo invocation, each as a string naming what decides its artifact:
/// package, target, mode, platform, features, profile settings (not the profile's name:
/// cargo shares `dev` and `test` artifacts when their settings agree) and, recursively,
/// its dependencies.
fn units(args: &[&str]) -> Vec<(String, String)> {
    let out = cargo()
        .args(args)
        .args(["-Z", "unstable-options", "--unit-graph"])
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} --unit-graph: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let graph = Parser {
        s: &out.stdout,
        i: 0,
    }
    .value();
    let units = graph.get("units").items();
    let mut keys: Vec<Option<String>> = vec![None; units.len()];
    fn key(i: usize, units: &[Json], keys: &mut Vec<Option<String>>) -> String {
        if let Some(k) = &keys[i] {
            return k.clone();
        }
        let u = &units[i];
        let mut profile = u.get("profile").clone();
        if let Json::Obj(m) = &mut profile {
            m.remove("name");
        }
        let mut deps: Vec<String> = u
            .get("dependencies")
            .items()
            .iter()
            .map(|d| {
                let Json::Num(n) = d.get("index") else {
                    panic!("dependency index")
                };
                key(n.parse().unwrap(), units, keys)
            })
            .collect();
        deps.sort();
        let k = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} [{}]",
            u.get("pkg_id"),
            u.get("target").get("name"),
            u.get("mode"),
            u.get("platform"),
            u.get("features"),
            profile,
            deps.join(",")
        );
        keys[i] = Some(k.clone());
        k
    }
    (0..units.len())
        .map(|i| {
            let name = format!(
                "{:?} {:?} {:?}",
                units[i].get("pkg_id"),
                units[i].get("target").get("name"),
                units[i].get("target").get("kind")
            );
            (name, key(i, units, &mut keys))
        })
        .collect()
}

#[test]
fn demo_builds_what_the_tests_build() {
    let tested: HashSet<String> = units(&["test", "--workspace", "--no-run"])
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    let demo = units(DEMO_BUILD);
    let again: Vec<&String> = demo
        .iter()
        .filter(|(_, k)| !tested.contains(k))
        .map(|(name, _)| name)
        .collect();
    assert!(
        again.is_empty(),
        "`cargo xtask demo` would compile these again after `cargo xtask test`: {again:#?}"
    );
    assert!(
        demo.iter()
            .any(|(name, _)| name.contains("#switchboard@") && name.ends_with("[Str(\"bin\")])")),
        "the demo builds the switchboard binary: {demo:#?}"
    );
}
