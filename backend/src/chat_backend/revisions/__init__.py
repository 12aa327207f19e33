"""Host tooling for revision files: `python -m chat_backend.revisions COMMAND` (cli), run by
the Makefile's `revision`, `merge`, `renumber`, `sql`, `applied`, `plan`, `schema` and
`check` targets.

layout says where the files are, files numbers and writes them, checks/ is the gate
(`make check`), rollback_guard refuses a downgrade that would drop data (run in the migrator
image by `make rollback`), and throwaway_postgres finds or starts the server the checks run
on (its databases are made by local_db.cluster). renumber is `make renumber`: it moves the
revisions this branch added (branch_revisions asks git which) after the base branch's head.
head_file keeps versions/HEAD, the committed name of the head revision's file that makes two
branches adding a revision conflict in git. migration_plan is `make plan` (what the next `up`
would do, changing nothing; plan_report prints it as text or JSON), with stored_downgrades
reading what a phantom's stored downgrade() drops without running it.
"""
