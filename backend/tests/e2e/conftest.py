"""End-to-end fixtures: a copy of the project brought up with the real `docker compose`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.compose_project import ComposeProject, docker_client, running_copy


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


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeProject]:
    """One running copy of the project shared by a module's tests, which run in order: each
    starts from where the previous one left the stack, as a developer's day would."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    with running_copy(tmp_path_factory.mktemp(module)) as project:
        yield project
