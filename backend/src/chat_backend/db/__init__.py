"""What the image runs against the database: the engine, connecting with retry, the migrators'
lock and timeouts, revision checksums, and the schema-at-head state.

The backend (`api/`) and the migrator (`migrations/env.py`) import from here; nothing here
imports the host tools (`revisions/`, `local_db/`, `doctor/`), and a test keeps it so.
"""
