"""The README's quick start, walked as a new team member would: on a fresh copy of the
project (no .git, .venv or .env), each command of its console blocks is run with the real
engine, and what it prints is compared with what the README says to expect."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.e2e.compose_project import REPO_ROOT, ComposeProject

README_PORT = "127.0.0.1:8000"
# What differs from one run to the next: how long ago, and how long it took.
ELAPSED = re.compile(r"\b(?:\d+|About an?|Less than a) (?:seconds?|minutes?|hours?)\b|\d+\.\ds")


@dataclass
class Step:
    """A `$ command` line of the README and the output lines under it."""

    command: str
    expected: list[str] = field(default_factory=list)


def quick_start() -> list[Step]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            else:
                steps[-1].expected.append(line)
    return steps


def run_step(project: ComposeProject, step: Step) -> subprocess.CompletedProcess[str]:
    command = step.command.replace(README_PORT, f"127.0.0.1:{project.backend_port}")
    return project.run(*shlex.split(command))


def rows(lines: list[str]) -> list[list[str]]:
    return [ELAPSED.sub("<t>", line).split() for line in lines]


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    project = ComposeProject.copy_of_repo(tmp_path_factory.mktemp("clone") / "chat-backend")
    # A clone is a git repository on its default branch: the migrator names its data after it.
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    for command in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "clone")):
        subprocess.run(["git", *identity, *command], cwd=project.directory, check=True)
    try:
        yield project
    finally:
        project.down()


def test_the_quick_start_is_the_two_commands() -> None:
    commands = [step.command for step in quick_start()]
    assert commands[0].startswith("docker compose up")
    assert commands[-1] == "make test"


def test_the_quick_start_works_as_written(fresh_clone: ComposeProject) -> None:
    assert not (fresh_clone.directory / ".env").exists()
    up, ps, health = quick_start()[:3]

    started = run_step(fresh_clone, up)
    for line in up.expected:
        if " Container " in line:  # e.g. " ✔ Container chat-backend-db-1  Healthy  10.4s"
            _, _, name, state, *_ = line.split()
            service = name.removeprefix("chat-backend-").removesuffix("-1")
            assert f"Container {fresh_clone.name}-{service}-1  {state}" in started.stderr

    assert rows(run_step(fresh_clone, ps).stdout.splitlines()) == rows(ps.expected)
    assert run_step(fresh_clone, health).stdout == "\n".join(health.expected)


def test_make_test_is_a_target(fresh_clone: ComposeProject) -> None:
    # A dry run: this suite is what `make test` runs.
    assert "pytest" in fresh_clone.make("--dry-run", "test").stdout


def test_make_up_prints_where_the_running_stack_is(fresh_clone: ComposeProject) -> None:
    printed = fresh_clone.make("up").stdout
    assert f"http://127.0.0.1:{fresh_clone.backend_port}/health" in printed
    assert f"127.0.0.1:{fresh_clone.postgres_port}" in printed


def test_doctor_finds_the_ports_taken_by_the_stack_itself(fresh_clone: ComposeProject) -> None:
    doctor = fresh_clone.make("doctor").stdout
    ports = {"POSTGRES_PORT": fresh_clone.postgres_port, "BACKEND_PORT": fresh_clone.backend_port}
    for (name, port), service in zip(ports.items(), ("db", "backend"), strict=True):
        assert f"ok    {name} {port} is published by this project's running {service}" in doctor
    assert "holds PostgreSQL 17 data, as the db image runs" in doctor
