"""Where the migration files live: alembic.ini, and the gate's files found from it.

Everything is located from alembic.ini, so the gate and the revision commands work the same on
the repository and on a copy of it (which is how their tests break things safely).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import URL, create_engine
from sqlalchemy.pool import NullPool

from chat_backend.db.alembic_config import existing_alembic_ini


@dataclass(frozen=True)
class MigrationLayout:
    alembic_ini: Path

    @classmethod
    def at(cls, alembic_ini: Path) -> MigrationLayout:
        return cls(existing_alembic_ini(alembic_ini).resolve())

    @property
    def backend_dir(self) -> Path:
        return self.alembic_ini.parent

    @property
    def versions_dir(self) -> Path:
        # Alembic reads the revision files only when asked for them, not here.
        return Path(self.script().versions)

    @property
    def schema_sql(self) -> Path:
        return self.backend_dir.parent / "db" / "schema.sql"

    @property
    def squawk_config(self) -> Path:
        return self.backend_dir / ".squawk.toml"

    @property
    def squawk_baseline(self) -> Path:
        return self.backend_dir / "squawk-baseline.txt"

    def config(self, url: URL | None = None) -> Config:
        """Alembic's config; with `url`, commands run on that database (handed to env.py as
        an engine that keeps no connection open), without it they can only work offline."""
        config = Config(str(self.alembic_ini))
        if url is not None:
            config.attributes["connection"] = create_engine(url, poolclass=NullPool)
        return config

    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())
