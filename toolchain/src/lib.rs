//! The one recipe that builds Switchboard connector plugins as WebAssembly components
//! (target `wasm32-wasip2`). `cargo xtask plugins` builds ours with it (every crate under
//! `plugins/` and `tests/plugins/`) and `switchboard plugin build` any connector crate, in
//! or out of the repository, so a partner's crate is built exactly as ours are.
//!
//! The toolchain: a rustup-installed `wasm32-wasip2` target when there is one; otherwise
//! Debian's `rustc-web` (1.96) builds the standard library for the target itself
//! (`-Zbuild-std`) and rustup's `wasm-component-ld` links the component. The Debian
//! packages are installed with apt-get when they are missing and this runs as root;
//! otherwise the error says what to install.
//!
//! At a terminal the slow steps show progress (cargo's own bar; a spinner while packages
//! install). Anywhere else it is quiet: one line saying which toolchain it took, the
//! compiler's warnings and errors, and nothing more (no `Compiling …` lines, no apt-get
//! log unless apt-get fails).
//!
//! Deliberately small (std and indicatif), so `cargo xtask` still compiles in seconds.

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The target every plugin is built for.
pub const TARGET: &str = "wasm32-wasip2";
/// Debian packages the fallback toolchain needs.
pub const DEBIAN_PACKAGES: &[&str] =
    &["rustc-web", "cargo-web", "rust-web-src", "lld", "wasi-libc"];
/// A WebAssembly component starts with `\0asm` and the component-model version/layer.
pub const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// What `cargo run` sets for the program it runs, besides `CARGO` and `CARGO_PKG_*`; a
/// nested build must not see them (some build scripts rerun when they change).
const RUN_ENV: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
];

/// Why the build could not be done, in words for the person who asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The result of every step here.
pub type Result<T> = std::result::Result<T, Error>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::new(message))
}

// ------------------------------------------------------------------ output

/// Where status goes: lines on stderr, each prefixed with the tool's name
/// (`xtask: …`, `switchboard: …`), and spinners only at a terminal.
#[derive(Clone, Debug)]
pub struct Ui {
    prefix: String,
    terminal: bool,
}

impl Ui {
    /// Status for the tool `prefix`; progress is drawn when stderr is a terminal.
    pub fn new(prefix: &str) -> Ui {
        let dumb = env::var_os("TERM").is_some_and(|t| t == "dumb");
        Ui::with_terminal(prefix, std::io::stderr().is_terminal() && !dumb)
    }

    /// Status for `prefix`, saying yourself whether to draw progress.
    pub fn with_terminal(prefix: &str, terminal: bool) -> Ui {
        Ui {
            prefix: prefix.to_owned(),
            terminal,
        }
    }

    /// Whether progress is drawn.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// One status line.
    pub fn say(&self, message: impl fmt::Display) {
        eprintln!("{}: {message}", self.prefix);
    }

    /// A spinner saying `message` with the time elapsed, at a terminal; nothing otherwise.
    pub fn spinner(&self, message: impl Into<String>) -> Spinner {
        let message = message.into();
        let bar = self.terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(&format!(
                    "{}: {{spinner}} {{msg}} ({{elapsed}})",
                    self.prefix
                ))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(message);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Spinner { bar }
    }
}

/// A spinner drawn while a slow step runs (see [`Ui::spinner`]); cleared when dropped.
pub struct Spinner {
    bar: Option<indicatif::ProgressBar>,
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

// ------------------------------------------------------------------ plugin crates

/// A connector crate on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginCrate {
    /// Its folder.
    pub dir: PathBuf,
    /// The folder's name, which names the built file: `<name>.wasm`.
    pub name: String,
    /// `[package] name`.
    pub package: String,
    /// The library's file name stem (`[lib] name`, else the package name with `_`).
    pub lib_name: String,
}

