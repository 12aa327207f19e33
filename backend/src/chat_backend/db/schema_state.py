"""The database's schema revision against the code's head, and the guard that compares them.

The backend starts only after the migrator, yet it still checks on its own: a rollback, a
restored backup or a second deployment can leave the database behind (or ahead of) the code.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from chat_backend.db.alembic_config import AlembicConfigNotFoundError, existing_alembic_ini
from chat_backend.db.branch_marker import READ_OWN_COMMENT, marked_branch

log = logging.getLogger(__name__)

# How long data requests trust the last comparison; /health always compares afresh.
MAX_AGE_S = 2.0


@dataclass(frozen=True)
class CodeSchema:
    """What the code's migrations know: their head, and every revision on the way to it."""

    head: str
    revisions: frozenset[str]


@dataclass(frozen=True)
class SchemaState:
    """One comparison: whether the database answered, its revision, and the code's head."""

    reachable: bool
    revision: str | None
    code: CodeSchema
    # Every row of alembic_version when it holds more than one (`revision` is then None).
    several_revisions: tuple[str, ...] = ()
    # The git branch whose data the database holds (db/branch_switch); None: not marked.
    branch: str | None = None

    @property
    def head(self) -> str:
        return self.code.head

    @property
    def at_head(self) -> bool:
        return self.reachable and self.revision == self.code.head

    @property
    def problem(self) -> str | None:
        """What keeps the backend from serving data, and the fix; None when nothing does."""
        if not self.reachable:
            return (
                "The database is unreachable: check that it is running (`make ps`) and that "
                "POSTGRES_HOST and POSTGRES_PORT (or DATABASE_URL) point at it."
            )
        if self.at_head:
            return None
        if self.several_revisions:
            listed = ", ".join(map(repr, self.several_revisions))
            return (
                f"The database records {len(self.several_revisions)} revisions at once in "
                f"alembic_version ({listed}); this code's head is {self.head!r}. Find the "
                "revision the schema is really at and delete the other rows from "
                "alembic_version, then run `make migrate`."
            )
        if self.revision is not None and self.revision not in self.code.revisions:
            return (
                f"The database schema is at revision {self.revision!r}, which this code does not "
                f"have (a phantom revision, e.g. after switching branches; this code's head is "
                f"{self.head!r}): run `make migrate`, which in development and test rolls it back "
                "after a snapshot, or run the code that has it"
            )
        return (
            f"The database schema is at revision {self.revision or 'base (empty)'!s} but this "
            f"code needs revision {self.head!r} (head): run `make migrate`."
        )


def load_code_schema(alembic_ini: Path | None = None) -> CodeSchema:
    """Read the head from the Alembic script directory of `alembic_ini` (default: where
    `ALEMBIC_CONFIG` says, as for the alembic command).

    Raises ValueError with a message naming the file and the fix.
    """
    return _code_schema(_script_directory(alembic_ini))


class CheckedOutCode:
    """The code schema of the migrations on disk, read again whenever their files change.

    The stack mounts the checkout into the backend: a `git checkout` changes the head under a
    running backend, and the branch switch's `docker compose up` does not restart it, so a
    head read once at the start would refuse the switched branch's data until a restart.
    Raises ValueError (as load_code_schema) when the migrations cannot be read at the start;
    later, a half-written checkout keeps the last good reading until its files settle."""

    def __init__(self, alembic_ini: Path | None = None) -> None:
        script = _script_directory(alembic_ini)
        self._script_location = Path(script.dir)
        self._versions = Path(script.versions)
        self._files = self._signature()
        self._schema = _code_schema(script)

    def schema(self) -> CodeSchema:
        files = self._signature()
        if files != self._files:
            try:
                script = ScriptDirectory(str(self._script_location))
                self._schema = _code_schema(script)
            except Exception:  # a file half-written by git: read again next time
                return self._schema
            self._files = files
        return self._schema

    def _signature(self) -> tuple[tuple[str, int, int], ...]:
        """Name, modification time and size of each file in the versions folder: a checkout
        changes at least one (stat only: cheap enough for every comparison)."""
        with os.scandir(self._versions) as entries:
            stats = [(entry.name, entry.stat()) for entry in entries if entry.is_file()]
        return tuple(sorted((name, stat.st_mtime_ns, stat.st_size) for name, stat in stats))


