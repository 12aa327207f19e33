"""Benchmark of a branch switch: the plain `docker compose up` that swaps the checked-out
branch's parked copy in (db/branch_switch), against a no-op `up` of the same stack.

    uv run python bench/branch_bench.py [--switches 5]

Run by `make bench` after stack_bench.py, it prints rows of the same table. It copies the
repository into a git repository of its own (main, and a branch `feature` with one more
revision), runs it as a Compose project of its own, switches back and forth, and removes
everything at the end. Not a test: it reports, and asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from stack_bench import REPO_DIR, REVISION, BenchProject, bench_project, seconds
from table import row, times, verdict

# What a fresh clone holds that the stack needs (as tests/e2e/compose_project.py copies it).
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".env", "backups"
)
IDENTITY = ("-c", "user.name=Bench", "-c", "user.email=bench@example.com")


def git(project: BenchProject, *args: str) -> None:
    project.timed("git", *IDENTITY, *args)


def feature_branch(project: BenchProject) -> None:
    """main as copied, and `feature` with one more revision (a table with an index)."""
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "the project")
    git(project, "checkout", "-qb", "feature")
    versions = project.directory / "backend" / "migrations" / "versions"
    number = 1 + max(int(path.name[:3]) for path in versions.glob("[0-9][0-9][0-9]_*.py"))
    revision, down = f"{number:03d}", f"{number - 1:03d}"
    (versions / f"{revision}_bench_{number}.py").write_text(
        REVISION.format(number=number, revision=revision, down_revision=down)
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a feature's revision")


def switch_seconds(project: BenchProject, branch: str) -> tuple[float, float]:
    """Seconds of `up --wait` after checking out `branch`, and of the migrator's own run."""
    git(project, "checkout", "-q", branch)
    return project.compose("up", "--wait"), project.last_run_seconds("migrator")


def swapped_switch_seconds(project: BenchProject, branch: str) -> tuple[float, float]:
    """switch_seconds of a switch that must swap `branch`'s parked copy in: a row of anything
    else (a failed swap, a rollback instead) would time the wrong thing."""
    before = swaps(project, branch)
    measured = switch_seconds(project, branch)
    if swaps(project, branch) != before + 1:
        raise SystemExit(f"bench: checking out {branch!r} did not swap its parked copy in")
    return measured


def swaps(project: BenchProject, branch: str) -> int:
    """How often the migrator has said it serves `branch`'s parked copy (its log so far)."""
    logs = subprocess.run(  # noqa: S603 -- our own command, no shell
        ["docker", "logs", f"{project.name}-migrator-1"],  # noqa: S607 -- docker from PATH
        capture_output=True,
        text=True,
        check=True,
    )
    return (logs.stdout + logs.stderr).count(f"serving the parked copy of branch {branch!r}")


def no_op_seconds(project: BenchProject) -> tuple[float, float]:
    return project.compose("up", "--wait"), project.last_run_seconds("migrator")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--switches", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chat-bench-branches-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(REPO_DIR, copy, ignore=COPY_IGNORE)
        with bench_project(copy) as project:
            feature_branch(project)
            project.compose("build")
            project.compose("up", "--wait")  # feature's data
            switch_seconds(project, "main")  # parked, then rolled back: no copy of main yet
            samples = [
                swapped_switch_seconds(project, branch)
                for _ in range(options.switches)
                for branch in ("feature", "main")
            ]
            no_ops = [no_op_seconds(project) for _ in range(3)]
    switch, no_op = (statistics.median(up for up, _ in runs) for runs in (samples, no_ops))
    switch_migrator, no_op_migrator = (
        statistics.median(migrator for _, migrator in runs) for runs in (samples, no_ops)
    )
    print(
        row(
            f"switching `docker compose up`: a parked copy swapped in (median of {len(samples)})",
            seconds(switch),
            verdict("≤ 1.3× a no-op up", switch / no_op <= 1.3),
            f"no-op `docker compose up --wait`: {seconds(no_op)}",
            times(switch, no_op),
        )
    )
    print(
        row(
            "… the migrator's own run on the switch (Docker's clock)",
            seconds(switch_migrator),
            "",
            f"on a no-op up: {seconds(no_op_migrator)}",
            times(switch_migrator, no_op_migrator),
        )
    )


if __name__ == "__main__":
    main()
