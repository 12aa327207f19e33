"""Benchmark of the API against its peers: the project's GET /chats/{id} beside minimal FastAPI
apps doing the same primary-key SELECT on the same database, all served by the same uvicorn
command and loaded in turns by the same load generator, at 64 and at 8 connections:
- baseline_app.py: a sync route on psycopg2 (the thread pool);
- asyncpg_app.py: an async route on an asyncpg pool;
- psycopg_app.py: an async route on psycopg 3's async pool.
The target: the project's throughput at least the fastest peer's at 64 connections, with a
p99 no worse than that peer's, in the same run.

    uv run python bench/api_bench.py [--connections 64 8] [--seconds 12] [--workers N]

The load generator is wrk (Debian/Ubuntu: `apt-get install wrk`, macOS: `brew install wrk`);
without it a Python generator stands in, which shares the CPUs with the servers and so
measures lower rates (the ratio still compares like with like). Not a test: the figures depend
on the machine. It fails (exit 1) if any request fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool
from table import row, times, verdict

from chat_backend.revisions.throwaway_postgres import throwaway_database

BENCH_DIR = Path(__file__).resolve().parent
BACKEND_DIR = BENCH_DIR.parent
# As the image runs it (see the Dockerfile), on loopback.
SERVER_COMMAND = [sys.executable, "-m", "uvicorn", "--no-access-log", "--host", "127.0.0.1"]
PROJECT_APP = ["chat_backend.api:app"]
PROJECT = "project"
# The peers, by the name the table gives them.
PEER_APPS = {
    "sync psycopg2 (baseline_app.py)": "baseline_app:app",
    "async asyncpg (asyncpg_app.py)": "asyncpg_app:app",
    "async psycopg 3 (psycopg_app.py)": "psycopg_app:app",
}
# Generous: on a shared machine under load, a worker takes seconds to import and start.
START_TIMEOUT_S = 120.0
WARMUP_S = 2
ROUNDS = 2  # GET is measured in turns, the project then each peer, this many times; best counts
APPEND = '{"messages": [{"role": "user", "content": "How fast is this?"}]}'


@dataclass(frozen=True)
class Figures:
    rate: float  # requests per second
    p99_s: float
    failed: int


# One run of a load generator: base URL, paths to cycle through, method, body, connections,
# seconds.
Load = Callable[[str, list[str], str, str, int, float], Figures]


def migrate(url: URL) -> None:
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.attributes["connection"] = engine = create_engine(url, poolclass=NullPool)
    command.upgrade(config, "head")
    engine.dispose()


@contextmanager
def uvicorn_serving(app: list[str], url: URL, workers: int) -> Iterator[str]:
    """The base URL of uvicorn serving `app` over the database `url` on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    plain = url.render_as_string(hide_password=False)
    environment = {
        **os.environ,
        "DATABASE_URL": plain,
        "BASELINE_DSN": plain.replace("postgresql+psycopg2://", "postgresql://", 1),
    }
    # Our own interpreter and arguments: no shell, nothing untrusted.
    server = subprocess.Popen(  # noqa: S603
        [*SERVER_COMMAND, "--port", str(port), "--workers", str(workers), *app],
        cwd=BACKEND_DIR,
        env=environment,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_serving(server, base_url)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=START_TIMEOUT_S)


def wait_until_serving(server: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode} before serving")
        try:
            httpx.get(f"{base_url}/openapi.json", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.05)  # between polls of the port
    raise SystemExit(f"uvicorn did not serve {base_url} within {START_TIMEOUT_S}s")