impl PluginCrate {
    /// Reads the crate whose `Cargo.toml` is in `dir`.
    pub fn read(dir: &Path) -> Result<PluginCrate> {
        let dir = fs::canonicalize(dir)
            .map_err(|e| Error::new(format!("cannot open {}: {e}", dir.display())))?;
        let manifest_path = dir.join("Cargo.toml");
        let manifest = fs::read_to_string(&manifest_path).map_err(|e| {
            Error::new(format!(
                "cannot read {} ({e}): is {} a crate?",
                manifest_path.display(),
                dir.display()
            ))
        })?;
        let Some(package) = toml_name(&manifest, "package") else {
            return fail(format!(
                "no [package] name in {}: a connector is one crate, not a workspace",
                manifest_path.display()
            ));
        };
        let lib_name = toml_name(&manifest, "lib").unwrap_or_else(|| package.replace('-', "_"));
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(PluginCrate {
            dir,
            name,
            package,
            lib_name,
        })
    }
}

/// The `name = "..."` value of `section` in a Cargo.toml (a deliberately small parser).
pub fn toml_name(manifest: &str, section: &str) -> Option<String> {
    let mut current = String::new();
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            current = line.trim_matches(['[', ']']).trim().to_string();
            continue;
        }
        if current != section {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            let value = value.trim().trim_matches(['"', '\'']);
            if !value.is_empty() {
                return Some(value.to_string());
            }
        }
    }
    None
}

/// The plugin crates in the sub-folders of each of `dirs` (relative to `root`), sorted
/// by folder; two that would be written under the same file name are an error.
pub fn discover(root: &Path, dirs: &[&str]) -> Result<Vec<PluginCrate>> {
    let mut found: Vec<PluginCrate> = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("Cargo.toml").is_file())
            .collect();
        paths.sort();
        for path in paths {
            let krate = PluginCrate::read(&path)?;
            if let Some(other) = found.iter().find(|c| c.name == krate.name) {
                return fail(format!(
                    "two plugin crates would both be written as {}.wasm ({} and {})",
                    krate.name, other.package, krate.package
                ));
            }
            found.push(krate);
        }
    }
    Ok(found)
}

/// The folder plugins of the crate in `dir` build in: `plugins/` under its cargo
/// workspace's target folder (`$CARGO_TARGET_DIR`, else `<workspace root>/target`), apart
/// from the native build so the two compilers never rebuild each other's artifacts.
pub fn plugin_target_dir(dir: &Path) -> Result<PathBuf> {
    let base = match env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        Some(target) => std::path::absolute(PathBuf::from(target))
            .map_err(|e| Error::new(format!("CARGO_TARGET_DIR: {e}")))?,
        None => workspace_root_of(dir)?.join("target"),
    };
    Ok(base.join("plugins"))
}

