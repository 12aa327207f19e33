"""`make squash` on a copy of the project made a git repository, with ten generated revisions
after the project's head squashed up to 010, on the test server's databases (each given
db/init first, as a stack volume is): the checkpoint replaces the files, builds the same
schema with its grants, and every database that exists either carries on or is refused in
one line, unchanged."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL

from chat_backend.db import revision_status
from chat_backend.db.checkpoints import Checkpoint
from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target
from chat_backend.doctor.report import Level
from chat_backend.doctor.revisions import check_revisions
from chat_backend.revisions import rollback_guard
from chat_backend.revisions.checks.applied import check_applied
from chat_backend.revisions.checks.lint import check_lint
from chat_backend.revisions.cli import main
from chat_backend.revisions.head_file import recorded
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import BACKEND_DIR
from tests.checks_support import add_revision, copy_project
from tests.conftest import unique_name
from tests.reliability_support import SETTINGS
from tests.squash_support import (
    FIRST,
    VERSION,
    Migrated,
    add_revisions,
    commit_all,
    dump,
    git,
    git_identity,
    revision_id,
    scalar,
)

UPTO = "010"
# The last of the ten generated revisions, and two a test may add after them.
LAST = revision_id(FIRST + 9)
AFTER = revision_id(FIRST + 10)
LATER = revision_id(FIRST + 11)
BENCH_TABLES = "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'bench\\_%'"


@dataclass
class Project:
    root: Path
    layout: MigrationLayout
    new_database: Callable[[], URL]

    @property
    def versions(self) -> Path:
        return self.layout.versions_dir

    def squash(self, capsys: pytest.CaptureFixture[str], upto: str = UPTO) -> tuple[int, str]:
        capsys.readouterr()
        try:
            code = main(["--config", str(self.layout.alembic_ini), "squash", "--upto", upto])
        except SystemExit as exited:
            code = int(exited.code or 0)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    def migrated(self, revision: str) -> Migrated:
        return Migrated.at(self.layout, self.new_database(), revision)


@pytest.fixture
def project(
    tmp_path: Path, server: Target, server_url: URL, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    """The copy, committed, with ten revisions after its head; databases made on the test
    server, dropped after."""
    git_identity(monkeypatch)
    # The squash's throwaway databases: on the test server, not a server of their own.
    monkeypatch.setenv("TEST_DATABASE_URL", server_url.render_as_string(hide_password=False))
    layout = copy_project(tmp_path)
    shutil.copytree(BACKEND_DIR.parent / "db" / "init", tmp_path / "db" / "init")
    add_revisions(layout.versions_dir, 10)
    git(tmp_path, "init", "-q", "-b", "main")
    commit_all(tmp_path, "the project with 13 revisions")
    names: list[str] = []

    def new_database() -> URL:
        names.append(unique_name("squash"))
        with Cluster.session(server) as cluster:
            cluster.create(names[-1])
        return server_url.set(database=names[-1])

    yield Project(tmp_path, layout, new_database)
    with Cluster.session(server) as cluster:
        for name in names:
            cluster.drop(name)


def test_the_revisions_up_to_n_become_one_checkpoint_with_id_n_and_no_parent(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    schema_sql = project.layout.schema_sql.read_bytes()
    commit = git(project.root, "rev-parse", "HEAD").strip()
    code, output = project.squash(capsys)
    assert code == 0, output
    assert sorted(path.name for path in project.versions.glob("*.py")) == [
        "010_checkpoint.py",
        *(f"{revision_id(n)}_bench_{n}.py" for n in range(int(UPTO) + 1, int(LAST) + 1)),
    ]
    checkpoint = Checkpoint.read(project.versions / "010_checkpoint.py")
    assert checkpoint is not None
    assert checkpoint.replaces == tuple(f"{n:03d}" for n in range(1, 11))
    assert checkpoint.commit == commit
    script = project.layout.script().get_revision(UPTO)
    assert script is not None
    assert script.down_revision is None
    # git keeps the replaced files, in the commit the checkpoint's docstring names.
    assert (
        f"git show {commit}:backend/migrations/versions/" in script.doc
        or commit in (project.versions / "010_checkpoint.py").read_text()
    )
    assert "001_create_users.py" in git(project.root, "ls-tree", "--name-only", "-r", commit)
    staged = git(project.root, "status", "--porcelain")
    assert "D  backend/migrations/versions/001_create_users.py" in staged
    assert "A  backend/migrations/versions/010_checkpoint.py" in staged
    assert project.layout.schema_sql.read_bytes() == schema_sql
    assert "make check" in output


def test_a_fresh_database_from_the_checkpoint_dumps_as_one_that_ran_the_revisions(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    ran_them = project.migrated("head")
    code, output = project.squash(capsys)
    assert code == 0, output
    fresh = project.migrated("head")
    assert dump(fresh.url) == dump(ran_them.url)
    # The read-only role of db/init reads the checkpoint's tables as it read the revisions'.
    assert f"GRANT SELECT ON TABLE public.bench_{FIRST} TO chat_readonly;" in dump(fresh.url)
    assert scalar(fresh.url, VERSION) == LAST


def test_a_database_at_the_checkpoint_carries_on_and_its_revision_is_not_edited(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    at_upto = project.migrated(UPTO)
    assert project.squash(capsys)[0] == 0
    assert check_applied(project.layout, at_upto.url) == []
    command.upgrade(project.layout.config(at_upto.url), "head")
    assert scalar(at_upto.url, VERSION) == LAST
    assert check_applied(project.layout, at_upto.url) == []


def test_a_database_below_the_checkpoint_is_refused_in_one_line_and_left_alone(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    below = project.migrated("007")
    before = dump(below.url)
    assert project.squash(capsys)[0] == 0
    commit = git(project.root, "rev-parse", "HEAD").strip()
    with pytest.raises(SystemExit) as exited:
        command.upgrade(project.layout.config(below.url), "head")
    assert exited.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the database is at 007, before checkpoint 010 (revisions 001 to 010 were "
        "squashed into it, 010_checkpoint.py), so nothing was changed: run "
        f"`git checkout {commit[:12]} && make migrate` first, then come back to this "
        "checkout, or `make reset`"
    ]
    assert scalar(below.url, VERSION) == "007"
    assert dump(below.url) == before


def test_a_revision_building_on_a_squashed_one_fails_make_check_naming_renumber(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.squash(capsys)[0] == 0
    add_revision(project.layout, f"{AFTER}_on_old.py", revision=AFTER, down_revision="007")
    assert main(["--config", str(project.layout.alembic_ini), "check"]) == 1
    captured = capsys.readouterr()
    assert "FAIL  no revision builds on a squashed one" in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: revision {AFTER} ({AFTER}_on_old.py): builds-on-squashed-revision: its "
        "down_revision "
        "007 was squashed into checkpoint 010 (010_checkpoint.py), so its file is gone; run "
        "`make renumber BASE=main` (after merging main) to move this branch's revisions after "
        "the checkpoint"
    ]


# What `make check` says of a revision that builds on 007 after the squash up to 010; every
# other command that reads the history says the same line instead of Alembic's KeyError.
ON_SQUASHED = (
    f"revision {AFTER} ({AFTER}_on_old.py): builds-on-squashed-revision: its down_revision "
    "007 was squashed into checkpoint 010 (010_checkpoint.py), so its file is gone; run "
    "`make renumber BASE=main` (after merging main) to move this branch's revisions after "
    "the checkpoint"
)


@pytest.fixture
def on_squashed(project: Project, capsys: pytest.CaptureFixture[str]) -> Migrated:
    """A database at the last revision; then the squash, and a branch's revision that still
    builds on 007."""
    at_last = project.migrated("head")
    assert project.squash(capsys)[0] == 0
    add_revision(project.layout, f"{AFTER}_on_old.py", revision=AFTER, down_revision="007")
    return at_last


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize("offline", [False, True], ids=["make migrate", "make sql"])
def test_the_migrator_refuses_a_revision_building_on_a_squashed_one_in_one_line(
    project: Project, on_squashed: Migrated, capsys: pytest.CaptureFixture[str], offline: bool
) -> None:
    before = dump(on_squashed.url)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        command.upgrade(project.layout.config(on_squashed.url), "head", sql=offline)
    assert exited.value.code == 1
    assert error_lines(capsys) == [f"error: {ON_SQUASHED}"]
    assert scalar(on_squashed.url, VERSION) == LAST
    assert dump(on_squashed.url) == before


@pytest.mark.parametrize("which", ["current", "history"])
def test_make_current_and_history_refuse_a_revision_building_on_a_squashed_one(
    project: Project,
    on_squashed: Migrated,
    capsys: pytest.CaptureFixture[str],
    guard_env: Callable[[URL], None],
    monkeypatch: pytest.MonkeyPatch,
    which: str,
) -> None:
    guard_env(on_squashed.url)
    monkeypatch.setenv("ALEMBIC_CONFIG", str(project.layout.alembic_ini))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        revision_status.main([which])
    assert exited.value.code == 1
    assert error_lines(capsys) == [f"error: {ON_SQUASHED}"]


def test_make_rollback_refuses_a_revision_building_on_a_squashed_one(
    project: Project,
    on_squashed: Migrated,
    capsys: pytest.CaptureFixture[str],
    guard_env: Callable[[URL], None],
) -> None:
    guard_env(on_squashed.url)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        rollback_guard.main(["--steps", "1", "--config", str(project.layout.alembic_ini)])
    assert exited.value.code == 1
    assert error_lines(capsys) == [f"error: {ON_SQUASHED}"]
    assert scalar(on_squashed.url, VERSION) == LAST


@pytest.mark.parametrize("which", ["plan", "applied"])
def test_make_plan_and_applied_refuse_a_revision_building_on_a_squashed_one(
    project: Project,
    on_squashed: Migrated,
    capsys: pytest.CaptureFixture[str],
    guard_env: Callable[[URL], None],
    which: str,
) -> None:
    guard_env(on_squashed.url)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(project.layout.alembic_ini), which])
    assert exited.value.code != 0
    assert error_lines(capsys) == [f"error: {ON_SQUASHED}"]
    assert scalar(on_squashed.url, VERSION) == LAST


def test_a_downgrade_below_the_checkpoint_is_refused_in_one_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.squash(capsys)[0] == 0
    fresh = project.migrated(UPTO)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        command.downgrade(project.layout.config(fresh.url), "base")
    assert exited.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "revision 010 is a checkpoint" in errors[0]
    assert "`make rollback FORCE=1`" in errors[0]
    assert scalar(fresh.url, VERSION) == UPTO
    assert scalar(fresh.url, BENCH_TABLES) == int(UPTO) - FIRST + 1


@pytest.fixture
def guard_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[URL], None]:
    """The rollback guard's settings from the environment only, for one database."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def point_at(url: URL) -> None:
        monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))

    return point_at


