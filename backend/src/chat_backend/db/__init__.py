"""What the image runs against the database, in the backend and in the migrator.

alembic_config finds alembic.ini (honouring ALEMBIC_CONFIG, as the `alembic` command does);
engine builds the SQLAlchemy engines (psycopg2: migrations, tools, the API's schema guard);
api_pool opens the API's asyncpg pool, and driver_statements compiles the API's Core
statements for it; connection_retry connects to a database that may not be up yet;
migration_runtime holds the migrators' advisory lock and timeouts and reports a failed
revision in one line, with lock_timeouts naming the table a migration waited for;
revision_checksums records what each applied revision ran; schema_state says whether the
database is at head; wait_for_head waits, bounded, until it is (the backend's init container
on Kubernetes: `python -m chat_backend.db.wait_for_head`).

Branches (DESIGN §6): revision_ids stops the migrator when two files declare one id;
phantom_revisions rolls back revisions the checkout lacks, from the source stored_revisions
kept (run only when source_proofs proves this clone's migrator wrote it, inside one of
sealed_transactions that a downgrade cannot COMMIT out of), after database_snapshots took a
snapshot named as snapshot_names says; revision_status is `make current` / `make history`
with those phantoms marked. Every branch keeps its own data: branch_switch, run first by the
migrator, parks the data of the branch being left and swaps in the checked-out branch's
parked_copies, knowing the branch from checkout_branch (git's files) and each database's from
branch_marker (its comment). checkpoints reads a checkpoint revision (`make squash`): a
database at a revision it squashed is refused with the commit to use, not rolled back.

Whole databases: cluster is the one module that creates, clones, renames and drops them (for
the parked copies here, and for local_db's reset, snapshots and templates), on the server of
a target (the database a command acts on, and its APP_ENV); session_ender ends a database's
sessions once cluster's rename or copy holds its lock, so a pool that reconnects at once
cannot slip back in.

Safety: local_guard is the one guard in front of everything that replaces, deletes or rolls
back data (here and in the host tools): APP_ENV, where libpq really connected (libpq_target),
and what the database says it is (environment_marker).

The backend (`api/`) and the migrator (`migrations/env.py`) import from here; nothing here
imports the host tools (`revisions/`, `local_db/`, `doctor/`, `deploy/`), and
tests/test_layers.py keeps it so.
"""
