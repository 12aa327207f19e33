"""`make doctor`: is this machine ready to run the stack?

Runs on the host, with the stack up or down: the Docker engine and Compose v2, uv, `.env`
against `.env.example`, line endings of the scripts, the host ports, and the PostgreSQL major
version of the database volume against the db image's. Each finding is one line with its
fix; the exit status is 1 when a finding blocks `docker compose up`.
"""
