"""The exit codes of the package's commands, one meaning each, so that a script (and a user)
can tell why a command stopped (0 is success): `scripts/reset-db.sh` acts on NO_TEMPLATE.

argparse exits 2 on a bad argument too: a bad argument and a bad setting are both bad input.
"""

# The command ran and something failed: a check, an unreachable server, a refused target.
FAILED = 1
# A setting or argument is missing or invalid (one `error:` line per problem).
BAD_INPUT = 2
# The rollback guard refused a downgrade that would drop data (FORCE=1 overrides it).
DATA_LOSS_REFUSED = 3
# `local_db reset --require-template`: the server has no migrated template yet.
NO_TEMPLATE = 4
