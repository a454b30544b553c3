//! Structured mutations of a real-shaped JSON payload.
//!
//! Contract: [`mutate`] is a pure function of the seed payload and the random generator's
//! state, so a case seed always gives the same bytes. A payload is first changed as a JSON
//! tree (fields removed, values of the wrong type, numbers where strings belong, arrays
//! where objects belong, huge strings, deep nesting, long batches, duplicated keys, parts
//! of the payload moved elsewhere), then, for some cases, as bytes (bad `\u` escapes,
//! invalid UTF-8, truncation, odd numbers, trailing garbage). Payloads stay below about
//! [`MAX_LEN`] bytes so that a case stays cheap.

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use serde_json::{Map, Number, Value, json};

/// About the largest payload a mutation builds (a huge string or a long batch), in one
/// case of [`LARGE_ONE_IN`].
pub(crate) const MAX_LEN: usize = 2 << 20;
/// How often a case may grow up to [`MAX_LEN`]; the others stay under [`SMALL_LEN`], so
/// that ten thousand cases run in seconds in a debug build.
const LARGE_ONE_IN: u32 = 50;
/// About the largest payload of most cases.
const SMALL_LEN: usize = 32 << 10;
/// serde_json's default recursion limit: nesting is tried around it on both sides.
const SERDE_DEPTH_LIMIT: usize = 128;
/// The deepest tree a mutation builds: past serde_json's limit, yet shallow enough for
/// the kit's own (recursive) serialization on the worker's small stack. Deeper nesting
/// comes from the byte mutations, as raw text.
const MAX_TREE_DEPTH: usize = 300;
/// The key prefix marking a duplicated key until serialization (see [`dup_keys`]).
const DUP_MARK: &str = "\u{1}dup\u{1}";

type Rng = Xoshiro256PlusPlus;

/// One step of a path into a JSON tree.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The mutated payload. `seed` is a corpus entry; anything that is not JSON gets byte
/// mutations only.
pub(crate) fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    // A few cases use the payload as it is: the real shape must keep working.
    if rng.random_ratio(1, 25) {
        return seed.to_vec();
    }
    let mut bytes = match serde_json::from_slice::<Value>(seed) {
        Ok(mut doc) => {
            let budget = if rng.random_ratio(1, LARGE_ONE_IN) {
                MAX_LEN
            } else {
                SMALL_LEN.max(seed.len() * 2)
            };
            for _ in 0..rng.random_range(1..=4) {
                mutate_tree(&mut doc, budget, rng);
            }
            dup_keys(serde_json::to_vec(&doc).unwrap_or_default())
        }
        Err(_) => seed.to_vec(),
    };
    if rng.random_ratio(1, 3) {
        for _ in 0..rng.random_range(1..=3) {
            mutate_bytes(&mut bytes, rng);
        }
    }
    bytes
}

// ---------------------------------------------------------------- the tree

/// The depth of the deepest node.
fn depth_of(doc: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(doc, 0)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Object(map) => stack.extend(map.values().map(|c| (c, d + 1))),
            Value::Array(list) => stack.extend(list.iter().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    deepest
}

/// The path of a node chosen uniformly at random (reservoir sampling over a depth-first
/// walk: only the few paths that get chosen along the way are copied).
fn random_path(doc: &Value, rng: &mut Rng) -> Vec<Seg> {
    let mut chosen = Vec::new();
    let mut path: Vec<Seg> = Vec::new();
    let mut stack: Vec<(&Value, usize, Option<Seg>)> = vec![(doc, 0, None)];
    let mut seen: u64 = 0;
    while let Some((v, depth, seg)) = stack.pop() {
        path.truncate(depth.saturating_sub(1));
        if let Some(seg) = seg {
            path.push(seg);
        }
        seen += 1;
        if rng.random_range(0..seen) == 0 {
            chosen = path.clone();
        }
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    stack.push((child, depth + 1, Some(Seg::Key(k.clone()))));
                }
            }
            Value::Array(list) => {
                for (i, child) in list.iter().enumerate() {
                    stack.push((child, depth + 1, Some(Seg::Index(i))));
                }
            }
            _ => {}
        }
    }
    chosen
}

