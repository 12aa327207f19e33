"""Alembic's environment: Alembic's own template, with the URL, the metadata, the migrators'
lock, the revision checksums, each branch's data and the phantom-revision rollback taken from
the chat_backend package (where that logic is tested)."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy.exc import DBAPIError

from chat_backend.config import exit_with_problems, settings_or_exit
from chat_backend.db.branch_switch import mark_served, switch_branch
from chat_backend.db.checkpoints import refuse_squashed_parents
from chat_backend.db.migration_runtime import CONTEXT_OPTIONS, failure_message, offline_preamble
from chat_backend.db.phantom_revisions import at_checkout, is_upgrade
from chat_backend.db.revision_checksums import recording, warn_about_edited_revisions
from chat_backend.db.revision_ids import refuse_duplicate_revision_ids
from chat_backend.models import metadata

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata
settings = settings_or_exit()
# Before anything touches the database: with two files declaring one id, Alembic runs only one;
# with a revision built on a squashed one, it cannot read the history at all.
refuse_duplicate_revision_ids(context.script)
refuse_squashed_parents(context.script)


def run_migrations_offline() -> None:
    """Write the SQL to stdout (`alembic upgrade head --sql`) instead of running it."""
    context.configure(
        url=settings.url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **recording(settings, online=False),
        **CONTEXT_OPTIONS,
    )
    for statement in offline_preamble(settings):
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the database, one transaction per revision, holding the migrators' lock, after
    rolling back revisions this checkout does not have (development and test)."""
    handed_in = config.attributes.get("connection")
    # Another branch's data: this branch's parked copy swapped in, or the data parked first.
    branch = switch_branch(handed_in, settings, context.script, upgrading=is_upgrade(context))
    with at_checkout(
        handed_in, settings, context.script, upgrading=is_upgrade(context)
    ) as connection:
        mark_served(connection, branch)
        warn_about_edited_revisions(connection, context.script)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            **recording(settings),
            **CONTEXT_OPTIONS,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
        except DBAPIError as error:
            exit_with_problems([failure_message(connection, context.script, error)], code=1)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
