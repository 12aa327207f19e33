#!/usr/bin/env bash
# Runs a command of the backend image (alembic, python -m ...) inside the stack: in the running
# backend container, which takes a fraction of a second, or, when the backend is not running,
# in a one-off migrator container (which starts the database first, and takes seconds).
# Usage: scripts/in-stack.sh COMMAND [ARGS...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra compose <<< "${COMPOSE:-docker compose}"

status=0
"${compose[@]}" exec -T backend "$@" || status=$?
# Exit 1 is also what `exec` gives when the backend is not running: only then retry.
if [[ "${status}" -ne 1 ]] || "${compose[@]}" ps --status running --services | grep -qx backend; then
  exit "${status}"
fi
echo "the backend is not running; using a one-off migrator container" >&2
"${compose[@]}" run --rm -T --quiet-pull migrator "$@"
