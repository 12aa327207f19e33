"""db/schema.sql is the normalized schema at head: the committed file matches the real tree,
a stale or missing one fails with a diff, and the dump is free of what varies between runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import URL, create_engine, text

from chat_backend.revisions.checks.schema_dump import (
    check_schema_file,
    normalize,
    pg_dump_for,
    write_schema_file,
)
from tests.alembic_support import HEAD
from tests.checks_support import REAL, copy_project

[HEAD_FILE] = REAL.versions_dir.glob(f"{HEAD}_*.py")
HEAD_PATH = f"migrations/versions/{HEAD_FILE.name}"

PG_DUMP_OUTPUT = """--
-- PostgreSQL database dump
--

\\restrict x8KfQeM3bsU2

-- Dumped from database version 17.6
-- Dumped by pg_dump version 17.6

SET statement_timeout = 0;
SET transaction_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
SET default_table_access_method = heap;

--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id integer NOT NULL
);


--
-- PostgreSQL database dump complete
--

\\unrestrict x8KfQeM3bsU2

"""


def test_normalize_keeps_only_the_statements() -> None:
    assert normalize(PG_DUMP_OUTPUT) == "CREATE TABLE public.users (\n    id integer NOT NULL\n);\n"


def test_the_committed_schema_file_is_up_to_date(database_url: URL) -> None:
    assert check_schema_file(REAL.schema_sql, database_url, HEAD, HEAD_PATH) == []


def test_a_stale_schema_file_fails_with_a_diff(tmp_path: Path, database_url: URL) -> None:
    layout = copy_project(tmp_path)
    without_email = layout.schema_sql.read_text().replace(",\n    email character varying(255)", "")
    layout.schema_sql.write_text(without_email)
    [failure] = check_schema_file(layout.schema_sql, database_url, HEAD, HEAD_PATH)
    assert str(failure) == (
        f"revision {HEAD} ({HEAD_FILE.name}) (head): schema-file-up-to-date: "
        "db/schema.sql differs from the schema at head; run make schema and commit db/schema.sql"
    )
    assert "+    email character varying(255)" in failure.details.splitlines()


def test_a_missing_schema_file_fails(tmp_path: Path, database_url: URL) -> None:
    [failure] = check_schema_file(tmp_path / "schema.sql", database_url, HEAD, HEAD_PATH)
    assert failure.problem == "db/schema.sql is missing"


def test_writing_then_checking_agrees(tmp_path: Path, database_url: URL) -> None:
    path = tmp_path / "db" / "schema.sql"
    write_schema_file(path, database_url, HEAD)
    assert path.read_text().startswith(
        f"-- The schema at revision {HEAD}, written by `make schema`"
    )
    assert check_schema_file(path, database_url, HEAD, HEAD_PATH) == []


def test_pg_dump_matches_the_server_major_version(server_url: URL) -> None:
    engine = create_engine(server_url)
    with engine.connect() as connection:
        major = int(connection.scalar(text("SHOW server_version_num"))) // 10_000
    engine.dispose()
    version = subprocess.run(
        [str(pg_dump_for(server_url)), "--version"], capture_output=True, text=True, check=True
    )
    assert f") {major}." in version.stdout
