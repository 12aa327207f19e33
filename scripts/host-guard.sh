#!/usr/bin/env bash
# The host's half of the local-database guard, run before anything that removes a volume or
# replaces a database (make reset, restore, restore-backup, drop-snapshot). The containers
# check their own environment (python -m chat_backend.local_db guard), but a running backend
# keeps the APP_ENV it started with, and `docker compose down --volumes` never asks a
# container: so the view Compose itself will use is checked here too.
#   - APP_ENV as Compose reads it: the shell's, else .env's, else development;
#   - the Docker engine: DOCKER_HOST (shell, else .env) and the current context must be this
#     machine's (a unix socket or a Windows pipe), not a remote engine.
# Usage: scripts/host-guard.sh COMMAND   (named in the message)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command="${1:-make reset}"

# The last NAME=value line of .env, unquoted, as Compose reads it; empty when absent.
from_env_file() {
  [[ -f .env ]] || return 0
  sed -n -E "s/^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*//p" .env | tail -n 1 |
    sed -E -e 's/[[:space:]]+#.*$//' -e "s/^'(.*)'\$/\\1/" -e 's/^"(.*)"$/\1/'
}

refuse() {
  echo "${command#make }: refusing to replace or delete the database: $1" >&2
  exit 1
}

if [[ -v APP_ENV ]]; then
  app_env="${APP_ENV}" where="the shell"
else
  app_env="$(from_env_file APP_ENV)" where=".env"
fi
case "${app_env:-development}" in
  development | test) ;;
  *) refuse "APP_ENV is '${app_env}' in ${where}; these commands only touch a development or test database: set APP_ENV=development" ;;
esac

local_engine() { [[ -z "$1" || "$1" == unix://* || "$1" == npipe://* ]]; }
docker_host="${DOCKER_HOST-$(from_env_file DOCKER_HOST)}"
if ! local_engine "${docker_host}"; then
  refuse "DOCKER_HOST is '${docker_host}', a Docker engine on another machine; unset it to use this machine's"
fi
if [[ -z "${docker_host}" ]] && command -v docker >/dev/null; then
  context_host="$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)"
  if ! local_engine "${context_host}"; then
    refuse "the Docker context points at '${context_host}', an engine on another machine; switch back with: docker context use default"
  fi
fi
