#!/usr/bin/env bash
# Runs a host command (`make renumber`, `make plan`) with the key that proves the revision
# sources the stack's migrator stored: it lives in the stack's own volume (migrator-keys),
# outside the database and outside git, so a host command borrows it for its run only, through
# a file readable by you alone that is deleted afterwards. Without a stack (or a key in it yet),
# the command runs with the host's own key (MIGRATION_SOURCE_KEY_FILE), as before.
# Usage: scripts/with-stack-key.sh COMMAND [ARGS...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra compose <<< "${COMPOSE:-docker compose}"
# Expanded by the container's shell, where the variable names the key in the volume.
# shellcheck disable=SC2016
read_key='cat "${MIGRATION_SOURCE_KEY_FILE}" 2>/dev/null || true'

# The key volume's name, as Compose resolves it (project name, .env, an explicit name).
keys_volume() {
  "${compose[@]}" config --format json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["volumes"]["migrator-keys"]["name"])'
}

key_dir="$(mktemp -d)"
trap 'rm -rf "${key_dir}"' EXIT
key_file="${key_dir}/migration-source.key"
(
  umask 077
  if "${compose[@]}" exec -T backend sh -c "${read_key}" > "${key_file}" 2>/dev/null; then
    exit 0
  fi
  # A stopped stack: a one-off container reads its volume. Only when that volume exists (by
  # the name Compose gives it): otherwise `run` would create the stack's volumes, and perhaps
  # build its image, for a key that is not there.
  if docker volume inspect "$(keys_volume)" >/dev/null 2>&1; then
    "${compose[@]}" run --rm --no-deps -T --quiet-pull migrator sh -c "${read_key}" \
      > "${key_file}" 2>/dev/null || true
  fi
)
if [[ -s "${key_file}" ]]; then
  export MIGRATION_SOURCE_KEY_FILE="${key_file}"
fi
"$@"
