"""End-to-end fixtures: a copy of the project brought up with the real `docker compose`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from tests.e2e.compose_project import REPO_ROOT, ComposeProject, docker_client, running_copy


# First, so that pytest-xdist's own hook sees the group marks it sends to one worker each.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)
            if _shares_a_running_copy(item):
                item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


def _shares_a_running_copy(item: pytest.Item) -> bool:
    """A module whose tests share a module-scoped project runs them in order on one worker
    (`--dist loadgroup`); spread over workers, each would start a project of its own."""
    if not isinstance(item, pytest.Function):
        return False
    definitions = item._fixtureinfo.name2fixturedefs
    return any(
        fixture.scope == "module"
        for name in item.fixturenames
        for fixture in definitions.get(name, ())
    )


@pytest.fixture(scope="session", autouse=True)
def _docker_is_reachable() -> None:
    """Fail (never skip) every end-to-end test at once when there is no Docker to drive."""
    docker_client().close()


@pytest.fixture(scope="session", autouse=True)
def _backend_image(_docker_is_reachable: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The backend image, built once per run from the repository; the projects start from it
    instead of each building it. Under pytest-xdist every worker runs this: the lock (in the
    directory the workers share) lets the first build it while the others wait, then find
    it in the build cache."""
    shared = tmp_path_factory.getbasetemp().parent
    with FileLock(shared / "backend-image.lock"):
        ComposeProject(REPO_ROOT).compose("build", "backend")


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