/// The root of the cargo workspace the crate in `dir` belongs to (itself when alone).
fn workspace_root_of(dir: &Path) -> Result<PathBuf> {
    let out = Command::new(cargo_program())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .current_dir(dir)
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return fail(format!(
            "cargo cannot read the crate in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(manifest.parent().map(Path::to_path_buf).unwrap_or(manifest))
}

// ------------------------------------------------------------------ toolchains

/// How plugins are compiled on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup's `wasm32-wasip2` target, with the cargo that runs this (or `cargo`).
    Rustup,
    /// Debian's `rustc-web` building the standard library (`-Zbuild-std`), linked by
    /// rustup's `wasm-component-ld`.
    Debian {
        /// The component linker.
        linker: PathBuf,
    },
}

impl Toolchain {
    /// The toolchain to use: rustup's target, or else Debian's, installing its packages
    /// first when they are missing (as root; otherwise an error saying what to run).
    pub fn prepare(ui: &Ui) -> Result<Toolchain> {
        if rustup_has_target() {
            return Ok(Toolchain::Rustup);
        }
        if output_of("dpkg-query", &["--version"]).is_none() {
            return fail(format!(
                "no rustup `{TARGET}` target and no dpkg to install Debian's toolchain: \
                 run `rustup target add {TARGET}`"
            ));
        }
        let missing = not_installed(DEBIAN_PACKAGES);
        if !missing.is_empty() {
            install_packages(
                &missing,
                &format!(
                    "no rustup `{TARGET}` target, and the Debian packages for the fallback \
                     toolchain are missing. Either run `rustup target add {TARGET}`, or \
                     install them"
                ),
                ui,
            )?;
        }
        // Found with rustup's rustc, before the build puts /usr/bin first on PATH.
        let linker = find_component_linker()?;
        Ok(Toolchain::Debian { linker })
    }

    /// Which toolchain this is, for the one line that says so.
    pub fn describe(&self) -> String {
        match self {
            Toolchain::Rustup => format!("rustup's `{TARGET}` target"),
            Toolchain::Debian { linker } => format!(
                "Debian's rustc-web and -Zbuild-std (no rustup `{TARGET}` target), linked by {}",
                linker.display()
            ),
        }
    }

    /// `cargo build` for the target with this toolchain's environment (no packages, no
    /// profile, no target folder yet).
    pub fn cargo_build(&self) -> Command {
        let mut cmd;
        match self {
            Toolchain::Rustup => {
                cmd = Command::new(cargo_program());
                cmd.args(["build", "--target", TARGET]);
            }
            Toolchain::Debian { linker } => {
                let mut path = OsString::from("/usr/bin");
                if let Some(old) = env::var_os("PATH") {
                    path.push(":");
                    path.push(old);
                }
                cmd = Command::new("/usr/bin/cargo");
                cmd.env("PATH", path)
                    .env("RUSTC_BOOTSTRAP", "1")
                    .env("CARGO_TARGET_WASM32_WASIP2_LINKER", linker)
                    .env(
                        "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
                        "-L /usr/lib/wasm32-wasi",
                    )
                    // Set by `cargo run` or rustup for the outer toolchain; must not leak in.
                    .env_remove("RUSTC")
                    .env_remove("RUSTDOC")
                    .env_remove("RUSTUP_TOOLCHAIN")
                    .env_remove("CARGO");
                cmd.args(["build", "--target", TARGET, "-Zbuild-std=std,panic_abort"]);
            }
        }
        for key in RUN_ENV {
            cmd.env_remove(key);
        }
        for (key, _) in env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("CARGO_PKG_")) {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// Builds `build.crates` in one cargo run, checks each result is a component and
    /// copies it to `build.out_dir` as `<name>.wasm` when one is given.
    pub fn build(&self, build: &Build<'_>, ui: &Ui) -> Result<Vec<Built>> {
        if build.crates.is_empty() {
            return fail("no plugin crate to build");
        }
        let profile = if build.release { "release" } else { "debug" };
        let mut cmd = self.cargo_build();
        if build.release {
            cmd.arg("--release");
        }
        if !ui.is_terminal() {
            // Warnings and errors still show; `Compiling …` lines do not.
            cmd.arg("--quiet");
        }
        for krate in build.crates {
            cmd.args(["-p", &krate.package]);
        }
        cmd.current_dir(build.cwd)
            .env("CARGO_TARGET_DIR", build.target_dir);
        run(&mut cmd, "cargo build of the plugin(s)")?;

        let mut built = Vec::new();
        for krate in build.crates {
            let artifact = build
                .target_dir
                .join(TARGET)
                .join(profile)
                .join(format!("{}.wasm", krate.lib_name));
            let bytes = fs::read(&artifact).map_err(|e| {
                Error::new(format!(
                    "{} was not produced ({e}); does `{}` have crate-type \"cdylib\"?",
                    artifact.display(),
                    krate.package
                ))
            })?;
            if !is_component(&bytes) {
                return fail(format!(
                    "{} is not a WebAssembly component (wrong header)",
                    artifact.display()
                ));
            }
            let path = match build.out_dir {
                Some(out_dir) => {
                    let out = out_dir.join(format!("{}.wasm", krate.name));
                    write_atomically(&out, &bytes)?;
                    out
                }
                None => artifact.clone(),
            };
            built.push(Built {
                krate: krate.clone(),
                artifact,
                path,
                size: bytes.len() as u64,
            });
        }
        Ok(built)
    }
}

/// What to build, where (see [`Toolchain::build`]).
#[derive(Clone, Copy, Debug)]
pub struct Build<'a> {
    /// Where cargo runs: a workspace root (several crates in one run) or a crate's folder.
    pub cwd: &'a Path,
    /// The crates, built with `-p` each.
    pub crates: &'a [PluginCrate],
    /// The cargo target folder (see [`plugin_target_dir`]).
    pub target_dir: &'a Path,
    /// The release profile (else debug).
    pub release: bool,
    /// Where to copy each component as `<name>.wasm`; none: leave it where cargo wrote it.
    pub out_dir: Option<&'a Path>,
}

/// One component built (see [`Toolchain::build`]).
#[derive(Clone, Debug)]
pub struct Built {
    /// The crate.
    pub krate: PluginCrate,
    /// Where cargo wrote it: `<target>/wasm32-wasip2/<profile>/<lib_name>.wasm`.
    pub artifact: PathBuf,
    /// Where it is now: the copy in the out folder, else the artifact.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// Whether `bytes` start as a WebAssembly component (not a core module).
pub fn is_component(bytes: &[u8]) -> bool {
    bytes.starts_with(&COMPONENT_HEADER)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a host
/// watching the folder never loads half a plugin.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    let tmp = path.with_extension("wasm.tmp");
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

/// The cargo that runs this (set by `cargo run` and `cargo test`), so nested builds use
/// the same toolchain as the outer one; else `cargo` on PATH.
fn cargo_program() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs a command and returns its stdout when it succeeded.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => fail(format!("{what} failed ({status})")),
        Err(e) => fail(format!("cannot run {what}: {e}")),
    }
}

/// Runs a command with its output captured; a failure's error carries the output's end.
fn run_captured(cmd: &mut Command, what: &str) -> Result<()> {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .output()
        .map_err(|e| Error::new(format!("cannot run {what}: {e}")))?;
    if status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    fail(format!("{what} failed ({status}):\n{tail}"))
}

fn rustup_has_target() -> bool {
    output_of("rustup", &["target", "list", "--installed"])
        .is_some_and(|out| out.lines().any(|l| l.trim() == TARGET))
}

/// Whether this runs as root (and so may install packages).
pub fn is_root() -> bool {
    if let Ok(status) = fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(1) == Some("0");
    }
    output_of("id", &["-u"]).is_some_and(|s| s.trim() == "0")
}

