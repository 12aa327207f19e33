"""Users and AI chats on PostgreSQL, with the schema versioned by Alembic.

The package's folders are its layers, from what the image runs to what only the host runs:

    config, models  settings; the schema's models (the migrations' target metadata)
    env_encoding    reads a .env file, refusing one that is not UTF-8 in one line
    api/            the FastAPI app: `uvicorn chat_backend.api:app` (the backend service)
    db/             what the image runs against the database; migrations/env.py imports it
    revisions/      host tooling for revision files: `python -m chat_backend.revisions`
    local_db/       disposable local databases: `python -m chat_backend.local_db`, and the seed
    doctor/         `make doctor`: is this machine ready to run the stack?
    deploy/         `make k8s`: the Kubernetes manifests rendered for an image
    exit_codes      the exit codes every command shares

api/ and db/ never import revisions/, local_db/, doctor/ or deploy/ (tests/test_layers.py);
the tools may import each other and everything below them.
"""
