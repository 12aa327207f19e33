"""The host ports the stack publishes: free, or already this project's own."""

from __future__ import annotations

import json
import socket
from collections.abc import Collection
from pathlib import Path
from typing import Any

from chat_backend.doctor.commands import run
from chat_backend.doctor.env_file import EnvFiles
from chat_backend.doctor.report import Finding, fail, ok

# The settings that choose a host port, and the service that publishes it.
PORT_SETTINGS = {"POSTGRES_PORT": "db", "BACKEND_PORT": "backend"}
# How far above a taken port to look for a free one to suggest.
SEARCH_SPAN = 100


def is_free(port: int) -> bool:
    """Whether Docker could publish `port` on 127.0.0.1 now."""
    with socket.socket() as probe:
        # Without it, a connection closed moments ago (TIME_WAIT) would count as a listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except PermissionError:
            return True  # a port below 1024: only root may bind it, and dockerd runs as root
        except OSError:
            return False
    return True


def free_port_near(port: int) -> int:
    """The first free port above `port`, else one the system picks."""
    for candidate in range(port + 1, min(port + SEARCH_SPAN, 65535) + 1):
        if is_free(candidate):
            return candidate
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def published_ports(root: Path) -> set[int]:
    """Host ports that this project's running containers publish (Compose resolves the
    project's name the same way as for `docker compose up`)."""
    answer = run("docker", "compose", "ps", "--format", "json", cwd=root)
    if answer is None or answer.returncode != 0:
        return set()
    return {
        int(publisher["PublishedPort"])
        for container in _containers(answer.stdout)
        for publisher in container.get("Publishers") or ()
        if publisher.get("PublishedPort")
    }


def _containers(output: str) -> list[dict[str, Any]]:
    # Compose before 2.21 prints one JSON array; later versions one object per line.
    text = output.strip()
    if text.startswith("["):
        found: list[dict[str, Any]] = json.loads(text)
        return found
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_ports(files: EnvFiles, ours: Collection[int]) -> list[Finding]:
    return [
        _check_port(name, service, files.setting(name), ours)
        for name, service in PORT_SETTINGS.items()
    ]


def _check_port(name: str, service: str, value: str | None, ours: Collection[int]) -> Finding:
    port = int(value) if value and value.isdigit() else 0
    if not 1 <= port <= 65535:
        return fail(
            f"{name}={value!r} is not a TCP port: set {name} in .env to a number from 1 to 65535"
        )
    if port in ours:
        return ok(f"{name} {port} is published by this project's running {service}")
    if is_free(port):
        return ok(f"{name} {port} is free")
    return fail(
        f"{name} {port} is taken by another program: set {name}={free_port_near(port)} in .env "
        f"(free now), or stop the program that listens on {port}"
    )