fn node_mut<'a>(doc: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut v = doc;
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.get_mut(k.as_str())?,
            Seg::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

fn node<'a>(doc: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut v = doc;
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.get(k.as_str())?,
            Seg::Index(i) => v.get(*i)?,
        };
    }
    Some(v)
}

fn len_of(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0)
}

/// One change at a random place of the tree, keeping it under `budget` bytes.
fn mutate_tree(doc: &mut Value, budget: usize, rng: &mut Rng) {
    let path = random_path(doc, rng);
    if rng.random_ratio(1, 6) && !path.is_empty() {
        remove(doc, &path);
        return;
    }
    let op = rng.random_range(0..12);
    // What some operations need to stay within bounds, measured only for them.
    let room = match op {
        7 | 8 | 10 => budget.saturating_sub(len_of(doc)),
        _ => 0,
    };
    let depth_room = match op {
        4..=6 | 8 => MAX_TREE_DEPTH.saturating_sub(depth_of(doc) + 1),
        _ => 0,
    };
    let donor = match op {
        8 => {
            let donor_path = random_path(doc, rng);
            node(doc, &donor_path)
                .filter(|d| len_of(d) < room && depth_of(d) <= depth_room)
                .cloned()
        }
        _ => None,
    };
    let Some(target) = node_mut(doc, &path) else {
        return;
    };
    match op {
        0 | 1 => *target = odd_value(rng),
        2 | 3 => retype(target),
        4 if depth_room > 0 => *target = in_array(target.take()),
        5 if depth_room > 0 => *target = in_object("value", target.take()),
        6 => *target = deep(target.take(), depth_room, rng),
        7 => batch(target, room, rng),
        8 => {
            if let Some(donor) = donor {
                *target = donor;
            }
        }
        9 => add_key(target, rng),
        10 => *target = Value::String(huge_string(room, rng)),
        _ => edit_string(target, rng),
    }
}

fn remove(doc: &mut Value, path: &[Seg]) {
    let (last, parent) = path.split_last().expect("a non-empty path");
    match (node_mut(doc, parent), last) {
        (Some(Value::Object(map)), Seg::Key(k)) => {
            map.remove(k.as_str());
        }
        (Some(Value::Array(list)), Seg::Index(i)) if *i < list.len() => {
            list.remove(*i);
        }
        _ => {}
    }
}

/// A scalar, or an empty container, that a parser may not expect here.
fn odd_value(rng: &mut Rng) -> Value {
    const STRINGS: &[&str] = &[
        "",
        " ",
        "0",
        "-1",
        "1e3",
        "9223372036854775808",
        "-9223372036854775809",
        "1742667604",
        "1742667604123",
        "2024-01-15T12:03:00+0000",
        "2024-01-15T12:03:00.000Z",
        "9999-12-31T23:59:59.999+2359",
        "0000-00-00T00:00:00Z",
        "2024-02-30T25:61:61-9999",
        "2024-01-15T12:03:00.",
        "null",
        "true",
        "\u{0}",
        "é",
        "👍🏽",
        "\u{202e}evil\u{202c}",
        "a\u{301}\u{301}\u{301}",
        "\u{feff}",
        "\r\n",
        "{\"nested\":\"json\"}",
        "urn:mbid:",
        "psid:",
        "sha256=",
        "-",
        "_",
    ];
    match rng.random_range(0..20) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(0),
        3 => json!(-1),
        4 => json!(i64::MAX),
        5 => json!(i64::MIN),
        6 => json!(u64::MAX),
        7 => json!(1.5),
        8 => json!(1e308),
        9 => json!(-1e308),
        10 => Number::from_f64(-0.0).map_or(Value::Null, Value::Number),
        11 => json!(rng.random::<i64>()),
        12 => json!([]),
        13 => json!({}),
        _ => Value::String((*STRINGS.choose(rng).unwrap_or(&"")).to_string()),
    }
}

