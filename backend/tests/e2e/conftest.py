"""End-to-end fixtures: a copy of the project brought up with the real `docker compose`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.compose_project import ComposeProject, docker_client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _docker_is_reachable() -> None:
    """Fail (never skip) every end-to-end test at once when there is no Docker to drive."""
    docker_client().close()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ComposeProject]:
    """A fresh copy of the project, not started; torn down with its volume after the test."""
    project = ComposeProject.copy_of_repo(tmp_path / "project")
    try:
        yield project
    finally:
        project.down()
