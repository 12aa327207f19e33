"""Applying a revision stores its file's checksum, downgrading removes it, and migrating
warns about an applied revision whose file was edited since."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, event, select, text

from chat_backend.db.revision_checksums import checksums, edited_revisions, file_checksum
from tests.alembic_support import NEXT, revision_after
from tests.checks_support import REAL, add_revision, copy_project


def recorded(url: URL) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(checksums.c.revision, checksums.c.sha256)).all()
    engine.dispose()
    return dict(rows)


def test_each_applied_revision_has_its_file_checksum(database_url: URL) -> None:
    assert recorded(database_url) == {
        revision.revision: file_checksum(revision.path)
        for revision in REAL.script().walk_revisions()
    }


def test_downgrade_removes_the_checksum(database_url: URL) -> None:
    command.downgrade(REAL.config(database_url), "002")
    assert set(recorded(database_url)) == {"001", "002"}


def test_an_edit_after_apply_is_found_and_migrate_warns(
    tmp_path: Path, empty_database_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = copy_project(tmp_path)
    config = layout.config(empty_database_url)
    command.upgrade(config, "head")
    with (layout.versions_dir / "002_create_ai_chats.py").open("a") as revision:
        revision.write("# edited after it was applied\n")
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        [edited] = edited_revisions(connection, layout.script())
    engine.dispose()
    assert edited.revision == "002"
    assert str(edited).startswith("revision 002 (002_create_ai_chats.py): edited-after-apply: ")

    capsys.readouterr()
    command.upgrade(config, "head")
    assert str(edited) in capsys.readouterr().err


def test_a_database_without_checksums_has_nothing_to_compare(empty_database_url: URL) -> None:
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        assert edited_revisions(connection, REAL.script()) == []
    engine.dispose()


def test_only_revisions_still_applied_are_compared(tmp_path: Path, empty_database_url: URL) -> None:
    layout = copy_project(tmp_path)
    config = layout.config(empty_database_url)
    command.upgrade(config, "head")
    command.stamp(config, "001")
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:  # a row an older runtime left behind on a stamp
        connection.execute(checksums.insert().values(revision="002", sha256="0" * 64))
    with (layout.versions_dir / "002_create_ai_chats.py").open("a") as revision:
        revision.write("# edited while not applied\n")
    with engine.connect() as connection:
        assert edited_revisions(connection, layout.script()) == []
    engine.dispose()


def test_stamping_down_removes_the_checksums_above_the_new_revision(database_url: URL) -> None:
    command.stamp(REAL.config(database_url), "001")

    assert set(recorded(database_url)) == {"001"}


def test_offline_sql_sets_the_timeouts_and_records_the_checksums(
    empty_database_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    """`alembic upgrade head --sql` (make sql), applied by hand, leaves the same bookkeeping
    as running the migrations online."""
    command.upgrade(REAL.config(), "head", sql=True)
    sql = capsys.readouterr().out
    assert "SET lock_timeout = '5000ms';" in sql
    assert "SET statement_timeout = '600000ms';" in sql

    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(sql.replace("%", "%%"))
    engine.dispose()

    assert recorded(empty_database_url) == {
        revision.revision: file_checksum(revision.path)
        for revision in REAL.script().walk_revisions()
    }


def test_each_applied_revision_has_its_source(database_url: URL) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = dict(connection.execute(select(checksums.c.revision, checksums.c.source)).all())
    engine.dispose()
    assert stored == {
        revision.revision: Path(revision.path).read_text(encoding="utf-8")
        for revision in REAL.script().walk_revisions()
    }


def test_a_table_from_before_sources_gets_the_column(empty_database_url: URL) -> None:
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE alembic_version_checksums (revision VARCHAR(32) PRIMARY KEY, "
                "sha256 CHAR(64) NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
        )
    command.upgrade(REAL.config(empty_database_url), "head")
    with engine.connect() as connection:
        sources = connection.scalars(select(checksums.c.source)).all()
    engine.dispose()
    assert len(sources) == len(list(REAL.script().walk_revisions()))
    assert all(sources)


def statements_sent(config: Config, upgrade_to: str) -> int:
    """How many statements `alembic upgrade upgrade_to` sends to the database."""
    sent: list[str] = []

    def count(*args: object) -> None:
        sent.append(str(args[2]))

    engine: Engine = config.attributes["connection"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        command.upgrade(config, upgrade_to)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def test_bookkeeping_is_one_statement_per_revision(tmp_path: Path, database_url: URL) -> None:
    layout = copy_project(tmp_path)
    first = int(NEXT)
    for number in range(first, first + 6):
        add_revision(
            layout,
            f"{number:03d}_n.py",
            revision=f"{number:03d}",
            down_revision=f"{number - 1:03d}",
        )
    config = layout.config(database_url)
    one = statements_sent(config, NEXT)
    last = revision_after(NEXT, 5)
    five = statements_sent(config, last)
    # Per revision: Alembic's version row and the checksum row; the rest is per run.
    assert five - one == 2 * 4
    assert set(recorded(database_url)) >= {NEXT, last}
