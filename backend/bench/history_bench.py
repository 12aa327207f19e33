"""Rows of `make bench` for a history that grows: a fresh database's `alembic upgrade head` at
3, 100, 300 and 1,000 revisions, then after `make squash` folds the 300 (and the 1,000) into a
checkpoint; and the build of the migrated template that `make reset` and the tests clone, at 3
revisions and from each checkpoint.

Each history is a copy of alembic.ini and migrations/ with generated revisions (a table with
an index each, stack_bench.REVISION), run in the backend container as the migrator runs it, on
a new empty database each time. The squash runs on the host, as `make squash` does, on a git
repository made of the copy. Called by stack_bench.py (`--only history` runs these rows alone).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stack_bench import (
    BACKEND_DIR,
    REPO_DIR,
    BenchProject,
    Row,
    add_revisions,
    median_of,
    on_empty,
    seconds,
    timed_alembic,
)
from table import times, verdict

from chat_backend.db.cluster import Cluster
from chat_backend.local_db.templates import build_template

COUNTS = (3, 100, 300, 1000)
# The project's own revisions, before the generated ones.
OWN = 3
# Histories squashed: up to 300 (the target is held to this one), and the longest. A checkpoint
# still creates every table: PostgreSQL's own work grows with the schema (about 0.9 s for 300
# tables and 2.7 s for 900, each with a sequence and two indexes, on a loaded 2-core machine).
SQUASHED = (300, 1000)
TARGET = 1.5  # times the 3-revision time, for a fresh database after the squash
GIT_IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.com")


@contextmanager
def history(count: int) -> Iterator[Path]:
    """A copy of the project's migration files with revisions up to `count`: its alembic.ini."""
    with tempfile.TemporaryDirectory(prefix="chat-history-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # readable by the container's unprivileged user
        backend = root / "backend"
        backend.mkdir()
        shutil.copy(BACKEND_DIR / "alembic.ini", backend)
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(BACKEND_DIR / "migrations", backend / "migrations", ignore=ignore)
        shutil.copytree(REPO_DIR / "db" / "init", root / "db" / "init")
        if count > OWN:
            add_revisions(backend / "migrations" / "versions", count - OWN)
        yield backend / "alembic.ini"


def squash(alembic_ini: Path, upto: int) -> None:
    """`make squash upto=...` on the copy, made a git repository first (the squash says which
    commit keeps the replaced files)."""
    root = alembic_ini.parents[1]
    git = ("git", *GIT_IDENTITY)
    for command in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "history")):
        _run((*git, *command), root)
    squash_command = ("-m", "chat_backend.revisions", "--config", str(alembic_ini), "squash")
    _run((sys.executable, *squash_command, "--upto", f"{upto:03d}"), alembic_ini.parent)


def in_backend(project: BenchProject, alembic_ini: Path, name: str) -> str:
    """The copy in the backend container; the path of its alembic.ini there."""
    inside = f"/tmp/{name}"  # noqa: S108 -- in the bench's own container
    project.compose("cp", str(alembic_ini.parents[1]), f"backend:{inside}")
    return f"{inside}/backend/alembic.ini"


def fresh_database(project: BenchProject, config: str, repeats: int) -> float:
    """Median seconds of `alembic upgrade head` on a new empty database."""
    return median_of(repeats, lambda: on_empty(project, timed_alembic(project, config)))


def template_build(project: BenchProject, alembic_ini: Path) -> float:
    """Seconds to build a migrated template from these files, as `make reset` and the tests'
    fixture build theirs (db/init's SQL, then `alembic upgrade head`, here on the host)."""
    init_sql = "".join(path.read_text() for path in sorted((REPO_DIR / "db" / "init").glob("*")))
    with Cluster.session(project.target) as cluster:
        started = time.perf_counter()
        build_template(cluster, project.target, "bench_template", alembic_ini, init_sql)
        elapsed = time.perf_counter() - started
        cluster.drop("bench_template")
    return elapsed


def history_rows(project: BenchProject, repeats: int) -> list[Row]:
    rows, fresh = [], {}
    for count in COUNTS:
        with history(count) as alembic_ini:
            fresh[count] = fresh_database(
                project, in_backend(project, alembic_ini, f"history-{count}"), repeats
            )
            rows.append(
                Row(
                    f"fresh database: `alembic upgrade head`, {count} revisions "
                    f"(median of {repeats})",
                    seconds(fresh[count]),
                    "",
                    f"{OWN} revisions: {seconds(fresh[OWN])}",
                    times(fresh[count], fresh[OWN]),
                )
            )
            if count == OWN:
                rows.append(template_row(f"{OWN} revisions", template_build(project, alembic_ini)))
            if count in SQUASHED:
                rows += squashed_rows(project, alembic_ini, count, repeats, fresh[OWN])
    return rows


def squashed_rows(
    project: BenchProject, alembic_ini: Path, count: int, repeats: int, own: float
) -> list[Row]:
    """The history of `count` revisions squashed up to its last: the squash, then a fresh
    database and a template build from the checkpoint."""
    started = time.perf_counter()
    squash(alembic_ini, count)
    squash_s = time.perf_counter() - started
    squashed = fresh_database(
        project, in_backend(project, alembic_ini, f"history-squashed-{count}"), repeats
    )
    target = verdict(f"≤ {TARGET}× the {OWN}-revision time", squashed <= TARGET * own)
    return [
        Row(
            f"fresh database after `make squash upto={count}` (median of {repeats})",
            seconds(squashed),
            target if count == SQUASHED[0] else "",
            f"{OWN} revisions: {seconds(own)}",
            times(squashed, own),
        ),
        Row(f"… `make squash upto={count}` itself (its proof included)", seconds(squash_s)),
        template_row(f"from the checkpoint of {count}", template_build(project, alembic_ini)),
    ]


def template_row(what: str, elapsed: float) -> Row:
    return Row(f"migrated template build (`make reset`, the tests), {what}", seconds(elapsed))


def _run(command: tuple[str, ...], cwd: Path) -> None:
    # Our own commands (git, this Python), no shell.
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stderr}")
