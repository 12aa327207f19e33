"""A copy of the project run as its own Compose project: the end-to-end tests' handle on it.

Each project gets a unique name and free host ports, so it never meets a developer's own
stack, and is torn down with `down -v` whatever happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
from docker.models.containers import Container

from chat_backend.revisions.throwaway_postgres import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
# What a fresh clone holds that the stack needs; local environments and caches stay behind,
# and so do coverage's data files: the processes the tests start write and combine them
# meanwhile, and one gone between listing and copying failed the copy (seen in CI).
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".env",
    "backups",
    ".coverage*",
)
NO_DOCKER = (
    "The end-to-end tests drive the real Docker Compose stack and could not reach Docker: "
    "install Docker with Compose v2 (`docker compose version` must work) and start the engine. "
)
COMMAND_TIMEOUT_S = 600


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(version="auto")
        client.ping()
    except docker.errors.DockerException as error:
        raise RuntimeError(NO_DOCKER + str(error)) from None
    return client


@dataclass
class ComposeProject:
    """One copy of the repository, run under its own Compose project name."""

    directory: Path
    name: str = field(default_factory=lambda: f"chat-e2e-{uuid.uuid4().hex[:8]}")
    backend_port: int = field(default_factory=free_port)
    postgres_port: int = field(default_factory=free_port)

    @classmethod
    def copy_of_repo(cls, destination: Path) -> ComposeProject:
        shutil.copytree(REPO_ROOT, destination, ignore=COPY_IGNORE)
        return cls(destination)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "COMPOSE_PROJECT_NAME": self.name,
            "BACKEND_PORT": str(self.backend_port),
            "POSTGRES_PORT": str(self.postgres_port),
            # Shared across test projects so BuildKit's cache serves every build after the first.
            "BACKEND_IMAGE": os.environ.get("BACKEND_IMAGE", "chat-backend:e2e"),
        }

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            command,
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {completed.returncode}\n"
                f"--- stdout\n{completed.stdout}\n--- stderr\n{completed.stderr}"
            )
        return completed

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("docker", "compose", *args, check=check)

    def make(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("make", *args, check=check)

    def timed_up(
        self, *extra: str, check: bool = True
    ) -> tuple[float, subprocess.CompletedProcess[str]]:
        started = time.monotonic()
        completed = self.compose("up", "--wait", *extra, check=check)
        return time.monotonic() - started, completed

    def sql(self, query: str) -> str:
        """Run one query with psql inside the db container; the unaligned result."""
        script = 'exec psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "$0"'
        return self.compose("exec", "-T", "db", "sh", "-c", script, query).stdout.strip()

    def health(self) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.backend_port}/health", timeout=5)

    def containers(self, service: str) -> list[Container]:
        labels = [
            f"com.docker.compose.project={self.name}",
            f"com.docker.compose.service={service}",
        ]
        found: list[Container] = docker_client().containers.list(
            all=True, filters={"label": labels}
        )
        return found

    def state(self, service: str) -> dict[str, Any]:
        (container,) = self.containers(service)
        state: dict[str, Any] = container.attrs["State"]
        return state

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", service, check=False).stdout

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)


@contextmanager
def running_copy(
    destination: Path,
    prepare: Callable[[ComposeProject], None] | None = None,
    *,
    build: bool = False,
) -> Iterator[ComposeProject]:
    """A copy of the repository, prepared (e.g. given a .env) and up with `--wait`; torn down
    with its volume afterwards, whatever happens. It runs the image built once per test run
    (tests/e2e/conftest.py), unless `build` asks for a build from the copy itself."""
    project = ComposeProject.copy_of_repo(destination / "project")
    try:
        if prepare is not None:
            prepare(project)
        command = ("--build",) if build else ()
        seconds, _ = project.timed_up(*command)
        print(
            f"\n[measure] `docker compose up --wait {' '.join(command)}` ({destination.name}): "
            f"{seconds:.1f} s"
        )
        yield project
    finally:
        project.down()
