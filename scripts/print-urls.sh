#!/usr/bin/env bash
# Prints where the running stack can be reached. The addresses come from Compose itself, so
# ports set in .env, in the environment or in an override file all show as they are.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -r -a compose <<< "${COMPOSE:-docker compose}"

backend="http://$("${compose[@]}" port backend 8000)"
database="$("${compose[@]}" port db 5432)"
echo
echo "The stack is up:"
echo "  API          ${backend}        (docs: ${backend}/docs)"
echo "  Health       ${backend}/health"
echo "  PostgreSQL   ${database}      (make psql)"
echo "Next: make seed (a demo user with a chat), make watch (restart on code changes), make help."
