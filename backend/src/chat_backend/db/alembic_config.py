"""Where alembic.ini is: the one answer for the app, the migrator's tools, the revision commands
and the template builder.

Like the `alembic` command: `ALEMBIC_CONFIG` when set, else `alembic.ini` in the working
directory (backend/ on the host, /app in the image). Imports nothing heavy, so the fast
local-database commands can use it too.
"""

from __future__ import annotations

import os
from pathlib import Path

VARIABLE = "ALEMBIC_CONFIG"


class AlembicConfigNotFoundError(FileNotFoundError):
    """alembic.ini is not where the setting (or the working directory) says."""


def alembic_ini_path(explicit: Path | None = None) -> Path:
    """`explicit` (a command's --config), else `ALEMBIC_CONFIG`, else ./alembic.ini."""
    if explicit is not None:
        return explicit
    return Path(os.environ.get(VARIABLE) or "alembic.ini")


def existing_alembic_ini(explicit: Path | None = None) -> Path:
    """The path of alembic.ini, which must exist; the error names the setting and the fix."""
    path = alembic_ini_path(explicit)
    if not path.is_file():
        raise AlembicConfigNotFoundError(
            f"{VARIABLE}: no Alembic config at {str(path)!r} (from {str(Path.cwd())!r}); run "
            f"from the backend directory or set {VARIABLE} to the path of alembic.ini"
        )
    return path
