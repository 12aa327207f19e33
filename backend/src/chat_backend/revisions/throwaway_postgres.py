"""Disposable PostgreSQL: a server for the tests and a database for `make check`.

In order of preference: `TEST_DATABASE_URL` when set (a role that may CREATE DATABASE); a
throwaway server started from the local PostgreSQL binaries; the Compose stack's `db` service
(started if need be), so a machine with only Docker, make and uv runs the tests too.
pytest-postgresql starts throwaway servers as well, but it cannot when run as root (CI does):
PostgreSQL refuses root, so this module runs the server as an unprivileged user in that case.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL

from chat_backend.config import parse_postgres_url
from chat_backend.db.local_guard import refusal
from chat_backend.local_db.cluster import Cluster
from chat_backend.local_db.target import Target

NO_SERVER = (
    "No PostgreSQL server to run on. Either set TEST_DATABASE_URL="
    "postgresql://USER:PASSWORD@HOST:PORT/postgres (a role that may CREATE DATABASE), or "
    "install the PostgreSQL server binaries so initdb and pg_ctl are found "
    "(Debian/Ubuntu: apt-get install postgresql), or make `docker compose up --wait db` work "
    "from the project folder"
)
COMPOSE_TIMEOUT_S = 300
# Who runs the throwaway server when we run as root; Debian's postgresql package creates
# this user.
UNPRIVILEGED_USER = "postgres"


def server_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or the newest Debian-style install."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3])
    )
    return installed[-1].parent if installed else None


@contextmanager
def database_server() -> Iterator[URL]:
    """Yield an admin URL (to the `postgres` database) of a server we may use."""
    given = os.environ.get("TEST_DATABASE_URL", "").strip()
    if given:
        yield parse_postgres_url(given)
        return
    bin_dir = server_bin_dir()
    if bin_dir is None:
        yield compose_db_server()
        return
    with _throwaway_server(bin_dir) as url:
        yield url


@contextmanager
def throwaway_database() -> Iterator[URL]:
    """Yield the URL of a new, empty database, dropped (with its server, if ours) afterwards."""
    with database_server() as server:
        target = Target.from_url(server, app_env="test")
        name = f"chat_throwaway_{os.getpid()}_{secrets.token_hex(4)}"
        with Cluster.session(target) as cluster:
            cluster.create(name)
        try:
            yield server.set(database=name)
        finally:
            with Cluster.session(target) as cluster:
                cluster.drop(name)


@contextmanager
def _throwaway_server(bin_dir: Path) -> Iterator[URL]:
    root = Path(tempfile.mkdtemp(prefix="chat-test-pg-"))
    user = UNPRIVILEGED_USER if os.geteuid() == 0 else None
    if user is not None:
        shutil.chown(root, user)
    data, port = root / "data", free_port()
    # Password authentication over TCP, as in the real stack, so password tests prove it.
    password, password_file = secrets.token_urlsafe(16), root / "password"
    password_file.write_text(password)
    if user is not None:
        shutil.chown(password_file, user)
    # Durability is pointless for throwaway data: no fsync in initdb, nor in the server.
    _run(
        user,
        bin_dir / "initdb",
        "-D",
        data,
        "-U",
        "postgres",
        "--pwfile",
        password_file,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run(
        user,
        bin_dir / "pg_ctl",
        "start",
        "-w",
        "-D",
        data,
        "-l",
        root / "server.log",
        "-o",
        options,
    )
    try:
        yield URL.create(
            "postgresql+psycopg2",
            username="postgres",
            password=password,
            host="127.0.0.1",
            port=port,
            database="postgres",
        )
    finally:
        _run(user, bin_dir / "pg_ctl", "stop", "-D", data, "-m", "immediate")
        shutil.rmtree(root, ignore_errors=True)


def compose_db_server(project: Path | None = None) -> URL:
    """The Compose stack's db service, started if it is not running, as its superuser (the
    image makes POSTGRES_USER one). Left running: it is the developer's own database server.

    Its address is the one Compose publishes for it, and its credentials the service's own:
    never the app's settings, which may name any server (DATABASE_URL in a .env, say). The one
    guard (local_guard) judges libpq's options here, before anything connects (PGHOSTADDR
    could send it elsewhere), and every session local_db.cluster opens on it."""
    project = project or next(
        (d for d in (Path.cwd(), *Path.cwd().parents) if (d / "compose.yaml").exists()), None
    )
    if project is None or shutil.which("docker") is None:
        raise RuntimeError(f"{NO_SERVER}.")
    _compose(project, "up", "--detach", "--wait", "db")
    host, _, port = _compose(project, "port", "db", "5432").strip().rpartition(":")
    environment = json.loads(_compose(project, "config", "--format", "json"))["services"]["db"][
        "environment"
    ]
    url = URL.create(
        "postgresql+psycopg2",
        username=environment.get("POSTGRES_USER") or "postgres",
        password=environment.get("POSTGRES_PASSWORD"),
        host=host.strip("[]"),
        port=int(port),
        database="postgres",
    )
    reason = refusal("test", options=Target.from_url(url, "test").connect_options("postgres"))
    if reason is not None:
        raise RuntimeError(f"the Compose db service is not a local server: {reason}")
    return url


def _compose(project: Path, *args: str) -> str:
    # Docker's own CLI with arguments we built: no shell, nothing untrusted.
    completed = subprocess.run(  # noqa: S603
        ["docker", "compose", *args],  # noqa: S607
        cwd=project,
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{NO_SERVER}; `docker compose {args[0]}` failed: {reason}")
    return completed.stdout


def _run(user: str | None, program: Path, *args: object) -> None:
    # The server's own binaries, with arguments we built: no shell, nothing untrusted.
    completed = subprocess.run(  # noqa: S603
        [str(program), *map(str, args)], user=user, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{program.name} failed: {completed.stderr.strip()}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
