"""What the image runs against the database: the engine, connecting with retry, the migrators'
lock and timeouts, revision checksums, the schema-at-head state, and the wait for it (the
backend's init container on Kubernetes: `python -m chat_backend.db.wait_for_head`).

The backend (`api/`) and the migrator (`migrations/env.py`) import from here; nothing here
imports the host tools (`revisions/`, `local_db/`, `doctor/`, `deploy/`), and a test keeps it so.
"""
