"""The migrated template that `make reset` and the test databases are cloned from.

A template's name carries a digest of the revision files, so a new or edited revision gets a
new template (the old ones are dropped) and an unchanged set is never migrated twice. A template
is built as a database of its own: the db/init SQL (grants a fresh volume would have), then
`alembic upgrade head`, then sealed so that nobody can connect to it and it can always be cloned.
"""

from __future__ import annotations

import configparser
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from chat_backend.db.alembic_config import existing_alembic_ini
from chat_backend.local_db.cluster import Cluster, connect, mark
from chat_backend.local_db.target import Target

DIGEST_LENGTH = 16


def template_prefix(database: str) -> str:
    return f"{database}_template_"


def template_name(database: str, digest: str) -> str:
    return f"{template_prefix(database)}{digest[:DIGEST_LENGTH]}"


def versions_dir(alembic_ini: Path) -> Path:
    """The revision files' folder, from alembic.ini as Alembic reads it (`%(here)s`), without
    importing Alembic."""
    alembic_ini = existing_alembic_ini(alembic_ini)
    parser = configparser.ConfigParser(defaults={"here": str(alembic_ini.resolve().parent)})
    parser.read(alembic_ini)
    return Path(parser.get("alembic", "script_location")) / "versions"


def migrations_digest(versions: Path) -> str:
    """sha256 of every revision file's name and contents, in name order."""
    digest = hashlib.sha256()
    for path in sorted(versions.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def current_template(target: Target, alembic_ini: Path) -> str:
    """The name the template of the current revision files has (built or not)."""
    return template_name(target.database, migrations_digest(versions_dir(alembic_ini)))


def ensure_template(
    cluster: Cluster, target: Target, alembic_ini: Path, init_sql: str = ""
) -> tuple[str, bool]:
    """The current template, built first if missing, and whether it was built; templates of
    older revision files are dropped."""
    name = current_template(target, alembic_ini)
    built = not cluster.exists(name)
    if built:
        build_template(cluster, target, name, alembic_ini, init_sql)
    for stale in cluster.names(template_prefix(target.database)):
        if stale != name:
            cluster.drop(stale)
    return name, built


def build_template(
    cluster: Cluster,
    target: Target,
    name: str,
    alembic_ini: Path,
    init_sql: str = "",
    environment: str | None = None,
) -> None:
    """Create `name` at head. It is built under another name and renamed when complete, so an
    interrupted build never leaves a half-migrated template behind to be cloned. Its clones
    say they are `environment` databases (environment_marker) when one is given; the stack's
    db init SQL marks them `development` itself."""
    building = f"{name}_building"
    cluster.drop(building)
    cluster.create(building)
    try:
        if init_sql.strip():
            _run_script(target, building, init_sql)
        if environment is not None:
            mark(target, building, environment)
        migrate_to_head(target, building, alembic_ini)
    except BaseException:
        cluster.drop(building)
        raise
    cluster.seal(building, f"migrated template, built {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
    cluster.rename(building, name)


def migrate_to_head(target: Target, database: str, alembic_ini: Path) -> None:
    """`alembic upgrade head` on `database`, in this process (Alembic and SQLAlchemy are
    imported here, on the slow path only)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(target.url(database), poolclass=NullPool)
    config = Config(str(alembic_ini))
    config.attributes["connection"] = engine  # migrations/env.py migrates a handed-in engine
    try:
        command.upgrade(config, "head")
    finally:
        engine.dispose()


def _run_script(target: Target, database: str, script: str) -> None:
    connection = connect(target, database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(script)
    finally:
        connection.close()
