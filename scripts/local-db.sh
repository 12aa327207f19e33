#!/usr/bin/env bash
# Runs `python -m chat_backend.local_db ARGS...` (reset, snapshot, restore, ...) inside the
# stack: in the running backend container, which takes a fraction of a second, or, when the
# backend is not running, in a one-off migrator container (which starts the database first).
# db/init/*.sql goes in on stdin, for a template build to replay (`--init-sql -`).
# Usage: scripts/local-db.sh COMMAND [ARGS...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra compose <<< "${COMPOSE:-docker compose}"
shopt -s nullglob
init_sql=(db/init/*.sql)

in_container() {
  "${compose[@]}" "$@" python -m chat_backend.local_db "${args[@]}" < <(cat "${init_sql[@]}" /dev/null)
}

args=("$@")
# The host's view first (APP_ENV, the Docker engine); the container then checks its own.
if [[ "${1:-}" != snapshots && "${1:-}" != branches ]]; then
  scripts/host-guard.sh "make ${1:-}"
fi
status=0
in_container exec -T backend || status=$?
# Exit 1 is also what `exec` gives when the backend is not running: only then retry.
if [[ "${status}" -ne 1 ]] || "${compose[@]}" ps --status running --services | grep -qx backend; then
  exit "${status}"
fi
echo "local-db: the backend is not running; using a one-off migrator container" >&2
in_container run --rm -T --quiet-pull migrator
