//! `switchboard plugin new NAME`: a connector crate to start from.
//!
//! Inside a Switchboard checkout it goes to `plugins/NAME` (a member of the workspace,
//! depending on `sdk/` by path, built by `cargo xtask plugins` with the others); anywhere
//! else to `./NAME`, a crate of its own that depends on the SDK by the absolute path of the
//! checkout this binary was built from (until the SDK is published), with that checkout's
//! `Cargo.lock` so it builds with the versions Switchboard's CI tested.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::model::event::{Event, InboundMessage};
use crate::model::interaction::Visibility;

/// The SDK of the checkout this binary was built from.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk");
/// The secret the generated saved payload is signed with (also in the templates).
pub const TEST_SECRET: &str = "test-webhook-secret";
/// The account the generated tests configure (also in the templates).
pub const TEST_ACCOUNT: &str = "acct-1";
/// The generated saved webhook body: the raw bytes the signature covers.
const SAMPLE_BODY: &str = r#"{"id":"msg-1001","conversation_id":"conv-42","from":{"id":"user-7","name":"Ann Example"},"text":"Hello! Where is my order?","timestamp":1767225600}"#;

/// Rust's keywords, which cannot name the platform.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Checks that `name` can name the platform, the plugin file and (as `plugin-NAME`) the
/// crate: lower-case ASCII letters, digits, `-` and `_`, starting with a letter.
pub fn validate_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if name.len() > 48 {
        Some("it is longer than 48 characters".to_owned())
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("it must start with a lower-case letter".to_owned())
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        Some(format!(
            "`{c}` is not allowed: use lower-case letters, digits, `-` and `_`"
        ))
    } else if name.ends_with(['-', '_']) {
        Some("it must not end with `-` or `_`".to_owned())
    } else if KEYWORDS.contains(&name) {
        Some("it is a Rust keyword".to_owned())
    } else {
        None
    };
    match why {
        Some(why) => bail!(
            "`{name}` is not a valid connector crate name: {why} (e.g. `telegram`, `line-chat`)"
        ),
        None => Ok(()),
    }
}

/// `line-chat` → `LineChat`.
fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A Switchboard checkout: a workspace root with the SDK in `sdk/`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Checkout {
    root: PathBuf,
    /// `[workspace] members`, as written (`plugins/*`).
    members: Vec<String>,
}

impl Checkout {
    /// The checkout `dir` is in, if any.
    fn around(dir: &Path) -> Option<Checkout> {
        dir.ancestors().find_map(|root| {
            let sdk = std::fs::read_to_string(root.join("sdk/Cargo.toml")).ok()?;
            if switchboard_toolchain::toml_name(&sdk, "package").as_deref()
                != Some("switchboard-sdk")
            {
                return None;
            }
            let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
                .ok()?
                .parse()
                .ok()?;
            let members = manifest
                .get("workspace")?
                .get("members")?
                .as_array()?
                .iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect();
            Some(Checkout {
                root: root.to_owned(),
                members,
            })
        })
    }

    /// Whether the crate in `dir` is a member of the workspace (`plugins/*` matches
    /// `plugins/telegram`).
    fn has_member(&self, dir: &Path) -> bool {
        let Ok(rel) = dir.strip_prefix(&self.root) else {
            return false;
        };
        let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
        self.members.iter().any(|pattern| {
            let globs: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
            globs.len() == parts.len() && globs.iter().zip(&parts).all(|(g, p)| *g == "*" || g == p)
        })
    }
}

/// What `plugin new` makes, before anything is written.
#[derive(Debug)]
pub struct Plan {
    /// The platform, plugin file and folder name.
    pub name: String,
    /// The crate's folder.
    pub dir: PathBuf,
    /// `plugin-NAME`.
    pub package: String,
    /// The workspace root when the crate is one of its members.
    pub member_of: Option<PathBuf>,
    /// The SDK folder (a member uses it relatively).
    pub sdk: PathBuf,
    /// The outside crate sits inside a checkout without being a member: it declares a
    /// workspace of its own so cargo does not take it for a forgotten member.
    pub own_workspace: bool,
    /// A lock file to start from (outside crates).
    pub lock: Option<PathBuf>,
}