def seed(base_url: str, chats: int) -> list[str]:
    """One user with one chat per connection, so appends measure the API, not one row's lock."""
    with httpx.Client(base_url=base_url) as client:
        user = client.post("/users", json={"username": "bench"}).raise_for_status().json()
        return [
            client.post(f"/users/{user['id']}/chats", json={}).raise_for_status().json()["id"]
            for _ in range(chats)
        ]


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
local paths = {{{paths}}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
"""
UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk_load(
    base_url: str, paths: list[str], method: str, body: str, connections: int, seconds: float
) -> Figures:
    listed = ", ".join(f'"{path}"' for path in paths)
    script = WRK_SCRIPT.format(method=method, body=body, paths=listed)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        # wrk found on PATH by shutil.which; every argument is ours.
        output = subprocess.run(  # noqa: S603
            [shutil.which("wrk") or "wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s",
             "--timeout", "30s", "--latency", "-s", lua.name, base_url],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    rate = float(_found(r"Requests/sec:\s+([\d.]+)", output))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if p99 is None:
        raise SystemExit(f"wrk printed no 99th percentile:\n{output}")
    failed = sum(map(int, re.findall(r"(?:Non-2xx or 3xx responses|connect|read|write|timeout)"
                                     r"[: ]\s*(\d+)", output)))  # fmt: skip
    if failed:
        print(f"wrk saw failures:\n{output}", file=sys.stderr)
    return Figures(rate, float(p99[1]) * UNITS_S[p99[2]], failed)


def python_load(
    base_url: str, paths: list[str], method: str, body: str, connections: int, seconds: float
) -> Figures:
    return asyncio.run(_python_load(base_url, paths, method, body, connections, seconds))


async def _python_load(
    base_url: str, paths: list[str], method: str, body: str, connections: int, seconds: float
) -> Figures:
    latencies: list[float] = []
    failed = 0
    deadline = time.monotonic() + seconds
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def worker(number: int) -> None:
            nonlocal failed
            while time.monotonic() < deadline:
                started = time.perf_counter()
                path = paths[number % len(paths)]
                try:
                    response = await client.request(method, path, content=body, headers=headers)
                    failed += response.is_error
                except httpx.HTTPError:
                    failed += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker(number) for number in range(connections)))
    elapsed = time.perf_counter() - started
    p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
    return Figures(len(latencies) / elapsed, p99, failed)


def _found(pattern: str, output: str) -> str:
    match = re.search(pattern, output)
    if match is None:
        raise SystemExit(f"wrk printed no {pattern!r}:\n{output}")
    return match[1]


def best(runs: list[Figures]) -> Figures:
    return max(runs, key=lambda figures: figures.rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[64, 8], help="concurrent connections"
    )
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn's")
    options = parser.parse_args()
    load: Load = wrk_load if shutil.which("wrk") else python_load
    if load is python_load:
        print(
            "wrk is not installed (apt-get install wrk): a Python load generator stands in; "
            "it takes CPU from the servers, so compare the ratios, not the rates.",
            file=sys.stderr,
        )

    def run(
        base_url: str, paths: list[str], connections: int, method: str = "GET", body: str = ""
    ) -> Figures:
        load(base_url, paths, method, body, connections, WARMUP_S)
        return load(base_url, paths, method, body, connections, options.seconds)

    project_gets: dict[int, list[Figures]] = {n: [] for n in options.connections}
    peer_gets: dict[tuple[str, int], list[Figures]] = {}
    with throwaway_database() as url, ExitStack() as servers:
        migrate(url)
        project = servers.enter_context(uvicorn_serving(PROJECT_APP, url, options.workers))
        peers = {
            name: servers.enter_context(
                uvicorn_serving(["--app-dir", str(BENCH_DIR), app], url, options.workers)
            )
            for name, app in PEER_APPS.items()
        }
        chats = [f"/chats/{chat_id}" for chat_id in seed(project, max(options.connections))]
        apps = {PROJECT: project, **peers}
        for connections in options.connections:
            for turn in range(ROUNDS):
                # Each round in another order: a machine whose load drifts favours no app.
                names = list(apps)[turn % len(apps) :] + list(apps)[: turn % len(apps)]
                for name in names:
                    figures = run(apps[name], chats, connections)
                    if name == PROJECT:
                        project_gets[connections].append(figures)
                    else:
                        peer_gets.setdefault((name, connections), []).append(figures)
        appends = run(project, [f"{chat}/messages" for chat in chats], 64, "POST", APPEND)

    # Rows of the table stack_bench.py began (bench/table.py); the setting goes to stderr.
    print(
        f"API bench: {os.cpu_count()} CPUs, load by {load.__name__}, best of {ROUNDS}, "
        f"{options.workers} workers each, load average {os.getloadavg()[0]:.2f}",
        file=sys.stderr,
    )
    for connections in options.connections:
        ours = best(project_gets[connections])
        bests = {name: best(peer_gets[name, connections]) for name in PEER_APPS}
        fastest = max(bests, key=lambda name: bests[name].rate)
        for name, theirs in bests.items():
            print_comparison(f"{connections} connections, vs {name}", ours, theirs,
                             judged=name == fastest)  # fmt: skip
    print(
        row(
            "API POST /chats/{id}/messages, 64 connections: throughput",
            f"{appends.rate:.0f} req/s (p99 {appends.p99_s * 1000:.0f} ms)",
            "—",
            "—",
            "—",
        )
    )
    failed = sum(f.failed for runs in [*project_gets.values(), *peer_gets.values()] for f in runs)
    if failed + appends.failed:
        raise SystemExit(f"{failed + appends.failed} requests failed or got an error status")


def print_comparison(setting: str, ours: Figures, theirs: Figures, *, judged: bool) -> None:
    """Two rows: throughput and p99 of the project against one peer. The fastest peer's rows
    carry the target; the others are shown for comparison."""
    figure = f"API GET /chats/{{id}}, {setting}"
    rate_target = verdict("≥ fastest peer", ours.rate >= theirs.rate) if judged else "—"
    p99_target = verdict("≤ fastest peer", ours.p99_s <= theirs.p99_s) if judged else "—"
    print(row(f"{figure}: throughput", f"{ours.rate:.0f} req/s", rate_target,
              f"{theirs.rate:.0f} req/s", times(ours.rate, theirs.rate)))  # fmt: skip
    print(row(f"{figure}: p99", f"{ours.p99_s * 1000:.1f} ms", p99_target,
              f"{theirs.p99_s * 1000:.1f} ms", times(ours.p99_s, theirs.p99_s)))  # fmt: skip


if __name__ == "__main__":
    main()
