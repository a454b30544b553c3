#!/usr/bin/env bash
# Builds what a Switchboard install runs and lays it out in OUT_DIR:
#
#   OUT_DIR/bin/switchboard          the host, release profile
#   OUT_DIR/plugins/<name>.wasm      the connector plugins of plugins/ (not tests/plugins/)
#   OUT_DIR/workflows/               the routing scripts, with their fixtures (tests/)
#   OUT_DIR/switchboard.toml         deploy/config/switchboard.toml, the packaged config
#
# deploy/Dockerfile runs this script, and so can CI or a person on a Debian machine with
# rustup, without a container engine: the image and a plain install are built the same way.
#
# usage: deploy/build.sh OUT_DIR
#
# Needs cargo (rustup's). The plugins need a wasm32-wasip2 standard library: this script
# asks rustup for the target first; where rustup cannot download it, `cargo xtask plugins`
# falls back to Debian's rustc-web with -Zbuild-std and installs the Debian packages for
# that itself when run as root (as non-root it prints the apt-get line to run).
set -eu

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$root"

say() { printf 'build.sh: %s\n' "$*"; }

command -v cargo >/dev/null 2>&1 || {
    echo "build.sh: cargo not found: install Rust with rustup (https://rustup.rs)" >&2
    exit 1
}

# The rustup target is the quick path (no standard library to compile); a failure here is
# not fatal, because the xtask has a fallback that needs no download from rustup.
if command -v rustup >/dev/null 2>&1; then
    if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
        say "rustup's wasm32-wasip2 target is installed"
    elif rustup target add wasm32-wasip2; then
        say "added rustup's wasm32-wasip2 target"
    else
        say "rustup could not add wasm32-wasip2; the xtask will use Debian's toolchain"
    fi
fi

# --locked: build exactly the dependency versions CI tested (Cargo.lock), never newer ones.
say "building the host (release)"
cargo build --release --locked -p switchboard --bin switchboard

say "building the plugins (release)"
cargo xtask plugins

# The host binary follows CARGO_TARGET_DIR; the xtask always builds plugins into
# <root>/target/plugins, whatever CARGO_TARGET_DIR says.
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in
    /*) ;;
    *) target_dir=$root/$target_dir ;;
esac
binary=$target_dir/release/switchboard
dist=$root/target/plugins/dist

# Only the subfolders this script writes are replaced, so OUT_DIR may hold other files
# (and a stale plugin from an earlier build cannot survive into a new image).
rm -rf "${out:?}/bin" "${out:?}/plugins" "${out:?}/workflows"
mkdir -p "$out/bin" "$out/plugins" "$out/workflows"

install -m 0755 "$binary" "$out/bin/switchboard"

# The connectors of plugins/ only: tests/plugins/ holds test doubles (a faulty plugin, an
# old interface version) that the xtask builds too but that must not ship.
shipped=0
for dir in "$root"/plugins/*/; do
    name=$(basename "$dir")
    [ -f "$dir/Cargo.toml" ] || continue
    if [ ! -f "$dist/$name.wasm" ]; then
        echo "build.sh: $dist/$name.wasm is missing after cargo xtask plugins" >&2
        exit 1
    fi
    install -m 0644 "$dist/$name.wasm" "$out/plugins/$name.wasm"
    shipped=$((shipped + 1))
done
if [ "$shipped" -eq 0 ]; then
    echo "build.sh: no plugin crates found under plugins/" >&2
    exit 1
fi

cp -R "$root/workflows/." "$out/workflows/"
install -m 0644 "$root/deploy/config/switchboard.toml" "$out/switchboard.toml"

say "done: $out (switchboard, $shipped plugins, workflows, switchboard.toml)"
