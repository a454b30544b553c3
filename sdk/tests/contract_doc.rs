//! `docs/sdk/contract.md` is the WIT's own doc comments, rendered: each item of the
//! contract is explained once, in `sdk/wit/since_v0.2.0/connector.wit`, and this test
//! fails when the page no longer says what the WIT says.
//!
//! After changing the WIT: `UPDATE_CONTRACT_DOC=1 cargo test -p switchboard-sdk --test
//! contract_doc` writes the page again.

use std::fmt::Write as _;
use std::path::Path;

use wit_parser::{Docs, Function, Resolve, Type, TypeDefKind, TypeId, WorldItem, WorldKey};

const WIT: &str = "wit/since_v0.2.0";
const PAGE: &str = "../docs/sdk/contract.md";

/// A doc comment on one line (for tables), `|` escaped.
fn line(docs: &Docs) -> String {
    docs.contents
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A doc comment as paragraphs.
fn text(docs: &Docs) -> String {
    docs.contents.as_deref().unwrap_or("").trim().to_owned()
}

/// A type as written in WIT.
fn ty(resolve: &Resolve, t: &Type) -> String {
    match t {
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Id(id) => type_id(resolve, *id),
    }
}

fn type_id(resolve: &Resolve, id: TypeId) -> String {
    let def = &resolve.types[id];
    if let Some(name) = &def.name {
        return name.clone();
    }
    match &def.kind {
        TypeDefKind::List(t) => format!("list<{}>", ty(resolve, t)),
        TypeDefKind::Option(t) => format!("option<{}>", ty(resolve, t)),
        TypeDefKind::Tuple(t) => format!(
            "tuple<{}>",
            t.types
                .iter()
                .map(|t| ty(resolve, t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TypeDefKind::Result(r) => {
            let part = |t: &Option<Type>| t.as_ref().map_or("_".to_owned(), |t| ty(resolve, t));
            format!("result<{}, {}>", part(&r.ok), part(&r.err))
        }
        TypeDefKind::Type(t) => ty(resolve, t),
        other => panic!("a type the contract does not use: {other:?}"),
    }
}

fn signature(resolve: &Resolve, f: &Function) -> String {
    let params = f
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, ty(resolve, &p.ty)))
        .collect::<Vec<_>>()
        .join(", ");
    match &f.result {
        Some(r) => format!("{}: func({params}) -> {}", f.name, ty(resolve, r)),
        None => format!("{}: func({params})", f.name),
    }
}

fn function(out: &mut String, resolve: &Resolve, f: &Function, level: &str) {
    let _ = writeln!(out, "{level} `{}`\n", f.name);
    let _ = writeln!(out, "```wit\n{}\n```\n", signature(resolve, f));
    let _ = writeln!(out, "{}\n", text(&f.docs));
}

fn type_def(out: &mut String, resolve: &Resolve, id: TypeId) {
    let def = &resolve.types[id];
    let name = def.name.as_deref().expect("named");
    let (kind, rows): (&str, Vec<(String, String, String)>) = match &def.kind {
        TypeDefKind::Record(r) => (
            "record",
            r.fields
                .iter()
                .map(|f| (f.name.clone(), ty(resolve, &f.ty), line(&f.docs)))
                .collect(),
        ),
        TypeDefKind::Enum(e) => (
            "enum",
            e.cases
                .iter()
                .map(|c| (c.name.clone(), String::new(), line(&c.docs)))
                .collect(),
        ),
        TypeDefKind::Variant(v) => (
            "variant",
            v.cases
                .iter()
                .map(|c| {
                    let t = c.ty.as_ref().map(|t| ty(resolve, t)).unwrap_or_default();
                    (c.name.clone(), t, line(&c.docs))
                })
                .collect(),
        ),
        TypeDefKind::Type(t) => ("type", vec![(String::new(), ty(resolve, t), String::new())]),
        other => panic!("`{name}`: a kind of type the contract does not use: {other:?}"),
    };
    let _ = writeln!(out, "### {kind} `{name}`\n");
    let _ = writeln!(out, "{}\n", text(&def.docs));
    match kind {
        "record" => {
            let _ = writeln!(out, "| field | type | meaning |\n|---|---|---|");
            for (n, t, d) in rows {
                let _ = writeln!(out, "| `{n}` | `{t}` | {d} |");
            }
        }
        "enum" => {
            let _ = writeln!(out, "| case | meaning |\n|---|---|");
            for (n, _, d) in rows {
                let _ = writeln!(out, "| `{n}` | {d} |");
            }
        }
        "variant" => {
            let _ = writeln!(out, "| case | carries | meaning |\n|---|---|---|");
            for (n, t, d) in rows {
                let t = if t.is_empty() {
                    "–".into()
                } else {
                    format!("`{t}`")
                };
                let _ = writeln!(out, "| `{n}` | {t} | {d} |");
            }
        }
        _ => {
            for (_, t, _) in rows {
                let _ = writeln!(out, "An alias of `{t}`.");
            }
        }
    }
    out.push('\n');
}

/// The page for the contract in `dir`.
fn render(dir: &Path) -> String {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_dir(dir).expect("the WIT parses");
    let package = &resolve.packages[pkg];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The contract, item by item: `{}`\n\n\
         <!-- Written by sdk/tests/contract_doc.rs from {WIT}/connector.wit: edit the WIT's \
         doc comments, then run `UPDATE_CONTRACT_DOC=1 cargo test -p switchboard-sdk --test \
         contract_doc`. -->\n",
        package.name
    );
    let _ = writeln!(out, "{}\n", text(&package.docs));
    for (name, id) in &package.interfaces {
        let iface = &resolve.interfaces[*id];
        let _ = writeln!(out, "## interface `{name}`\n");
        let _ = writeln!(out, "{}\n", text(&iface.docs));
        for (_, t) in &iface.types {
            // Types `use`d from another interface are explained where they live.
            if resolve.types[*t].owner == wit_parser::TypeOwner::Interface(*id)
                && !matches!(resolve.types[*t].kind, TypeDefKind::Type(Type::Id(_)))
            {
                type_def(&mut out, &resolve, *t);
            }
        }
        for f in iface.functions.values() {
            function(&mut out, &resolve, f, "###");
        }
    }
    for (_, wid) in &package.worlds {
        let world = &resolve.worlds[*wid];
        let _ = writeln!(out, "## world `{}`\n", world.name);
        let _ = writeln!(out, "{}\n", text(&world.docs));
        let imports: Vec<String> = world
            .imports
            .iter()
            .filter_map(|(k, item)| match (k, item) {
                (WorldKey::Interface(id), WorldItem::Interface { .. }) => {
                    resolve.interfaces[*id].name.clone()
                }
                (WorldKey::Name(n), WorldItem::Interface { .. }) => Some(n.clone()),
                _ => None,
            })
            .collect();
        let _ = writeln!(
            out,
            "The host gives the connector: {}.\n",
            imports
                .iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "The connector exports:\n");
        for item in world.exports.values() {
            if let WorldItem::Function(f) = item {
                function(&mut out, &resolve, f, "###");
            }
        }
    }
    // One blank line between blocks, and a single newline at the end.
    let mut tidy = String::new();
    for l in out.lines() {
        if l.is_empty() && tidy.ends_with("\n\n") {
            continue;
        }
        tidy.push_str(l.trim_end());
        tidy.push('\n');
    }
    tidy.trim_end().to_owned() + "\n"
}

#[test]
fn the_contract_page_says_what_the_wit_says() {
    let rendered = render(Path::new(WIT));
    if std::env::var_os("UPDATE_CONTRACT_DOC").is_some() {
        std::fs::write(PAGE, &rendered).expect("writing docs/sdk/contract.md");
        return;
    }
    let page = std::fs::read_to_string(PAGE).unwrap_or_default();
    assert!(
        page == rendered,
        "docs/sdk/contract.md does not say what {WIT} says: run \
         `UPDATE_CONTRACT_DOC=1 cargo test -p switchboard-sdk --test contract_doc`"
    );
}

#[test]
fn every_item_of_the_contract_is_explained() {
    let rendered = render(Path::new(WIT));
    // Empty doc comments leave a cell or a paragraph empty: no item may go unexplained.
    let unexplained: Vec<&str> = rendered
        .lines()
        .filter(|l| l.starts_with("| `") && l.trim_end().ends_with('|'))
        .filter(|l| {
            l.rsplit('|')
                .nth(1)
                .is_some_and(|cell| cell.trim().is_empty())
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "fields or cases without a doc comment: {unexplained:#?}"
    );
    for export in [
        "describe",
        "configure",
        "check-credentials",
        "poll",
        "handle-webhook",
        "send",
        "find-sent",
        "reply-window",
        "reply-limits",
    ] {
        assert!(
            rendered.contains(&format!("### `{export}`")),
            "{export} is on the page"
        );
    }
}
