"""Rows of `make bench` for a history that grows: a fresh database's `alembic upgrade head` at
the project's own revisions, 100, 300 and 1,000, then after `make squash` folds the 300 (and
the 1,000) into a checkpoint; and the build of the migrated template that `make reset` and the
tests clone, at the project's revisions and from each checkpoint.

Where a squashed fresh database's time goes, in two rows under it: the same migrator run on a
database already at head (everything but the revisions' work: `compose exec`, Python and its
imports, Alembic reading the files, the migrator's connections, lock and checks), and
PostgreSQL alone running the checkpoint's SQL (one round trip, one transaction, from the host).
The target's verdict says when the second alone leaves the target out of reach.

Each history is a copy of alembic.ini and migrations/ with generated revisions (a table with
an index each, stack_bench.REVISION), run in the backend container as the migrator runs it, on
a new empty database each time. The squash runs on the host, as `make squash` does, on a git
repository made of the copy. Called by stack_bench.py (`--only history` runs these rows alone).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
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
from chat_backend.db.revision_ids import assigned, revision_files
from chat_backend.local_db.templates import build_template

# The project's own revisions, before the generated ones: the baseline (the issue's "3
# revisions" when it was written; a history of N holds N revisions in all).
OWN = len(revision_files(BACKEND_DIR / "migrations" / "versions"))
COUNTS = (OWN, 100, 300, 1000)
# Histories squashed: up to 300 (the target is held to this one), and the longest. A checkpoint
# still creates every table: PostgreSQL's own work grows with the schema.
SQUASHED = (300, 1000)
TARGET = 1.5  # times the project's own revisions' time, for a fresh database after the squash
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


def again_at_head(project: BenchProject, config: str) -> Callable[[str], float]:
    """Seconds of the same run on a database it has just brought to head: all but the
    revisions' own work."""

    def run(database: str) -> float:
        timed_alembic(project, config)(database)
        return timed_alembic(project, config)(database)

    return run


def checkpoint_schema(alembic_ini: Path, count: int) -> str:
    """The checkpoint's SQL, as its upgrade() hands it to text()."""
    path = alembic_ini.parent / "migrations" / "versions" / f"{count:03d}_checkpoint.py"
    schema = assigned(path.read_text(encoding="utf-8"), "SCHEMA")
    assert isinstance(schema, str)
    return schema


def timed_sql(project: BenchProject, sql: str) -> Callable[[str], float]:
    """Seconds PostgreSQL takes to run `sql` as a checkpoint's upgrade() sends it (one text,
    one round trip, one transaction), from the host."""

    def run(database: str) -> float:
        engine = create_engine(project.target.url(database), poolclass=NullPool)
        with engine.connect() as connection:
            started = time.perf_counter()
            with connection.begin():
                connection.execute(text(sql))
            elapsed = time.perf_counter() - started
        engine.dispose()
        return elapsed

    return run


@dataclass(frozen=True)
class Round:
    """One of each, back to back, each on a new empty database: on a shared machine the load
    then weighs on the baseline and the checkpoint alike."""

    own: float  # the project's own revisions, a fresh database
    squashed: float  # the checkpoint, a fresh database
    own_at_head: float
    squashed_at_head: float
    postgres: float  # the checkpoint's SQL alone

    @property
    def ratio(self) -> float:
        return self.squashed / self.own

    @property
    def postgres_ratio(self) -> float:
        return self.postgres / self.own


def rounds(
    project: BenchProject, own_config: str, config: str, schema: str, repeats: int
) -> list[Round]:
    return [
        Round(
            on_empty(project, timed_alembic(project, own_config)),
            on_empty(project, timed_alembic(project, config)),
            on_empty(project, again_at_head(project, own_config)),
            on_empty(project, again_at_head(project, config)),
            on_empty(project, timed_sql(project, schema)),
        )
        for _ in range(repeats)
    ]


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
    own_config = ""
    for count in COUNTS:
        with history(count) as alembic_ini:
            config = in_backend(project, alembic_ini, f"history-{count}")
            fresh[count] = fresh_database(project, config, repeats)
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
                own_config = config
                rows.append(template_row(f"{OWN} revisions", template_build(project, alembic_ini)))
            if count in SQUASHED:
                rows += squashed_rows(project, alembic_ini, count, repeats, own_config)
    return rows


def squashed_rows(
    project: BenchProject, alembic_ini: Path, count: int, repeats: int, own_config: str
) -> list[Row]:
    """The history of `count` revisions squashed up to its last: the squash, a fresh database
    from the checkpoint against the project's own revisions in the same rounds, where its time
    goes, then a template build from it."""
    started = time.perf_counter()
    squash(alembic_ini, count)
    squash_s = time.perf_counter() - started
    config = in_backend(project, alembic_ini, f"history-squashed-{count}")
    measured = rounds(project, own_config, config, checkpoint_schema(alembic_ini, count), repeats)
    # The ratio moves with the machine's load, even in back-to-back rounds: the row says what
    # the load was.
    load = os.getloadavg()[0]

    def median(field: str) -> float:
        return float(statistics.median(getattr(each, field) for each in measured))

    own = f"{OWN} revisions, same rounds: {seconds(median('own'))}"
    return [
        Row(
            f"fresh database after `make squash upto={count}` (median of {repeats} rounds, "
            f"load average {load:.1f})",
            seconds(median("squashed")),
            target_verdict(median("ratio"), median("postgres_ratio"))
            if count == SQUASHED[0]
            else "",
            own,
            f"{median('ratio'):.2f}×",
        ),
        Row(
            "… the same run at head: `compose exec`, Python, Alembic, the migrator's checks",
            seconds(median("squashed_at_head")),
            "",
            f"{OWN} revisions: {seconds(median('own_at_head'))}",
            times(median("squashed_at_head"), median("own_at_head")),
        ),
        Row(
            "… PostgreSQL alone: the checkpoint's SQL, one round trip, from the host",
            seconds(median("postgres")),
            "",
            own,
            f"{median('postgres_ratio'):.2f}×",
        ),
        Row(f"… `make squash upto={count}` itself (its proof included)", seconds(squash_s)),
        template_row(f"from the checkpoint of {count}", template_build(project, alembic_ini)),
    ]


def target_verdict(ratio: float, postgres_ratio: float) -> str:
    """Met or missed, on the median of the rounds' ratios. A checkpoint's run is the
    baseline's fixed costs plus PostgreSQL's DDL, so when that DDL alone is over what the
    target leaves above the baseline, the target is out of reach, and the verdict says so even
    where a loaded machine's wall clock met it (the baseline's many short steps wait for a CPU
    more than one long statement does)."""
    met = ratio <= TARGET
    target = verdict(f"≤ {TARGET}× the {OWN}-revision time", met)
    if postgres_ratio > TARGET - 1:
        target += (
            f"{' at this load, but' if met else ': out of reach,'} PostgreSQL's DDL alone is "
            f"{postgres_ratio:.2f}× the baseline, over the {TARGET - 1:.1f}× the target leaves"
        )
    return target


def template_row(what: str, elapsed: float) -> Row:
    return Row(f"migrated template build (`make reset`, the tests), {what}", seconds(elapsed))


def _run(command: tuple[str, ...], cwd: Path) -> None:
    # Our own commands (git, this Python), no shell.
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stderr}")
