#!/usr/bin/env bash
# Prints where the running stack can be reached, after what the migrator's latest run warned
# about (phantom revisions it rolled back after a branch switch, and how to bring their data
# back; revision files edited after they ran). The addresses come from Compose itself, so
# ports set in .env, in the environment or in an override file all show as they are.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -r -a compose <<< "${COMPOSE:-docker compose}"

migrator="$("${compose[@]}" ps --all --quiet migrator)"
if [[ -n "${migrator}" ]]; then
  started="$(docker inspect --format '{{.State.StartedAt}}' "${migrator}")"
  "${compose[@]}" logs --no-log-prefix --since "${started}" migrator |
    sed -n 's/^WARNI \[[^]]*\] /migrator: /p'
fi

backend="http://$("${compose[@]}" port backend 8000)"
database="$("${compose[@]}" port db 5432)"
echo
echo "The stack is up:"
echo "  API          ${backend}        (docs: ${backend}/docs)"
echo "  Health       ${backend}/health"
echo "  PostgreSQL   ${database}      (make psql)"
echo "Next: make seed (a demo user with a chat), make watch (restart on code changes), make help."
