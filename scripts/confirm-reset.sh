#!/usr/bin/env bash
# Asks before `make reset` wipes the local database volume. FORCE=1 or CI skip the question;
# without a terminal to ask on, it refuses rather than guess.
set -euo pipefail

if [[ "${FORCE:-}" == 1 || -n "${CI:-}" ]]; then
  exit 0
fi
if [[ ! -t 0 ]]; then
  echo "reset: refusing to wipe the database without confirmation; run: make reset FORCE=1" >&2
  exit 1
fi
read -r -p "This deletes every row in the local database (volume db-data-pg17). Continue? [y/N] " answer
if [[ "${answer}" != [yY] && "${answer}" != [yY][eE][sS] ]]; then
  echo "reset: cancelled, nothing was changed" >&2
  exit 1
fi
