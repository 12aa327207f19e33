"""The dev loop: under `make watch`, a code edit and a new revision file reach the running
backend without a rebuild; the revision without a restart either (one would kill the
`make migrate` that runs in the backend container)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.alembic_support import HEAD, NEXT, write_revision
from tests.e2e.compose_project import ComposeProject
from tests.waiting import wait_until

TIMEOUT_S = 180


def answer(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None  # restarting


@pytest.fixture
def watching(project: ComposeProject, tmp_path: Path) -> Iterator[ComposeProject]:
    """`make watch` running in the background on a fresh copy, the backend healthy."""
    with (tmp_path / "watch.log").open("w") as log:
        watch = subprocess.Popen(
            ["make", "watch"],
            cwd=project.directory,
            env=project.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so that it stops with everything it ran
        )
        try:
            wait_until(
                lambda: health_status(project) == 200, "the backend is healthy", TIMEOUT_S, 0.5
            )
            yield project
        finally:
            os.killpg(watch.pid, signal.SIGTERM)
            watch.wait(timeout=60)


def health_status(project: ComposeProject) -> int | None:
    response = answer(f"http://127.0.0.1:{project.backend_port}/health")
    return response.status_code if response else None


def test_code_edits_and_new_revisions_reach_the_backend(watching: ComposeProject) -> None:
    base = f"http://127.0.0.1:{watching.backend_port}"
    application = watching.directory / "backend/src/chat_backend/api/application.py"
    application.write_text(
        application.read_text().replace('title="Chat backend"', 'title="Edited"')
    )

    def title() -> str | None:
        response = answer(f"{base}/openapi.json")
        return response.json()["info"]["title"] if response and response.is_success else None

    wait_until(lambda: title() == "Edited", "the edited code runs", TIMEOUT_S, 0.5)

    started = watching.state("backend")["StartedAt"]
    versions = watching.directory / "backend" / "migrations" / "versions"
    write_revision(versions, f"{NEXT}_noop.py", revision=NEXT, down_revision=HEAD)

    def head() -> str | None:
        response = answer(f"{base}/health")
        return response.json()["head"] if response else None

    wait_until(lambda: head() == NEXT, "the backend knows the new head", TIMEOUT_S, 0.5)
    assert health_status(watching) == 503
    watching.make("migrate")
    assert health_status(watching) == 200
    assert watching.state("backend")["StartedAt"] == started
