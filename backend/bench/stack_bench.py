"""Benchmark of the waits a developer meets: starting the stack, `make reset`, `make current`
and `make history`, cloning the migrated template, and `alembic upgrade head` against
`psql -f` of the same SQL.

    uv run python bench/stack_bench.py [--resets 7] [--wipes 2] [--clones 30]
                                       [--revisions 10 100 300] [--repeats 3]

Not a test: the figures depend on the machine, so it reports them beside their targets and
asserts nothing. Each figure is set against a baseline measured in the same run (table.py):
the floor of what it does (`up` of the same graph made of no-op containers, a bare
`compose exec`) or what it replaces (`down -v && up` for a reset, `psql -f` for Alembic).
It runs the repository as a Compose project of its own, on free ports (a developer's stack is
never touched), and removes it, volume and image included, at the end. Alembic runs in the
backend container, as the migrator runs it; psql in the db one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from table import header, row, times, verdict

from chat_backend.local_db.cluster import Cluster
from chat_backend.local_db.target import Target
from chat_backend.local_db.templates import current_template
from chat_backend.revisions.throwaway_postgres import free_port

BACKEND_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = BACKEND_DIR.parent
# compose.yaml's defaults, which the bench project runs with.
USER, PASSWORD, DATABASE = "chat", "chat-dev-password", "chat"
# Fresh migrator processes whose phantom check is timed.
PHANTOM_CHECK_RUNS = 10
# A generated revision: a table with an index, like a typical feature's first migration.
REVISION = '''"""bench {number}"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bench_{number}",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_index("ix_bench_{number}_name", "bench_{number}", ["name"])


def downgrade() -> None:
    op.drop_table("bench_{number}")
