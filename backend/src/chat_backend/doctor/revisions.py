"""The checkout's revision files against each other and against the local database: two files
declaring one id (a merge of two branches that numbered alike), and a database at a revision
this checkout does not have (a phantom, after switching branches)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from chat_backend.config import ConfigError, load_settings
from chat_backend.db.phantom_revisions import describe, find_phantoms, refusal
from chat_backend.db.revision_ids import duplicate_problem, revision_files
from chat_backend.doctor.report import Finding, fail, ok, warn

CONNECT_TIMEOUT_S = 2


def check_revisions(root: Path) -> list[Finding]:
    alembic_ini = root / "backend" / "alembic.ini"
    script = ScriptDirectory.from_config(Config(str(alembic_ini)))
    versions = Path(script.versions)
    problem = duplicate_problem(versions)
    if problem is not None:
        return [fail(problem.replace("nothing was migrated: ", "the migrator refuses to run: "))]
    found = ok(f"revision files: {len(revision_files(versions))}, each id declared once")
    return [found, check_database(script)]


def check_database(script: ScriptDirectory) -> Finding:
    """Whether the local database is at a revision this checkout has (skipped when it is not
    running: there is nothing to compare yet)."""
    try:
        settings = load_settings()
    except ConfigError:
        return ok("local database: not checked (the settings above need fixing first)")
    engine = create_engine(
        settings.url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )
    try:
        with engine.connect() as connection:
            phantoms = find_phantoms(connection, script)
    except OperationalError:
        return ok("local database: not reachable (not running yet?), nothing to compare")
    finally:
        engine.dispose()
    if not phantoms:
        return ok("local database: at a revision this checkout has")
    problem = refusal(phantoms, upgrading=True)
    if problem is not None:
        return fail(f"local database is ahead of this checkout: {problem}")
    return warn(
        f"local database is ahead of this checkout: {describe(phantoms)}; `make migrate` (or "
        "`docker compose up`) rolls it back after a snapshot, or check out the branch that has it"
    )
