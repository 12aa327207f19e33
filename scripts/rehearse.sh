#!/usr/bin/env bash
# Rehearses the pending revisions on a pg_dump archive (make rehearse file=PATH): the dump is
# loaded once into a cached template in the stack's db server by that container's own
# pg_restore (so its version matches the server), each rehearsal runs on a clone that is
# dropped afterwards, and the development database is never touched. The revisions run on the
# host (python -m chat_backend.revisions.rehearsal), as the migrator runs them.
#
# Usage: scripts/rehearse.sh FILE   (format=json and max_rows=N from the environment)
set -euo pipefail

file="${1:?usage: scripts/rehearse.sh FILE}"
here="${PWD}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Relative to where make was run; kept as given when that is the project's folder, so that
# messages name the file as the user wrote it.
if [[ "${file}" != /* && "${here}" != "${PWD}" ]]; then
  file="${here}/${file}"
fi
read -ra compose <<< "${COMPOSE:-docker compose}"

# The host's view of the guard (APP_ENV, the Docker engine); the command checks its own.
scripts/host-guard.sh "make rehearse"
if ! started="$("${compose[@]}" up --detach --wait db 2>&1)"; then
  echo "${started}" >&2
  echo "rehearse: the db service did not start: \`make doctor\` checks why, \`make logs s=db\`" \
    "shows its log" >&2
  exit 1
fi
REHEARSE_MAX_ROWS="${max_rows:-${REHEARSE_MAX_ROWS:-}}" exec uv run --frozen --quiet \
  --project backend python -m chat_backend.revisions.rehearsal --file "${file}" \
  --format "${format:-table}" --pg-restore compose --config backend/alembic.ini \
  --scrub db/rehearse/scrub.sql
