"""Benchmark of the API as deployed: requests/s and latency of reading a chat and appending
to one, with 64 concurrent clients, against uvicorn on a throwaway PostgreSQL.

    uv run python bench/api_bench.py [--clients 64] [--requests 4000] [--seconds 30]

Not a test: the figures depend on the machine. It fails (exit 1) if any request fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool

from chat_backend.revisions.throwaway_postgres import throwaway_database

BACKEND_DIR = Path(__file__).resolve().parents[1]
# As compose runs it (one worker), minus the access log, which would measure the terminal.
SERVER_COMMAND = [sys.executable, "-m", "uvicorn", "chat_backend.api:app", "--no-access-log"]
START_TIMEOUT_S = 30.0
WARMUP_REQUESTS = 200

Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Result:
    name: str
    latencies_s: list[float]
    errors: list[str]
    elapsed_s: float

    def row(self) -> str:
        cuts = statistics.quantiles(self.latencies_s, n=100, method="inclusive")
        rate = len(self.latencies_s) / self.elapsed_s
        return (
            f"{self.name:<22} {len(self.latencies_s):>8} {len(self.errors):>6} "
            f"{rate:>9.0f} {cuts[49] * 1000:>8.1f} {cuts[98] * 1000:>8.1f}"
        )


HEADER = f"{'scenario':<22} {'requests':>8} {'errors':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"


def migrate(url: URL) -> None:
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.attributes["connection"] = engine = create_engine(url, poolclass=NullPool)
    command.upgrade(config, "head")
    engine.dispose()


@contextmanager
def uvicorn_on_loopback(url: URL) -> Iterator[str]:
    """The base URL of `uvicorn chat_backend.api:app` serving `url`, as compose runs it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    environment = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}
    # Our own interpreter and arguments: no shell, nothing untrusted.
    server = subprocess.Popen(  # noqa: S603
        [*SERVER_COMMAND, "--host", "127.0.0.1", "--port", str(port)],
        cwd=BACKEND_DIR,
        env=environment,
    )
    try:
        wait_until_listening(server, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=START_TIMEOUT_S)


def wait_until_listening(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # between polls of the port
    raise SystemExit(f"uvicorn did not listen on port {port} within {START_TIMEOUT_S}s")


async def seed(client: httpx.AsyncClient, chats: int) -> list[str]:
    """One user with one chat per client, so appends measure the API, not one row's lock."""
    user = (await client.post("/users", json={"username": "bench"})).raise_for_status().json()
    created = [
        (await client.post(f"/users/{user['id']}/chats", json={})).raise_for_status().json()
        for _ in range(chats)
    ]
    return [chat["id"] for chat in created]


async def measure(
    name: str, client: httpx.AsyncClient, request: Request, clients: int, total: int, limit_s: float
) -> Result:
    """Run `total` requests (or until `limit_s` passes) from `clients` concurrent workers."""
    latencies: list[float] = []
    errors: list[str] = []
    issued = 0
    deadline = time.monotonic() + limit_s

    async def worker(number: int) -> None:
        nonlocal issued
        while issued < total and time.monotonic() < deadline:
            issued += 1
            started = time.perf_counter()
            try:
                response = await request(client, number)
            except httpx.HTTPError as error:
                errors.append(f"{type(error).__name__}: {error}")
                continue
            latencies.append(time.perf_counter() - started)
            if response.is_error:
                errors.append(f"{response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(number) for number in range(clients)))
    return Result(name, latencies, errors, time.perf_counter() - started)


async def run(base_url: str, options: argparse.Namespace) -> list[Result]:
    limits = httpx.Limits(max_connections=options.clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        chat_ids = await seed(client, options.clients)
        message = {"messages": [{"role": "user", "content": "How fast is this?"}]}

        def get_chat(client: httpx.AsyncClient, number: int) -> Awaitable[httpx.Response]:
            return client.get(f"/chats/{chat_ids[number]}")

        def append(client: httpx.AsyncClient, number: int) -> Awaitable[httpx.Response]:
            return client.post(f"/chats/{chat_ids[number]}/messages", json=message)

        results = []
        for name, request in [("GET /chats/{id}", get_chat), ("POST .../messages", append)]:
            await measure(name, client, request, options.clients, WARMUP_REQUESTS, options.seconds)
            results.append(
                await measure(
                    name, client, request, options.clients, options.requests, options.seconds
                )
            )
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=4000, help="requests per scenario")
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit per scenario")
    options = parser.parse_args()
    with throwaway_database() as url:
        migrate(url)
        with uvicorn_on_loopback(url) as base_url:
            results = asyncio.run(run(base_url, options))
    print(f"\n{options.clients} concurrent clients, one uvicorn worker, {os.cpu_count()} CPUs\n")
    print(HEADER)
    for result in results:
        print(result.row())
    failed = Counter(error for result in results for error in result.errors)
    if failed:
        kinds = "\n".join(f"{count:>6} x {error}" for error, count in failed.most_common())
        raise SystemExit(f"{failed.total()} requests failed:\n{kinds}")


if __name__ == "__main__":
    main()