/// The same information in another type: a number as a string and the reverse, an array
/// as an object, an object as an array.
fn retype(v: &mut Value) {
    *v = match v.take() {
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => match s.trim().parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) => Value::Number(n),
                None => json!(s.len()),
            },
        },
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Null => Value::String("null".into()),
        Value::Array(list) => Value::Object(
            list.into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
        ),
        Value::Object(map) => Value::Array(map.into_iter().map(|(_, v)| v).collect()),
    }
}

// Built by hand: `json!` would serialize (copy) the value it wraps.
fn in_array(v: Value) -> Value {
    Value::Array(vec![v])
}

fn in_object(key: &str, v: Value) -> Value {
    Value::Object(Map::from_iter([(key.to_string(), v)]))
}

/// `v` under arrays or objects: a few, or just under serde_json's limit, or just past it,
/// or far past it (at most `room` levels).
fn deep(v: Value, room: usize, rng: &mut Rng) -> Value {
    let depth = match rng.random_range(0..4) {
        0 => rng.random_range(2..=16),
        1 => rng.random_range(SERDE_DEPTH_LIMIT - 8..SERDE_DEPTH_LIMIT),
        2 => rng.random_range(SERDE_DEPTH_LIMIT..=SERDE_DEPTH_LIMIT + 8),
        _ => rng.random_range(SERDE_DEPTH_LIMIT..=MAX_TREE_DEPTH),
    }
    .min(room);
    let objects = rng.random_bool(0.5);
    let mut out = v;
    for _ in 0..depth {
        out = if objects {
            in_object("data", out)
        } else {
            in_array(out)
        };
    }
    out
}

/// A long batch: the array repeated (or the value as an array of copies), within `room`.
fn batch(v: &mut Value, room: usize, rng: &mut Rng) {
    let item = match &*v {
        Value::Array(list) if !list.is_empty() => list[rng.random_range(0..list.len())].clone(),
        other => other.clone(),
    };
    let size = len_of(&item) + 1;
    let n = rng.random_range(2..=1000).min(room / size);
    if n < 2 {
        return;
    }
    *v = Value::Array(vec![item; n]);
}

/// An unknown key, or the same key twice (kept apart until [`dup_keys`]).
fn add_key(v: &mut Value, rng: &mut Rng) {
    let Value::Object(map) = v else {
        return;
    };
    let existing: Vec<String> = map.keys().cloned().collect();
    let value = odd_value(rng);
    match existing.choose(rng) {
        Some(k) if rng.random_bool(0.5) => {
            map.insert(format!("{DUP_MARK}{k}"), value);
        }
        _ => {
            map.insert(format!("unknown_{}", rng.random_range(0..100)), value);
        }
    }
}

fn huge_string(room: usize, rng: &mut Rng) -> String {
    const PIECES: &[&str] = &["a", "é", "👍", "\\", "\"", "\u{0}", "0", " ", "\u{10ffff}"];
    let piece = PIECES.choose(rng).copied().unwrap_or("a");
    let len = [1_000, 10_000, 100_000, 1_000_000][rng.random_range(0..4)];
    // Escaped in JSON a character takes up to 6 bytes.
    let n = len.min(room / (6 * piece.len().max(1)));
    piece.repeat(n)
}

