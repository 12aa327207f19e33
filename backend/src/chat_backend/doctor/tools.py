"""The programs the project needs on the host: the Docker engine, Compose v2 and uv."""

from __future__ import annotations

from chat_backend.doctor.commands import dotted, first_line, parse_version, run
from chat_backend.doctor.report import Finding, fail, ok, warn

# The oldest engine the stack is tested on (CI's machines run 20.10).
MIN_ENGINE = (20, 10)
# `make watch` uses the `restart` watch action, new in Compose 2.32.
MIN_COMPOSE_FOR_WATCH = (2, 32)
INSTALL_DOCKER = "https://docs.docker.com/engine/install/"
INSTALL_COMPOSE = "https://docs.docker.com/compose/install/"
INSTALL_UV = "https://docs.astral.sh/uv/getting-started/installation/"


def check_engine() -> Finding:
    answer = run("docker", "version", "--format", "{{.Server.Version}}")
    if answer is None:
        return fail(f"docker is not installed: install Docker ({INSTALL_DOCKER})")
    version = parse_version(answer.stdout)
    if answer.returncode != 0 or version is None:
        return fail(
            f"the Docker engine does not answer ({first_line(answer.stderr)}): start Docker, and "
            "check that your user may use it (`docker info` must work)"
        )
    if version < MIN_ENGINE:
        return warn(
            f"Docker engine {answer.stdout.strip()} is older than {dotted(MIN_ENGINE)}, the "
            f"oldest this project is tested on: update Docker ({INSTALL_DOCKER})"
        )
    return ok(f"Docker engine {answer.stdout.strip()}")


def check_compose() -> Finding:
    answer = run("docker", "compose", "version", "--short")
    version = parse_version(answer.stdout) if answer and answer.returncode == 0 else None
    if version is None:
        legacy = run("docker-compose", "version", "--short")
        found = ""
        if legacy is not None and legacy.returncode == 0:
            found = f" (only the standalone docker-compose {legacy.stdout.strip()} is installed)"
        return fail(
            f"`docker compose` (Compose v2) is missing{found}: install the Compose v2 plugin "
            f"({INSTALL_COMPOSE})"
        )
    if version < MIN_COMPOSE_FOR_WATCH:
        return warn(
            f"Docker Compose {dotted(version)} runs the stack, but `make watch` needs "
            f"{dotted(MIN_COMPOSE_FOR_WATCH)} or later: update Compose ({INSTALL_COMPOSE}), or "
            "run `docker compose restart backend` after each edit"
        )
    return ok(f"Docker Compose {dotted(version)}")


def check_uv() -> Finding:
    answer = run("uv", "--version")
    if answer is None or answer.returncode != 0:
        return fail(
            f"uv is not installed (make test and the host-side tools need it): {INSTALL_UV}"
        )
    return ok(f"{answer.stdout.split('(')[0].strip()} (runs the tests and the host-side tools)")
