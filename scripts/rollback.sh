#!/usr/bin/env bash
# `make rollback STEPS=n [FORCE=1]`: back the database up, then let the rollback guard
# (chat_backend.revisions.rollback_guard, in the running backend container, or a one-off
# migrator when it is down: scripts/in-stack.sh) refuse a downgrade that would drop tables or
# columns holding data, or run it.
#
# Usage: scripts/rollback.sh STEPS   (FORCE=1 in the environment drops the data anyway)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
steps="${1:-1}"

if [[ ! "${steps}" =~ ^[1-9][0-9]*$ ]]; then
  echo "rollback: STEPS must be a whole number of revisions, at least 1: make rollback STEPS=2" >&2
  exit 2
fi

backup="$(scripts/backup.sh before-rollback)"
guard=(python -m chat_backend.revisions.rollback_guard --steps "${steps}" --backup "${backup}")
if [[ "${FORCE:-}" == 1 ]]; then
  guard+=(--force)
fi
scripts/in-stack.sh "${guard[@]}"
