"""Alembic's config for this project, pointed at a test database."""

from __future__ import annotations

import textwrap
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool

BACKEND_DIR = Path(__file__).resolve().parents[1]
ALEMBIC_INI = BACKEND_DIR / "alembic.ini"
# The newest revision of the real tree: what "migrated" means in every test.
HEAD: str = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head() or ""


def revision_after(revision: str, steps: int = 1) -> str:
    """The id `steps` numbers after `revision` (ids are zero-padded numbers, `make revision`)."""
    return f"{int(revision) + steps:0{len(revision)}d}"


# The ids the next revisions of a feature branch take: tests that add revisions to a copy of
# the real tree use these, so a new revision in the real tree never breaks them.
NEXT = revision_after(HEAD)
LATER = revision_after(HEAD, 2)
LAST = revision_after(HEAD, 3)


def migration_config(url: URL | None = None) -> Config:
    """Alembic's config; with `url`, commands run on that database (as env.py's handed-in
    connection), without it they can only work offline."""
    config = Config(str(ALEMBIC_INI))
    if url is not None:
        config.attributes["connection"] = create_engine(url, poolclass=NullPool)
    return config


REVISION = '''"""{message}"""

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def write_revision(
    versions_dir: Path,
    file_name: str,
    *,
    revision: str,
    down_revision: str | tuple[str, ...] | None,
    upgrade: str = "pass",
    downgrade: str = "pass",
) -> Path:
    """A revision file for a test's own copy of the migrations (never the real tree)."""
    path = versions_dir / file_name
    path.write_text(
        REVISION.format(
            message=file_name,
            revision=revision,
            down_revision=down_revision,
            upgrade=textwrap.indent(textwrap.dedent(upgrade).strip(), "    "),
            downgrade=textwrap.indent(textwrap.dedent(downgrade).strip(), "    "),
        )
    )
    return path
