"""The migration gate (`make check`): each module holds one guard, gate runs them all.

numbering (one file per revision id, named after it), heads (one head), head_file
(versions/HEAD names the head, so clashing branches conflict in git), lint (squawk),
stairway (up, down, up again), drift (the models match the migrations), applied (no applied
revision edited since; `make applied` runs it on your database), schema_dump (db/schema.sql
up to date). Every guard returns a list of failure.Failure, each naming the revision, the rule
and the fix.
"""
