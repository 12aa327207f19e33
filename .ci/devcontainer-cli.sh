#!/usr/bin/env bash
# Installs the Dev Containers CLI (the reference implementation, from npm) that the end-to-end
# tests drive .devcontainer/ with, unless that version is already in place. Node.js and npm
# come from Debian's packages (.ci/host-packages.sh) where the machine has none.
set -euo pipefail

readonly version=0.89.0
readonly node_major=20

if [[ "$(devcontainer --version 2>/dev/null)" == "${version}" ]]; then
  exit 0
fi

major="$(node --version | sed -E 's/^v([0-9]+).*/\1/')"
if ((major < node_major)); then
  echo "devcontainer-cli: @devcontainers/cli ${version} needs Node.js ${node_major} or later, and this machine has $(node --version); install a newer nodejs package" >&2
  exit 1
fi

npm install --global --no-audit --no-fund --loglevel=error "@devcontainers/cli@${version}"
devcontainer --version
