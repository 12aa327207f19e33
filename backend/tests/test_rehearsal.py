"""`make rehearse`'s command on a real PostgreSQL: a dump with 300,000 users and three pending
revisions, the cached template, bad dumps, the guard and the statement timeout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import URL

from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target
from tests.alembic_support import HEAD, LAST, LATER, NEXT
from tests.local_db_support import fingerprint, own_database, query
from tests.rehearsal_support import (
    PENDING,
    USERS,
    make_dump,
    migrations_with,
    rehearse,
    rehearse_on_a_terminal,
)


@pytest.fixture(scope="module")
def users_dump(
    server: Target, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A dump at head whose users table holds 300,000 rows."""
    return make_dump(
        server, migrated_template, tmp_path_factory.mktemp("dump") / "prod.dump", USERS
    )


@pytest.fixture(scope="module")
def small_dump(
    server: Target, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A dump at head with a thousand users: for what does not need many."""
    path = tmp_path_factory.mktemp("dump") / "small.dump"
    return make_dump(server, migrated_template, path, 1000)


@pytest.fixture
def local(server: Target, migrated_template: str) -> Iterator[Target]:
    """The development database: at head, with one user of its own."""
    with own_database(server) as local:
        with Cluster.session(server) as cluster:
            cluster.clone(migrated_template, local.database)
        query(local, "INSERT INTO users (username) VALUES ('mine')")
        yield local


def leftovers(server: Target, local: Target) -> list[str]:
    with Cluster.session(server) as cluster:
        return cluster.names(f"{local.database}_")


def test_three_pending_revisions_on_300k_users(
    server: Target, local: Target, users_dump: Path, tmp_path: Path
) -> None:
    before = fingerprint(local)
    alembic_ini = migrations_with(tmp_path / "migrations")

    first = rehearse(local, alembic_ini, users_dump, "--format", "json")

    assert first.status == 1, first.stderr
    add_column, bigint, backfill = first.json()
    assert [r["revision"] for r in (add_column, bigint, backfill)] == [NEXT, LATER, LAST]
    # NOT NULL with a default: PostgreSQL stores the default, no rewrite.
    assert add_column["rewritten"] == []
    assert add_column["rows"] == {}
    assert "refused: drops column users.login_count (300000 non-null values)" in str(
        add_column["downgrade"]
    )
    # int to bigint: every row rewritten under an ACCESS EXCLUSIVE lock.
    assert bigint["rewritten"] == [
        {"table": "public.users", "rows": USERS, "bytes": bigint["rewritten"][0]["bytes"]}
    ]
    assert {"table": "public.users", "mode": "AccessExclusiveLock"} in bigint["locks"]
    assert any("rewrites public.users (300,000 rows" in f for f in bigint["findings"])
    assert bigint["passes_statement_timeout"] is True
    assert bigint["downgrade"] == "keeps data"  # bigint to integer keeps every value
    # The data migration: its rows counted, no rewrite.
    assert backfill["rows"] == {"public.users": {"inserted": 0, "updated": 100_000, "deleted": 0}}
    assert backfill["rewritten"] == []
    # Its downgrade puts every value back to 0: the rollback guard refuses that change.
    assert backfill["downgrade"] == (
        "refused: changes column users.login_count (values changed in place)"
    )

    # The development database is untouched; only the cached template is left.
    assert fingerprint(local) == before
    (template,) = leftovers(server, local)
    assert template.startswith(f"{local.database}_rehearsal_")
    assert "loaded prod.dump into" in first.stderr

    second = rehearse(local, alembic_ini, users_dump)
    assert second.status == 1, second.stderr
    assert f"reusing {template}" in second.stderr
    assert second.stdout.startswith("revision  seconds  rewritten")
    assert "public.users AccessExclusive" in second.stdout
    assert leftovers(server, local) == [template]


def test_the_template_is_scrubbed(
    server: Target, local: Target, small_dump: Path, tmp_path: Path
) -> None:
    rehearse(local, migrations_with(tmp_path / "migrations", ()), small_dump)
    (template,) = leftovers(server, local)
    copy = f"{local.database}_scrubbed"
    with Cluster.session(server) as cluster:
        cluster.clone(template, copy)
    emails = query(
        local,
        "SELECT count(*) FILTER (WHERE email LIKE '%@mail.example.com'), "
        "count(*) FILTER (WHERE email LIKE '%@example.invalid'), "
        "count(*) FILTER (WHERE display_name LIKE 'Person %') FROM users",
        copy,
    )
    assert emails == [(0, 1000, 0)]


def test_no_pending_revision_passes(local: Target, small_dump: Path, tmp_path: Path) -> None:
    result = rehearse(local, migrations_with(tmp_path / "migrations", ()), small_dump)
    assert result.status == 0, result.stderr
    assert "no pending revision" in result.stderr


def damaged(kind: str, dump: Path, bad: Path) -> Path:
    """A copy of `dump` cut short, a plain SQL file, or no file at all."""
    if kind == "truncated":
        data = dump.read_bytes()
        bad.write_bytes(data[: len(data) // 2])  # its table of contents, not all its data
    elif kind == "plain-sql":
        bad.write_text("SELECT 1;\n")
    return bad


@pytest.mark.parametrize("kind", ["truncated", "plain-sql", "missing"])
def test_a_bad_dump_is_one_line_exit_2_and_leaves_nothing(
    server: Target, local: Target, small_dump: Path, tmp_path: Path, kind: str
) -> None:
    bad = damaged(kind, small_dump, tmp_path / "bad.dump")

    result = rehearse(local, migrations_with(tmp_path / "migrations"), bad)

    assert result.status == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: rehearse: file=")
    assert "make rehearse file=" in line
    assert leftovers(server, local) == []


def test_production_is_refused_before_anything_is_made(
    server: Target, local: Target, small_dump: Path, tmp_path: Path, production_login: URL
) -> None:
    login = production_login.set(database=local.database)
    result = rehearse(
        local,
        migrations_with(tmp_path / "migrations"),
        small_dump,
        APP_ENV="production",
        DATABASE_URL=login.render_as_string(hide_password=False),
    )
    assert result.status == 2
    (line,) = result.stderr.splitlines()
    assert "refusing to replace, delete or roll back data when APP_ENV is 'production'" in line
    assert leftovers(server, local) == []


def test_a_statement_past_the_migrators_timeout_fails_the_rehearsal(
    server: Target, local: Target, small_dump: Path, tmp_path: Path
) -> None:
    slow = ((f"{NEXT}_slow.py", NEXT, HEAD, 'op.execute("SELECT pg_sleep(3)")', "pass"),)

    result = rehearse(
        local,
        migrations_with(tmp_path / "migrations", slow),
        small_dump,
        "--format",
        "json",
        MIGRATION_STATEMENT_TIMEOUT_MS="300",
    )

    assert result.status == 1, result.stderr
    (record,) = result.json()
    assert record["passes_statement_timeout"] is False
    assert "canceling statement due to statement timeout" in record["error"]
    assert "past the migrator's statement timeout (0.3 s)" in record["findings"][0]
    assert len(leftovers(server, local)) == 1  # the cached template


def test_a_server_elsewhere_is_refused_before_anything_is_made(
    local: Target, small_dump: Path, tmp_path: Path
) -> None:
    result = rehearse(
        local,
        migrations_with(tmp_path / "migrations"),
        small_dump,
        DATABASE_URL="postgresql://chat:pw@prod-db.example.invalid:5432/chat",
    )
    assert result.status == 2
    (line,) = result.stderr.splitlines()
    assert "refusing to replace or delete a database on host 'prod-db.example.invalid'" in line


def test_a_directory_dump_is_loaded_too(
    server: Target, migrated_template: str, local: Target, tmp_path: Path
) -> None:
    folder = make_dump(server, migrated_template, tmp_path / "folder", 1000, dump_format="d")

    result = rehearse(local, migrations_with(tmp_path / "migrations"), folder, "--format", "json")

    assert result.status == 0, result.stderr  # 1,000 rows: under the threshold
    assert "loaded folder into" in result.stderr
    assert [record["revision"] for record in result.json()] == [NEXT, LATER, LAST]


def test_a_changed_scrub_script_loads_the_dump_again_and_keeps_one_template(
    server: Target, local: Target, small_dump: Path, tmp_path: Path
) -> None:
    alembic_ini = migrations_with(tmp_path / "migrations", ())
    rehearse(local, alembic_ini, small_dump)
    (first,) = leftovers(server, local)
    other_scrub = tmp_path / "scrub.sql"
    other_scrub.write_text("UPDATE users SET email = NULL;\n")

    again = rehearse(local, alembic_ini, small_dump, "--scrub", str(other_scrub))

    assert "loaded small.dump into" in again.stderr
    (second,) = leftovers(server, local)
    assert second != first


def test_two_rehearsals_at_once_load_the_dump_once(
    server: Target, local: Target, small_dump: Path, tmp_path: Path
) -> None:
    alembic_ini = migrations_with(tmp_path / "migrations")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: rehearse(local, alembic_ini, small_dump), range(2)))

    assert [result.status for result in results] == [0, 0], [r.stderr for r in results]
    said = sorted(
        "loaded" if "rehearse: loaded" in result.stderr else "reused" for result in results
    )
    assert said == ["loaded", "reused"]
    assert len(leftovers(server, local)) == 1


def test_a_revision_the_data_breaks_fails_the_rehearsal_naming_the_error(
    server: Target, local: Target, small_dump: Path, tmp_path: Path
) -> None:
    check = 'op.execute("ALTER TABLE users ADD CONSTRAINT ck_users_few CHECK (id < 10)")'
    breaking = (
        (f"{NEXT}_check.py", NEXT, HEAD, check, "pass"),
        (f"{LATER}_after.py", LATER, NEXT, PENDING[0][3], PENDING[0][4]),
    )

    result = rehearse(local, migrations_with(tmp_path / "migrations", breaking), small_dump)

    assert result.status == 1, result.stderr
    assert "is violated by some row" in result.stdout
    assert f"! failed on this data: migration {NEXT} failed:" in result.stdout
    # Nothing runs after a failed revision.
    assert [line.split()[0] for line in result.stdout.splitlines()[1:2]] == [NEXT]
    assert not any(line.startswith(LATER) for line in result.stdout.splitlines())
    assert len(leftovers(server, local)) == 1


def test_the_load_shows_a_progress_line_on_a_terminal(
    server: Target, local: Target, small_dump: Path, tmp_path: Path
) -> None:
    written = rehearse_on_a_terminal(local, migrations_with(tmp_path / "migrations"), small_dump)

    updates = re.findall(r"\rrehearse: loading small\.dump: (\d+)/(\d+) items", written)
    assert updates, written
    assert updates[-1][0] == updates[-1][1]  # every item of the archive done
    assert "\rrehearse: loaded small.dump into" in written
    assert len(leftovers(server, local)) == 1