def test_make_rollback_refuses_to_go_below_the_checkpoint_unless_forced_then_drops_all(
    project: Project, capsys: pytest.CaptureFixture[str], guard_env: Callable[[URL], None]
) -> None:
    assert project.squash(capsys)[0] == 0
    fresh = project.migrated("011")
    guard_env(fresh.url)
    config = ["--config", str(project.layout.alembic_ini)]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        rollback_guard.main(["--steps", "2", *config])
    assert exited.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert re.search(
        r"STEPS=2 goes below checkpoint 010 .*make rollback STEPS=2 FORCE=1", errors[0]
    )
    assert scalar(fresh.url, VERSION) == "011"

    assert rollback_guard.main(["--steps", "2", "--force", *config]) == 0
    assert scalar(fresh.url, VERSION) is None
    assert scalar(fresh.url, BENCH_TABLES) == 0
    assert scalar(fresh.url, "SELECT to_regclass('public.users') IS NULL") is True


def test_a_checkpoint_that_would_differ_is_refused_and_nothing_is_written(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    # Taken from the read-only role after db/init's default privileges granted it: a dump
    # cannot say so, and a checkpoint's CREATE TABLE would grant it again. The proof sees it.
    project.migrated("base")  # db/init once: the role exists on the server, as on the stack's
    add_revision(
        project.layout,
        f"{AFTER}_hide_bench_{FIRST}.py",
        revision=AFTER,
        down_revision=LAST,
        # A revision's source text, naming one of the generated tables.
        upgrade=f'op.execute("REVOKE SELECT ON bench_{FIRST} FROM chat_readonly")',  # noqa: S608
        downgrade=f'op.execute("GRANT SELECT ON bench_{FIRST} TO chat_readonly")',
    )
    commit_all(project.root, f"hide bench_{FIRST}")
    code, output = project.squash(capsys, AFTER)
    assert code == 2
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert (
        f"a database built from the checkpoint would differ from one migrated to {AFTER}"
        in errors[0]
    )
    assert f"GRANT SELECT ON TABLE public.bench_{FIRST} TO chat_readonly" in errors[0]
    assert git(project.root, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("upto", "change", "message"),
    [
        ("999", None, "upto: there is no revision '999' to squash up to"),
        (
            UPTO,
            "011_bench_11.py",
            "revision files have uncommitted changes (backend/migrations/versions/011_bench_11.py)",
        ),
    ],
)
def test_a_squash_that_cannot_go_ahead_says_why_in_one_line_and_changes_nothing(
    project: Project,
    capsys: pytest.CaptureFixture[str],
    upto: str,
    change: str | None,
    message: str,
) -> None:
    if change is not None:
        path = project.versions / change
        path.write_text(path.read_text() + "\n# edited\n")
    before = git(project.root, "status", "--porcelain")
    code, output = project.squash(capsys, upto)
    assert code == 2
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert message in errors[0]
    assert git(project.root, "status", "--porcelain") == before


def test_make_current_names_the_checkpoint_for_a_database_below_it(
    project: Project,
    capsys: pytest.CaptureFixture[str],
    guard_env: Callable[[URL], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    below = project.migrated("007")
    assert project.squash(capsys)[0] == 0
    guard_env(below.url)
    monkeypatch.setenv("ALEMBIC_CONFIG", str(project.layout.alembic_ini))
    assert revision_status.main(["current"]) == 1
    assert capsys.readouterr().out.startswith(
        "the database is at 007, before checkpoint 010 (revisions 001 to 010 were squashed"
    )


def test_the_head_file_follows_the_replaced_head_s_file_to_the_checkpoint(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert recorded(project.versions) == [f"{LAST}_bench_{int(LAST)}.py"]
    assert project.squash(capsys, LAST)[0] == 0
    assert recorded(project.versions) == [f"{LAST}_checkpoint.py"]
    assert "M  backend/migrations/versions/HEAD" in git(project.root, "status", "--porcelain")


def test_squawk_does_not_judge_the_checkpoint_s_create_tables(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    # A finding accepted in its day (squawk-baseline.txt) comes back in the checkpoint's
    # CREATE TABLE, under the checkpoint's id, unless the checkpoint is not linted.
    add_revision(
        project.layout,
        f"{AFTER}_add_seen_at.py",
        revision=AFTER,
        down_revision=LAST,
        upgrade='op.create_table("seen", sa.Column("at", sa.DateTime()))',
        downgrade='op.drop_table("seen")',
    )
    baseline = project.layout.squawk_baseline
    baseline.write_text(baseline.read_text() + f"{AFTER} prefer-timestamp-tz\n")
    add_revision(project.layout, f"{LATER}_later.py", revision=LATER, down_revision=AFTER)
    commit_all(project.root, "a timestamp without time zone, accepted")
    assert check_lint(project.layout) == []
    assert project.squash(capsys, LATER)[0] == 0
    assert "CREATE TABLE public.seen" in (project.versions / f"{LATER}_checkpoint.py").read_text()
    assert check_lint(project.layout) == []


def test_make_doctor_fails_a_database_below_the_checkpoint_with_the_fix(
    project: Project, capsys: pytest.CaptureFixture[str], guard_env: Callable[[URL], None]
) -> None:
    below = project.migrated("007")
    assert project.squash(capsys)[0] == 0
    guard_env(below.url)
    _, database = check_revisions(project.root)
    assert database.level is Level.FAIL
    assert database.message.startswith(
        "local database is behind this checkout's checkpoint: the database is at 007, before "
        "checkpoint 010"
    )
    assert database.message.endswith("or `make reset`")
