#!/usr/bin/env bash
# Asks before a command replaces the local database (`make reset`, `make restore`). FORCE=1 or
# CI=true skip the question; without a terminal to ask on, it refuses rather than guess.
# Usage: scripts/confirm-reset.sh [COMMAND]   (shown in the hint; default: make reset)
set -euo pipefail

command="${1:-make reset}"
# CI counts only when it says so (CI systems set CI=true); CI=false or CI=0 still asks.
ci="${CI:-}"
if [[ "${FORCE:-}" == 1 || "${ci,,}" =~ ^(1|true|yes|on)$ ]]; then
  exit 0
fi
if [[ ! -t 0 ]]; then
  echo "${command#make }: refusing to replace the database without confirmation; run: ${command} FORCE=1" >&2
  exit 1
fi
what="the local database: every row in it now is lost"
if [[ "${HARD:-}" == 1 ]]; then
  what="the database volume: every row and every snapshot in it is lost"
fi
read -r -p "This replaces ${what}. Continue? [y/N] " answer
if [[ "${answer}" != [yY] && "${answer}" != [yY][eE][sS] ]]; then
  echo "${command#make }: cancelled, nothing was changed" >&2
  exit 1
fi
