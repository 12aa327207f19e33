"""The migrated template: built once per version of the revision files, rebuilt when one
changes, never left half-built."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_backend.db.cluster import Cluster
from chat_backend.db.target import Target
from chat_backend.local_db.templates import (
    ensure_template,
    migrations_digest,
    template_prefix,
    versions_dir,
)
from tests.alembic_support import ALEMBIC_INI, BACKEND_DIR, HEAD, write_revision
from tests.local_db_support import own_database, query


@pytest.fixture
def app(server: Target) -> Iterator[Target]:
    with own_database(server) as target:
        yield target


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """alembic.ini and migrations/ copied, so a test may edit the revision files."""
    shutil.copy(ALEMBIC_INI, tmp_path / "alembic.ini")
    shutil.copytree(BACKEND_DIR / "migrations", tmp_path / "migrations")
    return tmp_path / "alembic.ini"


def template_state(app: Target, name: str) -> list[tuple[object, ...]]:
    """The database's oid (a rebuilt one gets a new oid), and whether it is a template that
    nobody can connect to."""
    return query(
        app,
        "SELECT oid, datistemplate, datallowconn FROM pg_database WHERE datname = :name",
        "postgres",
        name=name,
    )


def revision_of_a_clone(cluster: Cluster, app: Target, template: str) -> str:
    clone = f"{app.database}_probe"
    cluster.clone(template, clone)
    try:
        return str(query(app, "SELECT version_num FROM alembic_version", clone)[0][0])
    finally:
        cluster.drop(clone)


def test_versions_dir_is_read_from_alembic_ini() -> None:
    assert versions_dir(ALEMBIC_INI) == BACKEND_DIR / "migrations" / "versions"


def test_the_digest_follows_the_names_and_contents_of_revision_files(tmp_path: Path) -> None:
    (tmp_path / "001_a.py").write_text("a = 1\n")
    (tmp_path / "notes.txt").write_text("not a revision")
    first = migrations_digest(tmp_path)

    (tmp_path / "notes.txt").write_text("still not a revision")
    assert migrations_digest(tmp_path) == first
    (tmp_path / "001_a.py").write_text("a = 2\n")
    edited = migrations_digest(tmp_path)
    assert edited != first
    (tmp_path / "002_b.py").write_text("")
    assert migrations_digest(tmp_path) not in {first, edited}


def test_the_template_is_built_at_head_once_and_sealed(server: Target, app: Target) -> None:
    with Cluster.session(server) as cluster:
        name, built = ensure_template(cluster, app, ALEMBIC_INI)
        first = template_state(app, name)
        again, built_again = ensure_template(cluster, app, ALEMBIC_INI)

        assert (built, built_again) == (True, False)
        assert again == name
        assert template_state(app, name) == first  # the same database: not rebuilt
        assert first[0][1:] == (True, False)
        assert revision_of_a_clone(cluster, app, name) == HEAD


def test_a_changed_revision_file_rebuilds_the_template_and_drops_the_old_one(
    server: Target, app: Target, migrations_copy: Path
) -> None:
    versions = migrations_copy.parent / "migrations" / "versions"
    revision = sorted(versions.glob("*.py"))[-1]
    with Cluster.session(server) as cluster:
        old, _ = ensure_template(cluster, app, migrations_copy)
        revision.write_text(revision.read_text() + "\n# edited after it ran\n")

        new, built = ensure_template(cluster, app, migrations_copy)

        assert built
        assert new != old
        assert cluster.names(template_prefix(app.database)) == [new]
        assert revision_of_a_clone(cluster, app, new) == HEAD


def test_a_failed_build_leaves_no_database_behind(
    server: Target, app: Target, migrations_copy: Path
) -> None:
    versions = migrations_copy.parent / "migrations" / "versions"
    write_revision(
        versions,
        "999_fails.py",
        revision="fails",
        down_revision=HEAD,
        upgrade='op.execute("ALTER TABLE no_such_table ADD COLUMN x int")',
    )
    with Cluster.session(server) as cluster:
        with pytest.raises(SystemExit):  # env.py reports the failing revision and exits 1
            ensure_template(cluster, app, migrations_copy)

        assert cluster.names(app.database) == []


def test_the_init_sql_runs_in_the_template_before_the_migrations(
    server: Target, app: Target
) -> None:
    init_sql = "CREATE TABLE init_marker (id int); INSERT INTO init_marker VALUES (42);"
    with Cluster.session(server) as cluster:
        name, _ = ensure_template(cluster, app, ALEMBIC_INI, init_sql)
        cluster.clone(name, app.database)

    assert query(app, "SELECT id FROM init_marker") == [(42,)]
    assert query(app, "SELECT version_num FROM alembic_version") == [(HEAD,)]
