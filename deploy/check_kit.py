"""Checks of the deployment kit that need no container engine; run by deploy/check.sh.

usage: python check_kit.py COMPOSE_SCHEMA_JSON

1. deploy/compose.yaml against the Compose Specification's JSON schema.
2. The files agree with each other: the paths the image lays out (Dockerfile), the paths
   the configs name, the systemd unit, the ports, the compose mounts. Each file is right
   on its own in most mistakes worth catching here; what goes wrong is one of them being
   changed without the others.

Prints one line per problem and exits 1 if there is any.
"""

import json
import shlex
import sys
import tomllib
from pathlib import Path

import jsonschema
import yaml

DEPLOY = Path(__file__).resolve().parent
problems: list[str] = []


def problem(msg: str) -> None:
    problems.append(msg)
    print(f"  - {msg}")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def main() -> int:
    schema = json.loads(Path(sys.argv[1]).read_text())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())

    print("compose.yaml against the Compose Specification schema")
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(compose), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.path) or "(top)"
        problem(f"compose.yaml {where}: {error.message}")

    print("the image's layout (Dockerfile)")
    instructions = dockerfile_instructions(DEPLOY / "Dockerfile")
    copies = {}
    for word, args in instructions:
        if word == "COPY" and "--from=builder" in args:
            parts = args.split()
            copies[parts[-2]] = parts[-1].rstrip("/")
    cmd = [json.loads(a) for w, a in instructions if w == "CMD"]
    expose = [a for w, a in instructions if w == "EXPOSE"]
    volume = [json.loads(a) for w, a in instructions if w == "VOLUME"]
    health = [a for w, a in instructions if w == "HEALTHCHECK"]
    image_layout = {
        "plugins_dir": copies.get("/out/plugins/"),
        "workflows_dir": copies.get("/out/workflows/"),
    }
    config_path = copies.get("/out/switchboard.toml")
    data_dir = volume[0][0] if volume else None
    if not cmd or cmd[-1][:2] != ["switchboard", "serve"] or cmd[-1][2:] != ["-c", config_path]:
        problem(f"Dockerfile CMD {cmd} does not serve the config it copies ({config_path})")
    if len(expose) != 1:
        problem("Dockerfile: expected one EXPOSE")
    image_port = int(expose[0]) if expose else None
    if not health or f"127.0.0.1:{image_port}/" not in health[0]:
        problem(f"Dockerfile HEALTHCHECK does not ask the exposed port {image_port}")

    print("the configs (config/*.toml)")
    configs = {}
    for path in sorted((DEPLOY / "config").glob("*.toml")):
        try:
            configs[path.name] = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            problem(f"config/{path.name}: {e}")
    for name, config in configs.items():
        server = config.get("server", {})
        for key, want in image_layout.items():
            if server.get(key) != want:
                problem(f"config/{name}: [server] {key} = {server.get(key)!r}, the image has {want!r}")
        if server.get("data_dir") != data_dir:
            problem(f"config/{name}: [server] data_dir = {server.get('data_dir')!r}, the image's volume is {data_dir!r}")
        listen = server.get("listen", "")
        if not listen.startswith("0.0.0.0:") or port_of(listen) != image_port:
            problem(f"config/{name}: [server] listen = {listen!r}, the image exposes 0.0.0.0:{image_port}")

    # host-a and host-b: the same but for the host's identity.
    hosts = {n: c for n, c in configs.items() if n.startswith("host-")}
    if len(hosts) != 2:
        problem(f"expected config/host-a.toml and config/host-b.toml, found {sorted(hosts)}")
    identities = {}
    rest = []
    for name, config in hosts.items():
        cluster = dict(config.get("cluster", {}))
        identities[name] = (cluster.pop("host_id", None), cluster.pop("address", None))
        rest.append({**config, "cluster": cluster})
        store = config.get("store", {}).get("url", "")
        if not store.startswith(("postgres://", "env:")):
            problem(f"config/{name}: a cluster host needs a PostgreSQL [store] url, not {store!r}")
    if len(rest) == 2 and rest[0] != rest[1]:
        problem("config/host-a.toml and host-b.toml differ in more than [cluster] host_id and address")
    ids = [i[0] for i in identities.values()]
    if None in ids or len(set(ids)) != len(ids):
        problem(f"the hosts' [cluster] host_id must be set and distinct: {ids}")

    print("compose.yaml against the image and the configs")
    services = compose.get("services", {})
    postgres = services.get("postgres", {})
    if not str(postgres.get("image", "")).startswith("postgres:16"):
        problem(f"services.postgres.image is {postgres.get('image')!r}, expected postgres:16")
    if "healthcheck" not in postgres:
        problem("services.postgres has no healthcheck (the hosts wait for it)")
    hosts_in_compose = {n: s for n, s in services.items() if n.startswith("switchboard-")}
    if len(hosts_in_compose) != 2:
        problem(f"expected two switchboard services, found {sorted(hosts_in_compose)}")
    published = []
    for name, service in hosts_in_compose.items():
        depends = service.get("depends_on", {})
        if not isinstance(depends, dict) or depends.get("postgres", {}).get("condition") != "service_healthy":
            problem(f"services.{name}: depends_on postgres must wait for service_healthy")
        env = service.get("environment", {})
        if not str(env.get("SWITCHBOARD_STORE_URL", "")).startswith("postgres://"):
            problem(f"services.{name}: SWITCHBOARD_STORE_URL must be a postgres:// URL")
        if "stop_grace_period" not in service:
            problem(f"services.{name}: no stop_grace_period (SIGTERM hands the lease over)")
        mounted = None
        for volume_spec in service.get("volumes", []):
            source, target = volume_spec.split(":")[:2]
            if target == config_path:
                mounted = source
                if not (DEPLOY / source).is_file():
                    problem(f"services.{name}: mounts {source}, which does not exist")
            elif target != data_dir:
                problem(f"services.{name}: unexpected mount {volume_spec}")
        if mounted is None:
            problem(f"services.{name}: mounts no config at {config_path}")
            continue
        config = configs.get(Path(mounted).name, {})
        address = config.get("cluster", {}).get("address", "")
        if address.split(":")[0] != name:
            problem(f"services.{name}: its config's [cluster] address {address!r} is not this service")
        for port in service.get("ports", []):
            host_side, container_port = port.rsplit(":", 1)
            published.append(host_side)
            if int(container_port) != image_port:
                problem(f"services.{name}: publishes container port {container_port}, the host listens on {image_port}")
    if len(set(published)) != len(published):
        problem(f"two services publish the same port: {published}")

    print("switchboard.service against the image layout")
    unit = unit_settings(DEPLOY / "switchboard.service")
    exec_start = shlex.split(unit.get("ExecStart", [""])[0])
    if exec_start[1:] != ["serve", "-c", config_path] or exec_start[0] != "/usr/local/bin/switchboard":
        problem(f"ExecStart {exec_start} is not `/usr/local/bin/switchboard serve -c {config_path}`")
    if data_dir not in unit.get("ReadWritePaths", []) or unit.get("WorkingDirectory") != [data_dir]:
        problem(f"the unit's ReadWritePaths/WorkingDirectory do not name the data folder {data_dir}")
    state = unit.get("StateDirectory", [""])[0]
    if f"/var/lib/{state}" != data_dir:
        problem(f"StateDirectory={state} is not the data folder {data_dir}")
    if unit.get("KillSignal") != ["SIGTERM"]:
        problem("the unit must stop the host with SIGTERM")

    # The binary is copied to /usr/local/bin in the image too (same path as the unit).
    if copies.get("/out/bin/switchboard") != "/usr/local/bin/switchboard":
        problem("the image does not install the binary as /usr/local/bin/switchboard")
    users = [a for w, a in instructions if w == "USER"]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        problem("the image must run as the switchboard user, not root")

    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