/// Those of `packages` dpkg does not list as installed.
pub fn not_installed(packages: &[&'static str]) -> Vec<&'static str> {
    packages
        .iter()
        .copied()
        .filter(|pkg| {
            output_of("dpkg-query", &["-W", "-f=${db:Status-Abbrev}", pkg])
                .is_none_or(|s| !s.starts_with("ii"))
        })
        .collect()
}

/// Installs Debian packages as root (apt-get's log shown only if it fails); otherwise
/// fails with `why` and the command to run.
pub fn install_packages(missing: &[&str], why: &str, ui: &Ui) -> Result<()> {
    let list = missing.join(" ");
    if !is_root() {
        return fail(format!(
            "{why}: {list}. Install them with \
             `sudo apt-get update && sudo apt-get install -y {list}` (or run this as root)"
        ));
    }
    ui.say(format!("installing Debian packages: {list}"));
    let started = Instant::now();
    {
        let _spinner = ui.spinner(format!("apt-get install {list}"));
        run_captured(
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get update",
        )?;
        run_captured(
            Command::new("apt-get")
                .args(["install", "-y"])
                .args(missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install",
        )?;
    }
    ui.say(format!(
        "installed {list} in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// rustup's `wasm-component-ld`, found from `rustc --print sysroot` with the `rustc`
/// on the current PATH (rustup's), or a `wasm-component-ld` on PATH.
fn find_component_linker() -> Result<PathBuf> {
    if let Some(sysroot) = output_of("rustc", &["--print", "sysroot"]) {
        let host = output_of("rustc", &["-vV"])
            .and_then(|v| {
                v.lines()
                    .find_map(|l| l.strip_prefix("host: ").map(|h| h.trim().to_string()))
            })
            .unwrap_or_else(|| "x86_64-unknown-linux-gnu".into());
        let wcl = Path::new(sysroot.trim())
            .join("lib/rustlib")
            .join(host)
            .join("bin/wasm-component-ld");
        if wcl.is_file() {
            return Ok(wcl);
        }
    }
    if let Some(path) = env::var_os("PATH") {
        for dir in env::split_paths(&path) {
            let candidate = dir.join("wasm-component-ld");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    fail(
        "cannot find `wasm-component-ld`: it ships with rustup's toolchain \
         (`<rustc --print sysroot>/lib/rustlib/<host>/bin/`); or install it with \
         `cargo install wasm-component-ld`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_and_lib_names() {
        let manifest = r#"
[package]
name = "plugin-facebook" # comment
version.workspace = true

[lib]
crate-type = ["cdylib", "rlib"]
name = "fb"

[dependencies]
name = "not-this"
"#;
        assert_eq!(
            toml_name(manifest, "package").as_deref(),
            Some("plugin-facebook")
        );
        assert_eq!(toml_name(manifest, "lib").as_deref(), Some("fb"));
        assert_eq!(toml_name("[package]\nversion = 1\n", "package"), None);
    }

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    #[test]
    fn finds_this_workspace_plugins() {
        let crates = discover(&workspace_root(), &["plugins", "tests/plugins"]).unwrap();
        let names: Vec<_> = crates.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"facebook"), "{names:?}");
        let fb = crates.iter().find(|c| c.name == "facebook").unwrap();
        assert_eq!(fb.package, "plugin-facebook");
        assert_eq!(fb.lib_name, "plugin_facebook");
        assert_eq!(fb.dir, workspace_root().join("plugins/facebook"));
    }

    #[test]
    fn a_folder_without_a_crate_is_named_in_the_error() {
        let dir = env::temp_dir();
        let e = PluginCrate::read(&dir.join("no-such-crate-here")).unwrap_err();
        assert!(e.to_string().contains("no-such-crate-here"), "{e}");
    }

    #[test]
    fn plugins_build_apart_from_the_native_build_of_their_workspace() {
        // A member's target folder is its workspace's, whatever the folder it is run from.
        let target = plugin_target_dir(&workspace_root().join("plugins/facebook")).unwrap();
        let expected = match env::var_os("CARGO_TARGET_DIR") {
            Some(t) => std::path::absolute(PathBuf::from(t)).unwrap(),
            None => workspace_root().join("target"),
        };
        assert_eq!(target, expected.join("plugins"));
    }

    #[test]
    fn the_build_command_is_free_of_cargo_runs_environment() {
        // This test runs under `cargo test`, which sets what `cargo run` sets.
        for toolchain in [
            Toolchain::Rustup,
            Toolchain::Debian {
                linker: "/x/wasm-component-ld".into(),
            },
        ] {
            let cmd = toolchain.cargo_build();
            let removed: Vec<_> = cmd
                .get_envs()
                .filter(|(_, value)| value.is_none())
                .filter_map(|(key, _)| key.to_str())
                .collect();
            for key in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME"] {
                assert!(removed.contains(&key), "{toolchain:?}: {key} is passed on");
            }
            let args: Vec<_> = cmd.get_args().filter_map(|a| a.to_str()).collect();
            assert_eq!(&args[..3], ["build", "--target", TARGET]);
        }
    }

    #[test]
    fn a_component_is_told_from_a_core_module() {
        assert!(is_component(&COMPONENT_HEADER));
        assert!(!is_component(&[
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00
        ]));
        assert!(!is_component(b"\0asm"));
    }
}