/// Decides where the crate goes and how it finds the SDK; refuses a bad name or a folder
/// that exists and is not empty. `cwd` is where the command runs.
pub fn plan(name: &str, dir: Option<&Path>, sdk: Option<&Path>, cwd: &Path) -> Result<Plan> {
    validate_name(name)?;
    let dir = match dir {
        Some(dir) => normalize(&cwd.join(dir)),
        None => match Checkout::around(cwd) {
            Some(checkout) => checkout.root.join("plugins").join(name),
            None => cwd.join(name),
        },
    };
    if dir.exists() {
        let empty = std::fs::read_dir(&dir)
            .with_context(|| format!("{} exists and cannot be read", dir.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "{} exists and is not empty: give another NAME or --dir",
                dir.display()
            );
        }
    }
    let package = format!("plugin-{name}");
    let checkout = dir.parent().and_then(Checkout::around);
    if let Some(checkout) = checkout.as_ref().filter(|c| c.has_member(&dir)) {
        if sdk.is_some() {
            bail!(
                "--sdk is for a crate outside a Switchboard checkout; {} is a member of the \
                 workspace at {} and uses its sdk/",
                dir.display(),
                checkout.root.display()
            );
        }
        return Ok(Plan {
            name: name.to_owned(),
            dir,
            package,
            member_of: Some(checkout.root.clone()),
            sdk: checkout.root.join("sdk"),
            own_workspace: false,
            lock: None,
        });
    }
    let sdk = match (sdk, &checkout) {
        (Some(sdk), _) => cwd.join(sdk),
        (None, Some(checkout)) => checkout.root.join("sdk"),
        (None, None) => PathBuf::from(BUILT_FROM_SDK),
    };
    let sdk = std::fs::canonicalize(&sdk)
        .ok()
        .filter(|s| {
            std::fs::read_to_string(s.join("Cargo.toml"))
                .ok()
                .and_then(|m| switchboard_toolchain::toml_name(&m, "package"))
                .as_deref()
                == Some("switchboard-sdk")
        })
        .with_context(|| {
            format!(
                "no Switchboard SDK at {} (the sdk/ folder of the checkout this switchboard \
                 was built from): give --sdk PATH, the sdk/ folder of a Switchboard checkout",
                sdk.display()
            )
        })?;
    let lock = sdk
        .parent()
        .map(|root| root.join("Cargo.lock"))
        .filter(|l| l.is_file());
    Ok(Plan {
        name: name.to_owned(),
        dir,
        package,
        member_of: None,
        sdk,
        own_workspace: checkout.is_some(),
        lock,
    })
}

/// `a/./b/../c` → `a/c`, without touching the disk (the folder may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The relative path from `from` (a folder) to `to`, both absolute.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}

