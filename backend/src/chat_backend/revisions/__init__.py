"""Host tooling for revision files: `python -m chat_backend.revisions COMMAND` (the Makefile's
`revision`, `merge`, `sql`, `schema` and `check` targets).

Where the files are (layout), their numbers (files), the gate (checks/), the rollback guard
(run in the migrator image by `make rollback`) and the throwaway server the checks run on.
"""
