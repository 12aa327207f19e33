#!/usr/bin/env bash
# The host's half of the local-database guard, run before anything that removes a volume or
# replaces a database (make reset, restore, restore-backup, drop-snapshot). The containers
# check their own environment (python -m chat_backend.local_db guard), but a running backend
# keeps the APP_ENV it started with, and `docker compose down --volumes` never asks a
# container: so the view Compose itself will use is checked here too, as Compose reports it
# (`docker compose config`), never by reading .env ourselves: Compose accepts `APP_ENV:
# production`, a byte-order mark and quoted values that span lines, which a hand-written
# parser judges differently.
#   - APP_ENV of every service that sets it, development or test;
#   - the Docker engine: DOCKER_HOST (the shell's or .env's) and the current context must be
#     this machine's (a unix socket or a Windows pipe), not a remote engine.
# `docker compose config` reads files only: it never contacts the engine.
# Usage: scripts/host-guard.sh COMMAND   (named in the message)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command="${1:-make reset}"
read -ra compose <<< "${COMPOSE:-docker compose}"

refuse() {
  echo "${command#make }: refusing to replace or delete the database: $1" >&2
  exit 1
}

if ! config="$("${compose[@]}" config --format json 2>&1)"; then
  refuse "Compose cannot read its configuration ($(tail -n 1 <<< "${config}")); fix compose.yaml or .env (\`docker compose config\` shows the error)"
fi
# Every "APP_ENV": "<value>" pair in the JSON. Inside a JSON string a quote is always escaped,
# so this text can only be a key and its value; a value with an escape in it is not one of the
# accepted names either, and is refused like any other.
mapfile -t app_envs < <(grep -oE '"APP_ENV": *"([^"\\]|\\.)*"' <<< "${config}" |
  sed -E 's/^"APP_ENV": *"(.*)"$/\1/')
if [[ ${#app_envs[@]} -eq 0 ]]; then
  refuse "no service sets APP_ENV in Compose's configuration; set APP_ENV: \${APP_ENV:-development} in compose.yaml"
fi
where=".env"
if [[ -v APP_ENV ]]; then
  where="the shell"
fi
for app_env in "${app_envs[@]}"; do
  case "${app_env}" in
    development | test) ;;
    *) refuse "APP_ENV is '${app_env}' in ${where}; these commands only touch a development or test database: set APP_ENV=development" ;;
  esac
done

local_engine() { [[ -z "$1" || "$1" == unix://* || "$1" == npipe://* ]]; }
# The variables Compose interpolates with (the shell's over .env's), one NAME=value a line. A
# value spanning lines can hold a line that looks like DOCKER_HOST=...: every such line must
# name this machine, so a hidden one can only cause a refusal, never hide a remote engine.
environment="$("${compose[@]}" config --environment)"
docker_host=""
while IFS= read -r line; do
  docker_host="${line#DOCKER_HOST=}"
  if ! local_engine "${docker_host}"; then
    refuse "DOCKER_HOST is '${docker_host}', a Docker engine on another machine; unset it to use this machine's"
  fi
done < <(grep -E '^DOCKER_HOST=' <<< "${environment}" || true)
if [[ -z "${docker_host}" ]] && command -v docker >/dev/null; then
  context_host="$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)"
  if ! local_engine "${context_host}"; then
    refuse "the Docker context points at '${context_host}', an engine on another machine; switch back with: docker context use default"
  fi
fi
