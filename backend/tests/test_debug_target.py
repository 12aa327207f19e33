"""`make debug`: the API served under debugpy, and .vscode/launch.json's "debug the backend"
attaching to it. The attach is made as VS Code makes it: the Debug Adapter Protocol over TCP
to the port launch.json names."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import URL

from chat_backend.revisions.throwaway_postgres import free_port
from tests.api_support import CODE
from tests.test_api_server import server_environment
from tests.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCH = REPO_ROOT / ".vscode" / "launch.json"
START_TIMEOUT_S = 60.0
MAX_EVENTS_BEFORE_RESPONSE = 20
TCP_LISTEN = "0A"
LOOPBACK_HEX = "0100007F"


@dataclass
class Debugged:
    api: str
    api_port: int
    adapter_port: int
    log: Path


def attach_configuration() -> dict[str, Any]:
    configurations = json.loads(LAUNCH.read_text())["configurations"]
    (attach,) = [c for c in configurations if c["name"] == "debug the backend"]
    return dict(attach)


def answering(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def debugged(database_url: URL, tmp_path: Path) -> Iterator[Debugged]:
    """`make debug` on free ports, serving this test's database; stopped with its process group
    (make, uv, debugpy's adapter and the server)."""
    api_port, adapter_port = free_port(), free_port()
    environment = server_environment(
        DATABASE_URL=database_url.render_as_string(hide_password=False),
        DEBUG_API_PORT=str(api_port),
        DEBUG_ADAPTER_PORT=str(adapter_port),
        # As the dev container sets it (the stack's setting): uvicorn would read it as its
        # worker count, and debugpy follows only the process it started.
        WEB_CONCURRENCY="2",
    )
    log = tmp_path / "debug.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "debug"],
            cwd=REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_until(
            lambda: process.poll() is not None or answering(f"{api}/health"),
            f"`make debug` serving {api}",
            START_TIMEOUT_S,
        )
        assert process.poll() is None, f"make debug exited:\n{log.read_text()}"
        yield Debugged(api, api_port, adapter_port, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=START_TIMEOUT_S)


def dap_request(connection: socket.socket, command: str, arguments: dict[str, Any]) -> None:
    body = json.dumps(
        {"seq": 1, "type": "request", "command": command, "arguments": arguments}
    ).encode()
    connection.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def dap_message(stream: Any) -> dict[str, Any]:
    """One Debug Adapter Protocol message: headers, a blank line, then a JSON body."""
    length = 0
    while (line := stream.readline().strip()) != b"":
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def dap_response(stream: Any) -> dict[str, Any]:
    """The next response, past the events the adapter may send first (output, sockets)."""
    for _ in range(MAX_EVENTS_BEFORE_RESPONSE):
        message = dap_message(stream)
        if message["type"] == "response":
            return message
    raise AssertionError(f"no response among the adapter's first {MAX_EVENTS_BEFORE_RESPONSE}")


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on TCP `port`, read from the kernel's table
    (/proc/net/tcp, hex: 0100007F is 127.0.0.1), not by connecting to other addresses."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for row in table.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.partition(":")
            if state == TCP_LISTEN and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_launch_json_attaches_to_the_port_make_debug_listens_on() -> None:
    attach = attach_configuration()
    assert (attach["type"], attach["request"]) == ("debugpy", "attach")
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert f"DEBUG_ADAPTER_PORT ?= {attach['connect']['port']}" in makefile
    # debugpy runs whatever its client sends: it listens on the loopback address only.
    assert attach["connect"]["host"] == "127.0.0.1"


def test_make_debug_serves_the_api_and_a_loopback_only_debugger_answers(debugged: Debugged) -> None:
    assert httpx.get(f"{debugged.api}/health", timeout=5).json()["revision"] == CODE.head

    with socket.create_connection(("127.0.0.1", debugged.adapter_port), timeout=10) as connection:
        dap_request(connection, "initialize", {"adapterID": "debugpy", "clientID": "vscode"})
        reply = dap_response(connection.makefile("rb"))

    assert (reply["type"], reply["command"], reply["success"]) == ("response", "initialize", True)
    assert reply["body"]["supportsConfigurationDoneRequest"] is True
    # A debugger runs whatever code its client sends: nobody else on the network may attach.
    assert listening_addresses(debugged.adapter_port) == {LOOPBACK_HEX}
    assert listening_addresses(debugged.api_port) == {LOOPBACK_HEX}
    # One process serves, the one under the debugger: no worker processes beside it.
    assert "Started parent process" not in debugged.log.read_text()
