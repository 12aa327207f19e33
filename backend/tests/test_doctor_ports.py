"""doctor.ports: a port another program holds is a blocker with a free one suggested."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from chat_backend.doctor.env_file import EnvFiles
from chat_backend.doctor.ports import check_ports, free_port_near, is_free
from chat_backend.doctor.report import Level


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that another program listens on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def files_with(postgres_port: str, backend_port: str) -> EnvFiles:
    example = {"POSTGRES_PORT": postgres_port, "BACKEND_PORT": backend_port}
    return EnvFiles(example=example, documented=frozenset(example), env=None)


def test_a_listened_port_is_not_free(listener: int) -> None:
    assert not is_free(listener)
    assert free_port_near(listener) != listener


def test_a_taken_port_is_a_blocker_with_a_free_port_to_use(
    listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTGRES_PORT", raising=False)
    monkeypatch.delenv("BACKEND_PORT", raising=False)
    taken, backend = check_ports(files_with(str(listener), str(listener)), ours=())
    assert taken.level is Level.FAIL
    assert taken.message.startswith(
        f"POSTGRES_PORT {listener} is taken by another program: set POSTGRES_PORT="
    )
    suggested = int(taken.message.split("POSTGRES_PORT=")[1].split()[0])
    assert is_free(suggested)
    assert backend.message.startswith(f"BACKEND_PORT {listener} is taken")


def test_a_port_of_this_projects_stack_is_fine(
    listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTGRES_PORT", raising=False)
    monkeypatch.setenv("BACKEND_PORT", str(listener))
    _, backend = check_ports(files_with("1", "2"), ours={listener})
    assert (backend.level, backend.message) == (
        Level.OK,
        f"BACKEND_PORT {listener} is published by this project's running backend",
    )


def test_a_value_that_is_no_port_is_a_blocker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_PORT", "54321x")
    postgres, _ = check_ports(files_with("5432", "8000"), ours=())
    assert (postgres.level, postgres.message) == (
        Level.FAIL,
        "POSTGRES_PORT='54321x' is not a TCP port: set POSTGRES_PORT in .env to a number from 1 "
        "to 65535",
    )
