"""`make renumber` on a real git repository: after two branches each added 004 and were merged,
this branch's revision follows the base's head, the local database is rolled back from what it
ran under the old number, and the next upgrade applies both revisions once."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, create_engine, select, text
from sqlalchemy.pool import NullPool

from chat_backend.db.revision_checksums import checksums, file_checksum
from chat_backend.db.revision_ids import declared_down_revision, declared_revision
from chat_backend.revisions.checks.numbering import check_numbering
from chat_backend.revisions.cli import main
from chat_backend.revisions.files import next_revision_id
from chat_backend.revisions.head_file import COMMENT, head_file
from chat_backend.revisions.layout import MigrationLayout
from tests.alembic_support import BACKEND_DIR
from tests.checks_support import add_revision, copy_project
from tests.reliability_support import COMMAND_TIMEOUT_S, command_env

AVATAR = (
    'op.add_column("users", sa.Column("avatar_url", sa.Text()))',
    'op.drop_column("users", "avatar_url")',
)
PHONE = (
    'op.add_column("users", sa.Column("phone", sa.Text()))',
    'op.drop_column("users", "phone")',
)

COLUMNS = (
    "SELECT count(*) FROM information_schema.columns WHERE column_name IN ('phone', 'avatar_url')"
)


@dataclass
class Repo:
    root: Path
    layout: MigrationLayout
    url: URL

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout

    def add(self, file_name: str, change: tuple[str, str]) -> None:
        add_revision(
            self.layout,
            file_name,
            revision="004",
            down_revision="003",
            upgrade=change[0],
            downgrade=change[1],
        )
        path = self.layout.versions_dir / file_name
        header = f'"""{file_name}\n\nRevision ID: 004\nRevises: 003\n"""'
        path.write_text(path.read_text().replace(f'"""{file_name}"""', header))
        self.git("add", "-A")
        self.git("commit", "-qm", f"add {file_name}")

    def renumber(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--config", str(self.layout.alembic_ini), "renumber", "--base", "main"])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    def scalar(self, query: str) -> object:
        engine = create_engine(self.url, poolclass=NullPool)
        with engine.connect() as connection:
            value = connection.scalar(text(query))
        engine.dispose()
        return value


@pytest.fixture
def merged(tmp_path: Path, empty_database_url: URL, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """main and feature each added 004; the database ran feature's; feature merged main."""
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "Test")
        monkeypatch.setenv(f"{variable}_EMAIL", "test@example.com")
    monkeypatch.setenv("DATABASE_URL", empty_database_url.render_as_string(hide_password=False))
    repo = Repo(tmp_path, copy_project(tmp_path), empty_database_url)
    repo.git("init", "-q", "-b", "main")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "the project")
    repo.git("checkout", "-qb", "feature")
    repo.add("004_add_avatar.py", AVATAR)
    command.upgrade(repo.layout.config(empty_database_url), "head")
    repo.git("checkout", "-q", "main")
    repo.add("004_add_phone.py", PHONE)
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-edit", "main")
    return repo


