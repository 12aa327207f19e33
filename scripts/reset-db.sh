#!/usr/bin/env bash
# `make reset`: the local database becomes empty at head.
# Fast path: swap in a clone of the migrated template the cluster keeps (well under a second;
# rebuilt first when the revision files changed).
# Slow path, the first time (no template yet) or with HARD=1: recreate the volume as before,
# then build the template, so that the next reset takes the fast path.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra compose <<< "${COMPOSE:-docker compose}"
no_template=4 # chat_backend.exit_codes.NO_TEMPLATE: no template on this server yet

# Before anything else: the volume must never go unless the host's view is a local
# development one too (the containers' view is checked by local-db.sh).
scripts/host-guard.sh "make reset"

if [[ "${HARD:-}" == 1 ]]; then
  scripts/local-db.sh guard
else
  status=0
  scripts/local-db.sh reset --require-template --init-sql - || status=$?
  if [[ "${status}" -ne "${no_template}" ]]; then
    exit "${status}"
  fi
  echo "reset: first reset, so the volume is recreated and the template built; later resets take under a second"
fi
"${compose[@]}" down --volumes
"${compose[@]}" up --build --wait
scripts/local-db.sh template --init-sql -
