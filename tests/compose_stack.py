"""deploy/compose.yaml read as Compose reads it (variables interpolated), and its Traefik
configuration turned into what a local `traefik` runs: the labels become the file provider's
dynamic configuration (labels are that configuration, flattened), the command's flags the
static one with local addresses instead of ports 80/443, Docker and Let's Encrypt."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "deploy" / "compose.yaml"
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        current = env.get(name)
        if operator in (":-", ":?") and not current:
            current = None
        if current is not None:
            return current
        if operator and operator.endswith("?"):
            raise KeyError(f"{name}: {argument or 'required'}")
        return argument if operator else ""

    return _VARIABLE.sub(value, text)


def compose_config(env: Mapping[str, str]) -> dict[str, Any]:
    """The compose file, interpolated with `env` (a missing required variable: KeyError)."""
    return yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), env))


def _nest(labels: Mapping[str, str]) -> dict[str, Any]:
    """`traefik.http.routers.app.rule: X` → {"http": {"routers": {"app": {"rule": "X"}}}}."""
    tree: dict[str, Any] = {}
    for key, value in labels.items():
        if not key.startswith("traefik.") or key == "traefik.enable":
            continue
        *path, leaf = key.removeprefix("traefik.").split(".")
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _split_lists(node: Any) -> Any:
    """Label values that Traefik reads as lists (comma-separated) as YAML lists."""
    if isinstance(node, dict):
        return {
            k: v.split(",") if k in ("entryPoints", "middlewares") and isinstance(v, str)
            else _split_lists(v)
            for k, v in node.items()
        }  # fmt: skip
    return node


def dynamic_from_labels(
    config: Mapping[str, Any], *, service: str, backends: Sequence[str]
) -> dict[str, Any]:
    """The dynamic configuration of every enabled service's labels, with the load balancer of
    `service`'s Traefik services pointing at `backends` instead of the container's port."""
    dynamic: dict[str, Any] = {}
    for name, definition in config["services"].items():
        labels = definition.get("labels") or {}
        if labels.get("traefik.enable") != "true" or "profiles" in definition:
            continue
        tree = _split_lists(_nest(labels))
        for balancer in tree.get("http", {}).get("services", {}).values():
            lb = balancer["loadbalancer"]
            lb.pop("server", None)
            if name == service:
                lb["servers"] = [{"url": url} for url in backends]
            else:
                lb["servers"] = [{"url": "http://127.0.0.1:9"}]  # not part of the test
        _merge(dynamic, tree)
    return dynamic


DROPPED_FLAGS = ("--providers.docker", "--certificatesResolvers.", "--accessLog", "--log.")


def static_flags(config: Mapping[str, Any], *, addresses: Mapping[str, str]) -> list[str]:
    """The traefik service's command with each entry point's address from `addresses`, without
    Docker, ACME, access log and log flags (the local test process sets its own)."""
    flags = []
    for flag in config["services"]["traefik"]["command"]:
        name = flag.partition("=")[0]
        if flag.startswith(DROPPED_FLAGS) or flag == "--ping=true":
            continue
        if name.endswith(".tls.certResolver"):  # TLS with the default certificate instead
            flag = name.removesuffix(".certResolver") + "=true"
        entry = re.fullmatch(r"--entryPoints\.([A-Za-z0-9]+)\.address", name)
        if entry:
            flag = f"{name}={addresses[entry.group(1)]}"
        flags.append(flag)
    return flags
