"""The API as deployed: `uvicorn chat_backend.api:app` in its own process, over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import URL

from chat_backend.revisions.throwaway_postgres import free_port
from tests.alembic_support import BACKEND_DIR
from tests.api_support import CODE
from tests.waiting import wait_until

SERVER_COMMAND = [sys.executable, "-m", "uvicorn", "chat_backend.api:app", "--host", "127.0.0.1"]
START_TIMEOUT_S = 30.0
# The settings a developer's shell might hold; each test states its own. WEB_CONCURRENCY is
# uvicorn's own (the stack's containers, the dev container among them, set it): with workers,
# uvicorn restarts a worker that exits on bad settings instead of exiting itself.
SETTINGS_VARIABLES = ("DATABASE_URL", "ALEMBIC_CONFIG", "APP_ENV", "WEB_CONCURRENCY")


def server_environment(**settings: str) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES and not name.startswith("POSTGRES_")
    }
    return {**inherited, **settings}


def start_uvicorn(port: int, environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [*SERVER_COMMAND, "--port", str(port)],
            cwd=BACKEND_DIR,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def listening(process: subprocess.Popen[bytes], port: int, log: Path) -> bool:
    if process.poll() is not None:
        pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text()}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def uvicorn_url(database_url: URL, tmp_path: Path) -> Iterator[str]:
    """The base URL of a uvicorn serving the test database."""
    port, log = free_port(), tmp_path / "uvicorn.log"
    url = database_url.render_as_string(hide_password=False)
    process = start_uvicorn(port, server_environment(DATABASE_URL=url), log)
    try:
        wait_until(
            lambda: listening(process, port, log), f"uvicorn on port {port}", START_TIMEOUT_S
        )
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=START_TIMEOUT_S)


def test_serves_health_and_data_over_http(uvicorn_url: str) -> None:
    with httpx.Client(base_url=uvicorn_url, timeout=10) as client:
        assert client.get("/health").json()["revision"] == CODE.head
        user = client.post("/users", json={"username": "ada"}).json()
        chat = client.post(f"/users/{user['id']}/chats", json={"title": "first"}).json()
        message = {"role": "user", "content": "hello"}
        appended = client.post(f"/chats/{chat['id']}/messages", json={"messages": [message]})
        assert appended.json()["message_count"] == 1
        assert client.get(f"/chats/{chat['id']}").json()["messages"] == [message]
        assert client.get("/nowhere").json()["error"]["code"] == "not_found"


def run_until_exit(environment: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    log = tmp_path / "uvicorn.log"
    process = start_uvicorn(free_port(), environment, log)
    return process.wait(timeout=START_TIMEOUT_S), log.read_text()


def test_bad_settings_stop_the_server_with_one_line_each(tmp_path: Path) -> None:
    environment = server_environment(POSTGRES_PORT="not-a-port", APP_ENV="staging")
    code, output = run_until_exit(environment, tmp_path)
    assert code == 2
    assert "Traceback" not in output
    problems = sorted(line for line in output.splitlines() if line.startswith("error: "))
    assert [line.split(":")[1].strip() for line in problems] == ["APP_ENV", "POSTGRES_PORT"]


def test_a_missing_alembic_ini_stops_the_server(tmp_path: Path) -> None:
    missing = tmp_path / "alembic.ini"
    code, output = run_until_exit(server_environment(ALEMBIC_CONFIG=str(missing)), tmp_path)
    assert code == 2
    assert "Traceback" not in output
    assert f"error: ALEMBIC_CONFIG: no Alembic config at {str(missing)!r}" in output


def test_the_server_app_freezes_the_objects_of_its_start() -> None:
    """What the imports and the app's construction made lives as long as the process: frozen,
    the collector's full collections under load scan only what requests made since (each
    scan of the start's objects paused the worker for tens of milliseconds)."""
    script = "import gc, chat_backend.api as api; api.app; print(gc.get_freeze_count())"
    environment = server_environment(DATABASE_URL="postgresql://chat@127.0.0.1:9/chat")
    frozen = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BACKEND_DIR, env=environment, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert int(frozen) > 10_000