'''


@dataclass
class Row:
    figure: str
    measured: str
    target: str = ""
    baseline: str = ""
    ratio: str = ""

    def line(self) -> str:
        return row(self.figure, self.measured, self.target, self.baseline, self.ratio)


@dataclass
class BenchProject:
    """The repository run as a Compose project of its own."""

    name: str = field(default_factory=lambda: f"chat-bench-{uuid.uuid4().hex[:8]}")
    postgres_port: int = field(default_factory=free_port)
    backend_port: int = field(default_factory=free_port)
    # The repository, or a copy of it (branch_bench.py makes one a git repository of its own).
    directory: Path = REPO_DIR

    @property
    def image(self) -> str:
        """The backend image it builds, removed at the end (the build cache stays)."""
        return f"chat-backend:{self.name}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "COMPOSE_PROJECT_NAME": self.name,
            "POSTGRES_PORT": str(self.postgres_port),
            "BACKEND_PORT": str(self.backend_port),
            "BACKEND_IMAGE": self.image,
            "FORCE": "1",  # `make reset` without the question
        }

    @property
    def target(self) -> Target:
        return Target("development", "127.0.0.1", self.postgres_port, USER, PASSWORD, DATABASE)

    def timed(self, *command: str, stdin: str = "") -> float:
        """Seconds `command` took, run in the repository; exits with its stderr if it fails."""
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 -- our own commands, no shell
            command, cwd=self.directory, env=self.env, input=stdin, capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stderr}")
        return time.perf_counter() - started

    def compose(self, *args: str) -> float:
        return self.timed("docker", "compose", *args)

    def in_backend(self, *command: str, stdin: str = "", env: tuple[str, ...] = ()) -> str:
        """What `command` prints, run in the running backend container (the migrator's image);
        `env` holds NAME=VALUE settings for it."""
        settings = [arg for setting in env for arg in ("-e", setting)]
        return subprocess.run(  # noqa: S603 -- our own command, no shell
            ["docker", "compose", "exec", "-T", *settings, "backend", *command],  # noqa: S607
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def last_run_seconds(self, service: str) -> float:
        """How long the service's container ran last time, by Docker's clock."""
        inspect = ["docker", "inspect", "--format", "{{.State.StartedAt}} {{.State.FinishedAt}}"]
        container = f"{self.name}-{service}-1"
        started, finished = subprocess.run(  # noqa: S603 -- our own command, no shell
            [*inspect, container], capture_output=True, text=True, check=True
        ).stdout.split()
        return (_instant(finished) - _instant(started)).total_seconds()


def _instant(docker_time: str) -> datetime:
    # Docker gives nanoseconds; Python parses at most microseconds.
    seconds, _, fraction = docker_time.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{seconds}.{fraction[:6] or '0'}")


@contextmanager
def bench_project(directory: Path = REPO_DIR) -> Iterator[BenchProject]:
    project = BenchProject(directory=directory)
    try:
        yield project
    finally:
        project.compose("down", "--volumes", "--remove-orphans", "--timeout", "5")
        project.timed("docker", "image", "rm", "--force", project.image)


def repeat(times: int, action: Callable[[], float]) -> list[float]:
    return [action() for _ in range(times)]


def median_of(times: int, action: Callable[[], float]) -> float:
    return statistics.median(repeat(times, action))


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]


def seconds(value: float) -> str:
    return f"{value:.2f} s"


# The stack's graph with containers that do nothing: a healthy db, a one-shot migrator that
# waits for it, a healthy backend that waits for the migrator. Its no-op `up --wait` is the
# floor of ours: container starts and Compose's own waits (it polls health every 500 ms).
FLOOR_COMPOSE = """services:
  db:
    image: {image}
    command: ["sleep", "infinity"]
    init: true
    healthcheck: {{test: ["CMD", "true"], interval: 1s}}
  migrator:
    image: {image}
    command: ["true"]
    depends_on: {{db: {{condition: service_healthy}}}}
  backend:
    image: {image}
    command: ["sleep", "infinity"]
    init: true
    healthcheck: {{test: ["CMD", "true"], interval: 1s}}
    depends_on: {{migrator: {{condition: service_completed_successfully}}}}
"""


def up_floor(project: BenchProject, times_: int) -> float:
    """Median seconds of a no-op `docker compose up --wait` of the stack's graph made of
    containers that do nothing (FLOOR_COMPOSE)."""
    floor = ("docker", "compose", "--project-name", f"{project.name}-floor", "--file", "-")
    definition = FLOOR_COMPOSE.format(image=project.image)
    project.timed(*floor, "up", "--wait", stdin=definition)
    try:
        return median_of(times_, lambda: project.timed(*floor, "up", "--wait", stdin=definition))
    finally:
        project.timed(*floor, "down", "--timeout", "0", stdin=definition)


def exec_floor(project: BenchProject) -> float:
    """Median seconds of `docker compose exec` of a command that does nothing."""
    return median_of(5, lambda: project.compose("exec", "-T", "backend", "true"))


def stack_rows(project: BenchProject, resets: int, wipes: int) -> list[Row]:
    project.compose("build")
    cold = project.compose("up", "--wait")
    no_op = median_of(3, lambda: project.compose("up", "--wait"))
    migrator = project.last_run_seconds("migrator")
    floor = up_floor(project, 3)
    at_head = median_of(
        3, lambda: project.compose("exec", "-T", "backend", "alembic", "upgrade", "head")
    )
    exec_s = exec_floor(project)
    wipe = median_of(
        wipes, lambda: project.compose("down", "--volumes") + project.compose("up", "--wait")
    )
    project.timed("make", "reset")  # the first reset recreates the volume and builds the template
    samples = repeat(resets, lambda: project.timed("make", "reset"))
    fast = statistics.median(samples)
    in_stack = median_of(
        3,
        lambda: project.timed(
            "scripts/local-db.sh", "reset", "--require-template", "--init-sql", "-"
        ),
    )
    current = median_of(3, lambda: project.timed("make", "current"))
    history = median_of(3, lambda: project.timed("make", "history"))
    no_op_up = "the same graph of no-op containers"
    bare_exec = "`compose exec backend true`"
    return [
        Row("cold `docker compose up --wait` (new volume, built)", seconds(cold)),
        Row(
            "no-op `docker compose up --wait` (median of 3)",
            seconds(no_op),
            verdict("≤ 1.5 s", no_op <= 1.5),
            f"{no_op_up}: {seconds(floor)}",
            times(no_op, floor),
        ),
        Row("… the migrator's own run (Docker's clock)", seconds(migrator)),
        Row(
            "… `alembic upgrade head` at head, in the running backend",
            seconds(at_head),
            "",
            f"{bare_exec}: {seconds(exec_s)}",
            times(at_head, exec_s),
        ),
        Row(
            f"`make reset` fast path (median / p90 of {resets})",
            f"{fast:.2f} / {p90(samples):.2f} s",
            verdict("≤ 0.5 s", fast <= 0.5),
            f"`down -v` + `up --wait`: {seconds(wipe)}",
            times(fast, wipe),
        ),
        Row(
            "… `scripts/local-db.sh reset` without make",
            seconds(in_stack),
            "",
            f"{bare_exec}: {seconds(exec_s)}",
            times(in_stack, exec_s),
        ),
        Row(
            "`make current`, stack up (median of 3)",
            seconds(current),
            verdict("≤ 1 s", current <= 1),
            f"{bare_exec}: {seconds(exec_s)}",
            times(current, exec_s),
        ),
        Row(
            "`make history`, stack up (median of 3)",
            seconds(history),
            verdict("≤ 1 s", history <= 1),
            f"{bare_exec}: {seconds(exec_s)}",
            times(history, exec_s),
        ),
    ]


def clone_row(project: BenchProject, clones: int) -> Row:
    template = current_template(project.target, BACKEND_DIR / "alembic.ini")
    samples = []
    with Cluster.session(project.target) as cluster:
        for number in range(clones):
            started = time.perf_counter()
            cluster.clone(template, f"bench_clone_{number}")
            samples.append((time.perf_counter() - started) * 1000)
            cluster.drop(f"bench_clone_{number}")
    median = statistics.median(samples)
    return Row(
        f"template clone (median / p90 of {clones})",
        f"{median:.0f} / {p90(samples):.0f} ms",
        verdict("≤ 60 ms median", median <= 60),
    )


# In the backend container, as a fresh migrator process meets it: what a no-op run adds to
# find no phantom revisions (the bookkeeping table's check, a read of the version table), after
# the connection and Alembic's reading of the revision files, which every run does anyway.
PHANTOM_CHECK = """
import time
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from chat_backend.config import load_settings
from chat_backend.db.phantom_revisions import find_phantoms
from chat_backend.db.revision_checksums import ensure_table
script = ScriptDirectory.from_config(Config("alembic.ini"))
script.get_heads()
with create_engine(load_settings().url).connect() as connection:
    started = time.perf_counter()
    with connection.begin():
        ensure_table(connection)
        assert find_phantoms(connection, script) == []
    print((time.perf_counter() - started) * 1000)
"""


def phantom_check_row(project: BenchProject, runs: int) -> Row:
    samples = [float(project.in_backend("python", "-", stdin=PHANTOM_CHECK)) for _ in range(runs)]
    median = statistics.median(samples)
    return Row(
        f"no-op migrator run: the phantom check (median / max of {runs})",
        f"{median:.1f} / {max(samples):.1f} ms",
        verdict("< 50 ms median", median < 50),
    )


def migration_rows(project: BenchProject, counts: list[int], repeats: int) -> list[Row]:
    """Alembic against psql for each number of revisions, then where the difference comes
    from: a straight line through the timings gives each a fixed cost and a cost per
    revision."""
    timings = [migration_seconds(project, count, repeats) for count in counts]
    rows = [
        Row(
            f"`alembic upgrade head`, {count} revisions (median of {repeats})",
            seconds(alembic_s),
            verdict("≤ 1.6× psql", alembic_s / psql_s <= 1.6) if count == 100 else "",
            f"`psql -f` of its SQL: {seconds(psql_s)}",
            times(alembic_s, psql_s),
        )
        for count, (alembic_s, psql_s) in zip(counts, timings, strict=True)
    ]
    if len(counts) > 1:
        alembic_fit = statistics.linear_regression(counts, [t[0] for t in timings])
        psql_fit = statistics.linear_regression(counts, [t[1] for t in timings])
        rows += [
            Row(
                "… Alembic's fixed cost (a line through the timings)",
                seconds(alembic_fit.intercept),
                "",
                f"psql: {seconds(psql_fit.intercept)}",
                times(alembic_fit.intercept, psql_fit.intercept),
            ),
            Row(
                "… Alembic's cost per revision",
                f"{alembic_fit.slope * 1000:.1f} ms",
                "",
                f"psql: {psql_fit.slope * 1000:.1f} ms",
                times(alembic_fit.slope, psql_fit.slope),
            ),
        ]
    return rows


def migration_seconds(project: BenchProject, count: int, repeats: int) -> tuple[float, float]:
    """Median seconds of `alembic upgrade head` and of `psql -f` of its offline SQL, with
    `count` revisions added, each on a new empty database."""
    config = copy_into_backend(project, count)
    offline_sql = alembic(project, config, DATABASE, "--sql")
    return (
        median_of(repeats, lambda: on_empty(project, timed_alembic(project, config))),
        median_of(repeats, lambda: on_empty(project, timed_psql(project, offline_sql))),
    )


def copy_into_backend(project: BenchProject, count: int) -> str:
    """alembic.ini and migrations/ with `count` revisions added, copied into the backend
    container, where Alembic runs as the migrator runs it; the path of that alembic.ini."""
    inside = f"/tmp/bench-migrations-{count}"  # noqa: S108 -- in the bench's own container
    with tempfile.TemporaryDirectory(prefix="chat-bench-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # readable by the container's unprivileged user
        shutil.copy(BACKEND_DIR / "alembic.ini", workdir)
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(BACKEND_DIR / "migrations", workdir / "migrations", ignore=ignore)
        add_revisions(workdir / "migrations" / "versions", count)
        project.compose("cp", str(workdir), f"backend:{inside}")
    return f"{inside}/alembic.ini"


def add_revisions(versions: Path, count: int) -> None:
    first = 1 + max(int(path.name[:3]) for path in versions.glob("[0-9][0-9][0-9]_*.py"))
    for number in range(first, first + count):
        revision, down_revision = f"{number:03d}", f"{number - 1:03d}"
        (versions / f"{revision}_bench_{number}.py").write_text(
            REVISION.format(number=number, revision=revision, down_revision=down_revision)
        )


def on_empty(project: BenchProject, action: Callable[[str], float]) -> float:
    """`action` on a new empty database, dropped afterwards."""
    with Cluster.session(project.target) as cluster:
        cluster.create("bench_empty")
    try:
        return action("bench_empty")
    finally:
        with Cluster.session(project.target) as cluster:
            cluster.drop("bench_empty")


def alembic(project: BenchProject, config: str, database: str, *args: str) -> str:
    """`alembic upgrade head` in the backend container (the migrator's image) on `database`."""
    url = f"postgresql://{USER}:{PASSWORD}@db:5432/{database}"
    command = ("alembic", "-c", config, "upgrade", "head", *args)
    return project.in_backend(*command, env=(f"DATABASE_URL={url}",))


def timed_alembic(project: BenchProject, config: str) -> Callable[[str], float]:
    def run(database: str) -> float:
        started = time.perf_counter()
        alembic(project, config, database)
        return time.perf_counter() - started

    return run


def timed_psql(project: BenchProject, sql: str) -> Callable[[str], float]:
    def run(database: str) -> float:
        psql = ("psql", "-q", "-v", "ON_ERROR_STOP=1", "-U", USER, "-d", database, "-f", "-")
        return project.timed("docker", "compose", "exec", "-T", "db", *psql, stdin=sql)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resets", type=int, default=7)
    parser.add_argument("--wipes", type=int, default=2)
    parser.add_argument("--clones", type=int, default=30)
    parser.add_argument("--revisions", type=int, nargs="+", default=[10, 100, 300])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    with bench_project() as project:
        print(
            f"Compose project {project.name}, {os.cpu_count()} CPUs; this takes minutes ...",
            file=sys.stderr,
        )
        rows = stack_rows(project, options.resets, options.wipes)
        rows.append(clone_row(project, options.clones))
        rows.append(phantom_check_row(project, PHANTOM_CHECK_RUNS))
        rows += migration_rows(project, options.revisions, options.repeats)
    print(header())
    for measured in rows:
        print(measured.line())


if __name__ == "__main__":
    main()