/// A TOML string of `text`.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The files of the crate, relative to its folder.
pub fn files(plan: &Plan) -> Result<Vec<(PathBuf, String)>> {
    let (package_fields, sdk_dependency, sdk_note) = match &plan.member_of {
        Some(_) => (
            "version.workspace = true\nedition.workspace = true\nrust-version.workspace = true\n\
             license.workspace = true"
                .to_owned(),
            format!(
                "switchboard-sdk = {{ path = {} }}",
                toml_string(&relative(&plan.dir, &plan.sdk).to_string_lossy())
            ),
            "It is a member of the Switchboard workspace: `cargo xtask plugins` builds it with \
             the others into `target/plugins/dist/`, and `cargo test -p PACKAGE` tests it."
                .replace("PACKAGE", &plan.package),
        ),
        None => (
            "version = \"0.1.0\"\nedition = \"2024\"".to_owned(),
            format!(
                "# The Switchboard SDK, by path to the checkout `switchboard` was built from,\n\
                 # until the SDK is published on crates.io.\n\
                 switchboard-sdk = {{ path = {} }}",
                toml_string(&plan.sdk.to_string_lossy())
            ),
            format!(
                "It depends on the Switchboard SDK by path, `{}` (the checkout this \
                 `switchboard` was built from), until the SDK is published on crates.io; \
                 `switchboard plugin new --sdk PATH` names another checkout. Its \
                 `Cargo.lock` started as that checkout's, so it builds with the versions \
                 Switchboard's CI tested.",
                plan.sdk.display()
            ),
        ),
    };
    let workspace_table = if plan.own_workspace {
        "\n# A workspace of its own: it sits inside a Switchboard checkout without being one of\n\
         # its members.\n[workspace]\n"
    } else {
        ""
    };
    let fill = |template: &str| -> String {
        template
            .replace("{{package_fields}}", &package_fields)
            .replace("{{sdk_dependency}}", &sdk_dependency)
            .replace("{{workspace_table}}", workspace_table)
            .replace("{{sdk_note}}", &sdk_note)
            .replace("{{package}}", &plan.package)
            .replace("{{crate}}", &plan.package.replace('-', "_"))
            .replace("{{type}}", &format!("{}Connector", camel(&plan.name)))
            .replace("{{host}}", &plan.name.replace('_', "-"))
            .replace("{{name}}", &plan.name)
    };
    let manifest = fill(include_str!("template/Cargo.toml.tmpl"));
    let manifest = manifest.trim_end().to_owned() + "\n";
    let mut files = vec![
        (PathBuf::from("Cargo.toml"), manifest),
        (
            PathBuf::from("README.md"),
            fill(include_str!("template/README.md.tmpl")),
        ),
        (
            PathBuf::from("src/lib.rs"),
            fill(include_str!("template/lib.rs.tmpl")),
        ),
        (
            PathBuf::from("src/tests.rs"),
            fill(include_str!("template/tests.rs.tmpl")),
        ),
        (
            PathBuf::from("tests/saved_payloads.rs"),
            fill(include_str!("template/saved_payloads.rs.tmpl")),
        ),
        (
            PathBuf::from("tests/payloads/message.json"),
            sample_request(&plan.name)?,
        ),
        (
            PathBuf::from("tests/payloads/message.expected.jsonl"),
            sample_events()?,
        ),
    ];
    if plan.member_of.is_none() {
        files.push((
            PathBuf::from(".gitignore"),
            include_str!("template/gitignore.tmpl").to_owned(),
        ));
    }
    Ok(files)
}

/// The saved webhook request: the sample body as the platform would sign it.
fn sample_request(name: &str) -> Result<String> {
    let signature = hex::encode(crate::connectors::parse::hmac(
        TEST_SECRET,
        SAMPLE_BODY.as_bytes(),
    ));
    // Written by hand: the keys in the order a person reads a request.
    let string = |s: &str| serde_json::Value::from(s).to_string();
    Ok(format!(
        "{{\n  \"method\": \"POST\",\n  \"path\": {},\n  \"headers\": {{\n    \
         \"content-type\": \"application/json\",\n    \"x-signature-256\": {}\n  }},\n  \
         \"body\": {}\n}}\n",
        string(&format!("/webhooks/{name}")),
        string(&format!("sha256={signature}")),
        string(SAMPLE_BODY)
    ))
}

/// The events the sample request must give, as the host prints them.
fn sample_events() -> Result<String> {
    let event = Event::Message(InboundMessage {
        platform_message_id: "msg-1001".into(),
        thread_id: "conv-42".into(),
        parent_id: None,
        visibility: Visibility::Private,
        author_id: "user-7".into(),
        author_name: "Ann Example".into(),
        author_handle: None,
        text: "Hello! Where is my order?".into(),
        attachments: Vec::new(),
        created_at: 1_767_225_600_000,
        language: None,
        from_business: false,
        followers: None,
        metadata: Default::default(),
    });
    Ok(serde_json::to_string(&event)? + "\n")
}

