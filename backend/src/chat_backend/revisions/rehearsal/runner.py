"""Run the revisions the rehearsal database lacks as the migrator runs them, one at a time,
and judge each one's downgrade the way the rollback guard does.

Each upgrade goes through migrations/env.py with the connection handed in (Alembic's
documented hook), under the migrators' lock and with their lock and statement timeouts
(db.migration_runtime.migration_lock, from the same settings as the migrator): the very code
path `alembic upgrade` takes in the container. The measurement.Probe on the connection reads
what each revision did just before it commits.

The downgrade of each revision is then run as `make rollback` runs it, in a sealed transaction
(db.sealed_transactions) that is always rolled back: the rollback guard's own counts before and
after (rollback_guard.holdings, losses and changes) say whether it would refuse it.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import NullPool

from chat_backend.config import Settings
from chat_backend.db.migration_runtime import QUERY_CANCELED, migration_lock
from chat_backend.db.phantom_revisions import describe, find_phantoms
from chat_backend.db.sealed_transactions import REFUSED_COMMIT, is_refused_commit, sealed
from chat_backend.db.stored_revisions import database_heads
from chat_backend.revisions.rehearsal.measurement import Measured, Probe
from chat_backend.revisions.rollback_guard import Change, Loss, changes, holdings, losses


class NotRehearsableError(Exception):
    """The dump cannot be rehearsed with this checkout; the message says why, in one line."""


@dataclass(frozen=True)
class Downgrade:
    refused: bool | None  # None: the downgrade could not be run
    verdict: str


@dataclass(frozen=True)
class Outcome:
    """One pending revision: measured when it committed, else the error that stopped it."""

    revision: str
    measured: Measured | None
    seconds: float
    error: str | None = None
    timed_out: bool = False
    downgrade: Downgrade | None = None


def rehearse(url: URL, alembic_ini: Path, settings: Settings) -> list[Outcome]:
    """Apply every pending revision of the database at `url`, in order; stop at a failure."""
    engine = create_engine(url, poolclass=NullPool)
    errors: list[BaseException] = []
    event.listen(engine, "handle_error", lambda context: _keep(errors, context))
    try:
        with engine.connect() as connection, migration_lock(connection, settings):
            script = ScriptDirectory.from_config(Config(str(alembic_ini)))
            pending = _pending(connection, script)
            probe = Probe(connection)
            outcomes = []
            for revision in pending:
                outcome = _apply(connection, alembic_ini, probe, revision, errors)
                outcomes.append(outcome)
                if outcome.error is not None:
                    break
            return outcomes
    finally:
        engine.dispose()


def pending_revisions(script: ScriptDirectory, heads: tuple[str, ...]) -> list[str]:
    """The revisions from the database's heads up to the checkout's head, oldest first."""
    lower = heads[0] if len(heads) == 1 else None
    if len(heads) > 1:
        raise NotRehearsableError(
            f"the dump's database has several heads ({', '.join(heads)}); rehearse a dump of "
            "a database with one"
        )
    return [rev.revision for rev in script.iterate_revisions("heads", lower)][::-1]


def _pending(connection: Connection, script: ScriptDirectory) -> list[str]:
    phantoms = find_phantoms(connection, script)
    if phantoms:
        raise NotRehearsableError(
            f"{describe(phantoms)}: rehearse it on a checkout that has every revision the "
            "dump's database applied"
        )
    heads = tuple(database_heads(connection))
    connection.commit()
    return pending_revisions(script, heads)


def _apply(
    connection: Connection,
    alembic_ini: Path,
    probe: Probe,
    revision: str,
    errors: list[BaseException],
) -> Outcome:
    errors.clear()
    failure = io.StringIO()
    try:
        with redirect_stderr(failure):  # env.py's one-line failure; reported in the table
            command.upgrade(_config(alembic_ini, connection), revision)
        if connection.in_transaction():
            connection.commit()
    except SystemExit:
        if connection.in_transaction():
            connection.rollback()
        return _failed(revision, probe.elapsed(), failure.getvalue(), errors)
    measured = probe.applied.get(revision)
    if measured is None:
        return _failed(revision, probe.elapsed(), "the revision committed nothing", errors)
    return Outcome(
        revision, measured, measured.seconds, downgrade=_downgrade(connection, alembic_ini)
    )


class _Judged(Exception):  # noqa: N818 (not an error: it ends the sealed block)
    """Raised once the downgrade is counted, so that the sealed transaction rolls it back."""


def _downgrade(connection: Connection, alembic_ini: Path) -> Downgrade:
    """What the rollback guard would say of undoing the newest revision. The downgrade runs
    as the guard runs it, in a sealed transaction (db.sealed_transactions: it cannot commit
    behind our back), counted with the guard's own holdings, losses and changes; then that
    transaction is rolled back, whatever happened."""
    failure = io.StringIO()
    found: list[Loss | Change] = []
    try:
        with sealed(connection):
            before = holdings(connection)
            with redirect_stderr(failure):
                command.downgrade(_config(alembic_ini, connection), "-1")
            after = holdings(connection)
            found = [*losses(before, after), *changes(before, after)]
            raise _Judged
    except _Judged:
        pass
    except (Exception, SystemExit) as error:  # env.py exits on a database error
        reason = REFUSED_COMMIT if is_refused_commit(error) else _first_line(failure.getvalue())
        return Downgrade(None, f"cannot be judged: {reason or f'{type(error).__name__}: {error}'}")
    if any(isinstance(item, Loss) for item in found):
        return Downgrade(True, f"refused: drops {', '.join(map(str, found))}")
    if found:
        return Downgrade(True, f"refused: changes {', '.join(map(str, found))}")
    return Downgrade(False, "keeps data")


def _failed(revision: str, seconds: float, stderr: str, errors: list[BaseException]) -> Outcome:
    timed_out = any(getattr(error, "pgcode", None) == QUERY_CANCELED for error in errors)
    reason = _first_line(stderr) or (str(errors[-1]).strip().splitlines() or ["failed"])[0]
    return Outcome(revision, None, seconds, error=reason, timed_out=timed_out)


def _config(alembic_ini: Path, connection: Connection) -> Config:
    config = Config(str(alembic_ini))
    config.attributes["connection"] = connection
    return config


def _keep(errors: list[BaseException], context: ExceptionContext) -> None:
    errors.append(context.original_exception)


def _first_line(text: str) -> str:
    """env.py's `error:` line, among Alembic's log lines (its console handler writes to the
    stderr of the moment)."""
    errors = [line for line in text.splitlines() if line.startswith("error: ")]
    return errors[0].removeprefix("error: ").strip() if errors else ""
