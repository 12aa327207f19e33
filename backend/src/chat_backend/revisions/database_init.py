"""db/init's SQL on a throwaway database: the roles and default privileges a fresh volume of
the stack has (the db container runs db/init on its first start), so that `make squash` proves
its checkpoint on databases like the stack's too."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool

from chat_backend.revisions.layout import MigrationLayout


def init_scripts(layout: MigrationLayout) -> list[Path]:
    return sorted((layout.backend_dir.parent / "db" / "init").glob("*.sql"))


def initialize(layout: MigrationLayout, url: URL) -> None:
    """Run db/init/*.sql on the database at `url`, in name order, in one transaction."""
    scripts = init_scripts(layout)
    if not scripts:
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        # The driver's own cursor, with no parameters: the scripts' text runs as written.
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for path in scripts:
                cursor.execute(path.read_text(encoding="utf-8"))
            connection.commit()
        finally:
            connection.close()
    finally:
        engine.dispose()