/// Writes the crate; returns the files written, relative to its folder.
pub fn write(plan: &Plan) -> Result<Vec<PathBuf>> {
    let files = files(plan)?;
    for (rel, text) in &files {
        let path = plan.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(lock) = &plan.lock {
        std::fs::copy(lock, plan.dir.join("Cargo.lock"))
            .with_context(|| format!("copying {}", lock.display()))?;
    }
    Ok(files.into_iter().map(|(rel, _)| rel).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_must_do_for_a_crate_a_file_and_a_platform() {
        for good in ["telegram", "line-chat", "x2", "my_chat", "a"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("", "it is empty"),
            ("Telegram", "lower-case letter"),
            ("2chat", "lower-case letter"),
            ("-x", "lower-case letter"),
            ("tele gram", "` ` is not allowed"),
            ("tele.gram", "`.` is not allowed"),
            ("télé", "`é` is not allowed"),
            ("x/y", "`/` is not allowed"),
            ("chat-", "must not end"),
            ("self", "Rust keyword"),
            (&"a".repeat(49), "longer than 48"),
        ] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(
                e.contains("is not a valid connector crate name") && e.contains(says),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn names_become_type_names() {
        assert_eq!(camel("telegram"), "Telegram");
        assert_eq!(camel("line-chat"), "LineChat");
        assert_eq!(camel("my_chat2"), "MyChat2");
    }

    fn checkout_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    #[test]
    fn inside_a_checkout_the_crate_is_a_member_under_plugins() {
        let root = checkout_root();
        let member = plan("acmechat", None, None, &root.join("host/src")).unwrap();
        assert_eq!(member.dir, root.join("plugins/acmechat"));
        assert_eq!(member.member_of.as_deref(), Some(root.as_path()));
        assert_eq!(member.package, "plugin-acmechat");
        let made = files(&member).unwrap();
        let manifest = &made[0].1;
        assert!(
            manifest.contains("switchboard-sdk = { path = \"../../sdk\" }"),
            "{manifest}"
        );
        assert!(manifest.contains("version.workspace = true"), "{manifest}");
        assert!(!manifest.contains("[workspace]"), "{manifest}");
        assert!(!made.iter().any(|(p, _)| p == Path::new(".gitignore")));
        // tests/plugins/* is a member too, one level deeper.
        let deeper = plan_in(&root, "tests/plugins/acmechat");
        assert!(
            files(&deeper).unwrap()[0]
                .1
                .contains("path = \"../../../sdk\"")
        );
        // --sdk has no meaning for a member.
        assert!(plan_sdk(&root).unwrap_err().to_string().contains("--sdk"));
    }

    fn plan_in(root: &Path, dir: &str) -> Plan {
        plan("acmechat", Some(Path::new(dir)), None, root).unwrap()
    }

    fn plan_sdk(root: &Path) -> Result<Plan> {
        plan("acmechat", None, Some(Path::new("sdk")), root)
    }

    #[test]
    fn outside_a_checkout_the_crate_stands_alone_on_the_sdk_by_absolute_path() {
        let outside = tempfile::tempdir().unwrap();
        let alone = plan("acmechat", None, None, outside.path()).unwrap();
        assert_eq!(alone.dir, outside.path().join("acmechat"));
        assert!(alone.member_of.is_none() && !alone.own_workspace);
        let sdk = std::fs::canonicalize(checkout_root().join("sdk")).unwrap();
        assert_eq!(alone.sdk, sdk);
        assert_eq!(alone.lock, Some(checkout_root().join("Cargo.lock")));
        let made = files(&alone).unwrap();
        let manifest: toml::Table = made[0].1.parse().unwrap();
        assert_eq!(
            manifest["dependencies"]["switchboard-sdk"]["path"].as_str(),
            Some(sdk.to_str().unwrap())
        );
        assert_eq!(
            manifest["package"]["name"].as_str(),
            Some("plugin-acmechat")
        );
        assert_eq!(
            manifest["lib"]["crate-type"].as_array().unwrap().len(),
            2,
            "cdylib and rlib"
        );
        let readme = &made
            .iter()
            .find(|(p, _)| p == Path::new("README.md"))
            .unwrap()
            .1;
        assert!(readme.contains("until the SDK is published"), "{readme}");
        // --dir puts it anywhere; --sdk names another SDK.
        let refused = plan_dir_sdk(outside.path(), "deep/er/../crate", "/no/such/sdk");
        let e = refused.unwrap_err().to_string();
        assert!(e.contains("no Switchboard SDK at /no/such/sdk"), "{e}");
        let elsewhere = plan(
            "acmechat",
            Some(Path::new("deep/er/../crate")),
            Some(&checkout_root().join("sdk")),
            outside.path(),
        )
        .unwrap();
        assert_eq!(elsewhere.dir, outside.path().join("deep/crate"));
    }

    fn plan_dir_sdk(cwd: &Path, dir: &str, sdk: &str) -> Result<Plan> {
        plan("acmechat", Some(Path::new(dir)), Some(Path::new(sdk)), cwd)
    }

    #[test]
    fn inside_a_checkout_but_not_a_member_the_crate_has_a_workspace_of_its_own() {
        let root = checkout_root();
        let inside = plan_in(&root, "target/tmp/kit-acmechat");
        assert!(inside.member_of.is_none() && inside.own_workspace);
        assert!(files(&inside).unwrap()[0].1.contains("\n[workspace]\n"));
    }

    #[test]
    fn a_folder_that_exists_must_be_empty() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(outside.path().join("empty")).unwrap();
        assert!(plan("acmechat", Some(Path::new("empty")), None, outside.path()).is_ok());
        std::fs::write(outside.path().join("empty/file"), "x").unwrap();
        let e = plan("acmechat", Some(Path::new("empty")), None, outside.path()).unwrap_err();
        assert!(e.to_string().contains("exists and is not empty"), "{e}");
        let e = plan("Bad", None, None, outside.path()).unwrap_err();
        assert!(
            e.to_string().contains("not a valid connector crate name"),
            "{e}"
        );
    }

    #[test]
    fn every_placeholder_is_filled_and_the_sample_is_signed() {
        let outside = tempfile::tempdir().unwrap();
        let line_chat = plan("line-chat", None, None, outside.path()).unwrap();
        let made = files(&line_chat).unwrap();
        for (path, text) in &made {
            assert!(!text.contains("{{"), "{}: {text}", path.display());
        }
        let text = |name: &str| &made.iter().find(|(p, _)| p == Path::new(name)).unwrap().1;
        assert!(text("src/lib.rs").contains("pub struct LineChatConnector;"));
        assert!(text("src/lib.rs").contains("\"https://api.line-chat.example\""));
        assert!(
            text("tests/saved_payloads.rs").contains("use plugin_line_chat::LineChatConnector;")
        );
        let request: serde_json::Value =
            serde_json::from_str(text("tests/payloads/message.json")).unwrap();
        let body = request["body"].as_str().unwrap();
        let signature = format!(
            "sha256={}",
            hex::encode(crate::connectors::parse::hmac(TEST_SECRET, body.as_bytes()))
        );
        assert_eq!(request["headers"]["x-signature-256"], signature);
        assert_eq!(request["path"], "/webhooks/line-chat");
        let expected: serde_json::Value =
            serde_json::from_str(text("tests/payloads/message.expected.jsonl").trim()).unwrap();
        assert_eq!(expected["message"]["text"], "Hello! Where is my order?");
        assert_eq!(expected["message"]["visibility"], "private");
    }
}