def _script_directory(alembic_ini: Path | None) -> ScriptDirectory:
    try:
        alembic_ini = existing_alembic_ini(alembic_ini)
    except AlembicConfigNotFoundError as error:
        raise ValueError(str(error)) from None
    try:
        return ScriptDirectory.from_config(Config(str(alembic_ini)))
    except CommandError:
        raise ValueError(
            f"ALEMBIC_CONFIG: the script_location of {str(alembic_ini)!r} is not a migrations "
            "directory; point it at the directory holding env.py and versions/"
        ) from None


def _code_schema(script: ScriptDirectory) -> CodeSchema:
    try:
        head = script.get_current_head()
    except CommandError:
        raise ValueError(
            f"the migrations have several heads {script.get_heads()!r}: merge them with "
            "`make merge`"
        ) from None
    if head is None:
        raise ValueError(f"the migrations in {script.dir!r} have no revision")
    return CodeSchema(head, frozenset(rev.revision for rev in script.walk_revisions()))


def database_revision(engine: Engine) -> str | None:
    """The revision recorded in alembic_version; None for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def database_revisions(engine: Engine) -> tuple[str, ...]:
    """Every revision recorded in alembic_version (one, normally; none before migrating)."""
    return served_data(engine)[0]


def served_data(engine: Engine) -> tuple[tuple[str, ...], str | None]:
    """Every revision recorded in alembic_version, and the branch whose data it is."""
    with engine.connect() as connection:
        revisions = MigrationContext.configure(connection).get_current_heads()
        return revisions, marked_branch(connection.scalar(text(READ_OWN_COMMENT)))


class SchemaGuard:
    """Compares the database with the code, remembers the answer briefly, and logs each change
    of state once (not on every request)."""

    def __init__(
        self,
        engine: Engine,
        code: CodeSchema | CheckedOutCode,
        *,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._code = code
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        # The last comparison and when it started, in one attribute so that a request
        # reading it without the lock never pairs one comparison's state with another's time.
        self._last: tuple[SchemaState, float] | None = None

    def recent(self) -> SchemaState | None:
        """The last comparison if it is recent enough (no I/O), else None."""
        return self._since(self._clock() - self._max_age_s)

    def due(self) -> bool:
        """Whether the last comparison is past half its max age (or there is none): time to
        start the next one, so that it lands before requests find the answer stale."""
        return self._since(self._clock() - self._max_age_s / 2) is None

    def current(self) -> SchemaState:
        """The last comparison if it is recent enough, else a new one."""
        return self._checked_since(self._clock() - self._max_age_s)

    def refresh(self) -> SchemaState:
        """A comparison started now or later (callers arriving together share one)."""
        return self._checked_since(self._clock())

    def _since(self, moment: float) -> SchemaState | None:
        last = self._last
        return last[0] if last is not None and last[1] >= moment else None

    def _checked_since(self, moment: float) -> SchemaState:
        # Requests that need a comparison together wait here for a single one, instead of
        # each querying the database in turn.
        with self._lock:
            return self._since(moment) or self._compare_and_remember()

    def _compare_and_remember(self) -> SchemaState:
        started = self._clock()
        state = self._compare()
        before = self._last[0] if self._last is not None else None
        if state != before:
            _log_change(before, state)
        self._last = (state, started)
        return state

    def _compare(self) -> SchemaState:
        code = self._code if isinstance(self._code, CodeSchema) else self._code.schema()
        try:
            revisions, branch = served_data(self._engine)
        except (OperationalError, PoolTimeoutError):
            return SchemaState(reachable=False, revision=None, code=code)
        if len(revisions) > 1:
            return SchemaState(True, None, code, several_revisions=revisions, branch=branch)
        revision = next(iter(revisions), None)
        return SchemaState(reachable=True, revision=revision, code=code, branch=branch)


def _log_change(before: SchemaState | None, after: SchemaState) -> None:
    if after.problem is not None:
        log.warning("Refusing to serve data. %s", after.problem)
    elif before is None:
        log.info("The database schema is at head %r.", after.head)
    else:
        log.info("The database schema is at head %r again; serving data.", after.head)