def test_renumber_moves_the_branch_after_the_base_and_brings_the_database_along(
    merged: Repo, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    code, output = merged.renumber(capsys)
    output += caplog.text

    assert code == 0, output
    versions = merged.layout.versions_dir
    assert not (versions / "004_add_avatar.py").exists()
    moved = versions / "005_add_avatar.py"
    assert (declared_revision(moved), declared_down_revision(moved.read_text())) == ("005", "004")
    assert "Revision ID: 005\nRevises: 004\n" in moved.read_text()
    assert check_numbering(versions) == []
    assert "renumber: 004_add_avatar.py -> 005_add_avatar.py (revision 005, after 004)" in output
    assert "Rolled back revision 004 (applied under the number it is leaving)" in output
    assert "make restore name=renumber-" in output
    assert merged.scalar("SELECT version_num FROM alembic_version") == "003"
    staged = merged.git("diff", "--cached", "--name-only")
    assert "005_add_avatar.py" in staged
    assert "db/schema.sql" in staged
    assert merged.layout.schema_sql.read_text().startswith("-- The schema at revision 005,")

    command.upgrade(merged.layout.config(merged.url), "head")

    assert merged.scalar(COLUMNS) == 2
    engine = create_engine(merged.url, poolclass=NullPool)
    with engine.connect() as connection:
        recorded = dict(connection.execute(select(checksums.c.revision, checksums.c.sha256)).all())
    engine.dispose()
    assert recorded["004"] == file_checksum(versions / "004_add_phone.py")
    assert recorded["005"] == file_checksum(moved)


def test_a_second_run_has_nothing_to_renumber(
    merged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    merged.renumber(capsys)
    code, output = merged.renumber(capsys)
    assert code == 0
    assert output.strip() == (
        "renumber: nothing to renumber: the revisions this branch added since it left 'main' "
        "(if any) already follow its head"
    )


def test_uncommitted_revision_files_are_refused_in_one_line(
    merged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    add_revision(merged.layout, "005_wip.py", revision="005", down_revision="004")
    with pytest.raises(SystemExit) as exited:
        merged.renumber(capsys)
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "error: revision files have uncommitted changes (backend/migrations/versions/005_wip.py): "
        "commit or stash them, then run `make renumber` again"
    )
    assert (merged.layout.versions_dir / "004_add_avatar.py").exists()


@pytest.fixture
def conflicted(tmp_path: Path, empty_database_url: URL, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """main and feature each added a revision with `make revision`; feature is merging main."""
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "Test")
        monkeypatch.setenv(f"{variable}_EMAIL", "test@example.com")
    repo = Repo(tmp_path, copy_project(tmp_path), empty_database_url)
    repo.git("init", "-q", "-b", "main")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "the project")
    for branch, message in (("feature", "add avatar"), ("main", "add phone")):
        repo.git("checkout", "-q", *(["-b"] if branch == "feature" else []), branch)
        main(["--config", str(repo.layout.alembic_ini), "revision", "--message", message])
        repo.git("add", "-A")
        repo.git("commit", "-qm", message)
    repo.git("checkout", "-q", "feature")
    return repo


def make(repo: Repo, target: str, server_url: URL) -> subprocess.CompletedProcess[str]:
    """A target of the real Makefile, on the test's repository (ALEMBIC_CONFIG), with the
    throwaway databases of `make check` on the tests' server."""
    env = command_env(
        repo.url,
        ALEMBIC_CONFIG=str(repo.layout.alembic_ini),
        TEST_DATABASE_URL=server_url.render_as_string(hide_password=False),
    )
    return subprocess.run(
        ["make", target, "BASE=main"],
        cwd=BACKEND_DIR.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def test_two_branches_that_add_a_revision_conflict_in_git_and_renumber_resolves_it(
    conflicted: Repo, server_url: URL
) -> None:
    number = int(next_revision_id(conflicted.layout.versions_dir))
    ours, theirs, after = (f"{n:03d}" for n in (number - 1, number - 1, number))

    merging = subprocess.run(
        ["git", "merge", "--no-edit", "main"],
        cwd=conflicted.root,
        capture_output=True,
        text=True,
        check=False,
    )

    assert merging.returncode == 1
    assert "CONFLICT (content): Merge conflict in backend/migrations/versions/HEAD" in (
        merging.stdout
    )
    assert conflicted.git("diff", "--name-only", "--diff-filter=U").split() == [
        "backend/migrations/versions/HEAD"
    ]

    renumbered = make(conflicted, "renumber", server_url)

    assert renumbered.returncode == 0, renumbered.stderr
    assert (
        f"renumber: {ours}_add_avatar.py -> {after}_add_avatar.py "
        f"(revision {after}, after {theirs})"
    ) in renumbered.stdout
    assert f"renumber: rewrote versions/HEAD (it names {after}_add_avatar.py)" in (
        renumbered.stdout
    )
    assert conflicted.git("diff", "--name-only", "--diff-filter=U") == ""
    assert head_file(conflicted.layout.versions_dir).read_text() == (
        f"{COMMENT}{after}_add_avatar.py\n"
    )
    conflicted.git("commit", "-q", "--no-edit")

    checked = make(conflicted, "check", server_url)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok    versions/HEAD names the head" in checked.stdout
    assert checked.stdout.endswith("make check: all passed\n")
