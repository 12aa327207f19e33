"""`make doctor`: is this machine ready to run the stack?

Runs on the host, with the stack up or down: the Docker engine, Compose v2 and uv (tools),
`.env` against `.env.example` (env_file), line endings of the scripts (line_endings), the
host ports (ports), and the PostgreSQL major version of the database volume against the db
image's (volume), duplicate revision ids and a database ahead of the checkout (revisions);
commands runs the host's programs for them. Each finding is one line with
its fix (report); the exit status is 1 when a finding blocks `docker compose up`.
"""