fn edit_string(v: &mut Value, rng: &mut Rng) {
    const ADD: &[&str] = &[
        "\u{0}",
        "\u{7f}",
        "\u{fffd}",
        "\u{d7ff}",
        "\u{e000}",
        "\u{1f600}",
        "\u{202e}",
        "\n",
        "\"",
        "\\",
        "%00",
        "%",
        "&",
        "=",
        "/",
        ".",
        " ",
        "@",
        "#",
    ];
    let Value::String(s) = v else {
        *v = odd_value(rng);
        return;
    };
    let add = ADD.choose(rng).copied().unwrap_or("");
    match rng.random_range(0..4) {
        0 => s.insert_str(0, add),
        1 => s.push_str(add),
        2 => {
            let cut = s.char_indices().map(|(i, _)| i).nth(s.chars().count() / 2);
            s.truncate(cut.unwrap_or(0));
        }
        _ => *s = s.to_uppercase(),
    }
}

/// Turns every marked key (`"\u0001dup\u0001name"`) into a second `"name"`.
fn dup_keys(bytes: Vec<u8>) -> Vec<u8> {
    let mark = br#""\u0001dup\u0001"#;
    if !bytes.windows(mark.len()).any(|w| w == mark) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(mark) {
            out.push(b'"');
            i += mark.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- the bytes

/// Broken escapes and encodings, put inside a string.
const BAD_IN_STRING: &[&[u8]] = &[
    br"\ud800",
    br"\udc00",
    br"\ud83d\u0041",
    br"\ud83d",
    br"\uZZZZ",
    br"\u12",
    br"\u",
    br"\x41",
    br"\",
    b"\xff",
    b"\xc3",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x01",
    b"\n",
    b"\t",
    br"\u0000",
];

/// Numbers JSON allows but types do not hold, and some it does not allow.
const ODD_NUMBERS: &[&[u8]] = &[
    b"1e999999",
    b"-1e999999",
    b"123456789012345678901234567890",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"-0",
    b"0.0000000000000000000000001",
    b"1.",
    b"01",
    b"-",
    b"NaN",
    b"Infinity",
    b"0x10",
];

/// Whole documents that are not the expected object.
const ODD_DOCUMENTS: &[&[u8]] = &[
    b"",
    b" ",
    b"null",
    b"[]",
    b"{}",
    b"\"text\"",
    b"42",
    b"true",
    b"{",
    b"}",
    b"{\"object\":",
    b"\xef\xbb\xbf{}",
    b"\x00",
    b"not json",
];

fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng) {
    let len = bytes.len();
    let at = |rng: &mut Rng| rng.random_range(0..=len);
    match rng.random_range(0..10) {
        0..=2 => {
            // Inside a string: right after an opening or closing quote.
            let quotes: Vec<usize> = (0..len).filter(|&i| bytes[i] == b'"').collect();
            let pos = quotes.choose(rng).map_or(at(rng), |q| q + 1);
            let bad = BAD_IN_STRING.choose(rng).copied().unwrap_or(b"");
            bytes.splice(pos..pos, bad.iter().copied());
        }
        3 => bytes.truncate(at(rng)),
        4 => {
            let a = at(rng);
            let b = (a + rng.random_range(1..=64)).min(len);
            bytes.drain(a..b);
        }
        5 if len > 0 => {
            let i = rng.random_range(0..len);
            bytes[i] = rng.random();
        }
        6 => {
            // A number replaced by one that does not fit.
            let starts: Vec<usize> = (0..len)
                .filter(|&i| {
                    bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit())
                })
                .collect();
            if let Some(&s) = starts.choose(rng) {
                let e = (s..len)
                    .find(|&i| !bytes[i].is_ascii_digit())
                    .unwrap_or(len);
                let n = ODD_NUMBERS.choose(rng).copied().unwrap_or(b"0");
                bytes.splice(s..e, n.iter().copied());
            }
        }
        7 => {
            let tail: &[u8] = [&b" garbage"[..], b",", b"}", b"]", b"\x00", b"{}"]
                .choose(rng)
                .copied()
                .unwrap_or(b"");
            bytes.extend_from_slice(tail);
        }
        8 if rng.random_ratio(1, 4) => {
            // Far past serde_json's nesting limit, as raw text.
            let n = rng.random_range(SERDE_DEPTH_LIMIT..=20_000);
            let open = if rng.random_bool(0.5) { "[" } else { "{\"a\":" };
            let mut doc = open.repeat(n).into_bytes();
            doc.extend_from_slice(b"1");
            *bytes = doc;
        }
        9 if rng.random_ratio(1, 3) => {
            *bytes = ODD_DOCUMENTS.choose(rng).copied().unwrap_or(b"").to_vec();
        }
        _ => {
            let mut prefix = vec![b'\xef', b'\xbb', b'\xbf'];
            if rng.random_bool(0.5) {
                prefix = b" \n\t".to_vec();
            }
            bytes.splice(0..0, prefix);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const SEED: &str = r#"{"object":"page","entry":[{"id":"1","time":1742667607,"changes":[{"field":"feed","value":{"message":"hi","created_time":1742667604}}]}]}"#;

    #[test]
    fn the_same_seed_gives_the_same_payload() {
        for seed in 0..200 {
            let a = mutate(SEED.as_bytes(), &mut Rng::seed_from_u64(seed));
            let b = mutate(SEED.as_bytes(), &mut Rng::seed_from_u64(seed));
            assert_eq!(a, b, "seed {seed}");
        }
    }

    #[test]
    fn mutations_vary_and_stay_bounded() {
        let mut distinct = std::collections::HashSet::new();
        let (mut valid, mut invalid) = (0, 0);
        for seed in 0..2_000 {
            let out = mutate(SEED.as_bytes(), &mut Rng::seed_from_u64(seed));
            assert!(out.len() <= 2 * MAX_LEN, "seed {seed}: {} bytes", out.len());
            match serde_json::from_slice::<serde::de::IgnoredAny>(&out) {
                Ok(_) => valid += 1,
                Err(_) => invalid += 1,
            }
            distinct.insert(out);
        }
        assert!(distinct.len() > 1_500, "{} distinct", distinct.len());
        // Most cases still parse as JSON (so they reach the connector's own parsing);
        // a good share do not (so the refusal path is tried too).
        assert!(
            valid > 1_000 && invalid > 200,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn duplicated_keys_reach_the_bytes() {
        let mut doc = json!({"a": 1});
        doc.as_object_mut()
            .unwrap()
            .insert(format!("{DUP_MARK}a"), json!(2));
        let bytes = dup_keys(serde_json::to_vec(&doc).unwrap());
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches("\"a\"").count(), 2, "{text}");
    }

    /// How many arrays or objects wrap the innermost value.
    fn depth(mut v: &Value) -> usize {
        let mut d = 0;
        loop {
            v = match v {
                Value::Array(list) if list.len() == 1 => &list[0],
                Value::Object(map) if map.len() == 1 && map.contains_key("data") => &map["data"],
                _ => return d,
            };
            d += 1;
        }
    }

    #[test]
    fn nesting_goes_past_the_serde_limit_both_ways() {
        let mut rng = Rng::seed_from_u64(7);
        let depths: Vec<usize> = (0..200)
            .map(|_| depth(&deep(json!(1), MAX_TREE_DEPTH, &mut rng)))
            .collect();
        assert!(
            depths
                .iter()
                .any(|d| (SERDE_DEPTH_LIMIT - 8..SERDE_DEPTH_LIMIT).contains(d))
        );
        assert!(depths.iter().any(|d| *d > SERDE_DEPTH_LIMIT));
        assert!(depths.iter().all(|d| *d <= MAX_TREE_DEPTH));
        assert!(depth(&deep(json!(1), 3, &mut rng)) <= 3);
    }

    #[test]
    fn maps_keep_working_after_retype() {
        let mut v = json!({"a": [1, "2"]});
        retype(&mut v);
        assert_eq!(v, json!([[1, "2"]]));
        let mut v = json!(["x"]);
        retype(&mut v);
        assert_eq!(
            v,
            Value::Object(Map::from_iter([("0".to_string(), json!("x"))]))
        );
    }
}
