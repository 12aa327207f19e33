#!/usr/bin/env bash
# Writes a pg_dump of the development database to backups/ (git-ignored), made by the db
# container's own pg_dump so its version always matches the server. Prints the file's path on
# stdout (scripts/rollback.sh reads it) and how to restore it on stderr.
#
# Usage: scripts/backup.sh [LABEL]   (writes backups/<UTC time>[-LABEL].dump)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -r -a compose <<< "${COMPOSE:-docker compose}"
# Backups hold every user's chats: readable by this user only (files 0600, backups/ 0700).
umask 077

stamp="$(date -u +%Y%m%dT%H%M%SZ)${1:+-$1}"
mkdir -p backups
chmod 700 backups

# pg_dump needs the server; starting it is a no-op when it already runs.
if ! started="$("${compose[@]}" up --detach --wait db 2>&1)"; then
  echo "${started}" >&2
  echo "backup: the db service did not start: \`make doctor\` checks why (a volume from" \
    "another PostgreSQL version, say), \`make logs s=db\` shows its log" >&2
  exit 1
fi
# Into a temporary file of its own first (mktemp: another backup in the same second gets
# another one), so a dump cut short never looks like a finished backup. The variables are the
# container's own, expanded by its shell.
partial="$(mktemp "backups/${stamp}.partial.XXXXXX")"
trap 'rm -f "${partial}"' EXIT
# shellcheck disable=SC2016
"${compose[@]}" exec -T db sh -c 'exec pg_dump -Fc -U "$POSTGRES_USER" "$POSTGRES_DB"' \
  > "${partial}"
# The first free name of <stamp>.dump, <stamp>-2.dump, ...: `ln` creates the name only if no
# file has it, in one step, so two backups finishing together never take the same one.
file="backups/${stamp}.dump"
n=1
until linked="$(ln "${partial}" "${file}" 2>&1)"; do
  if [[ ! -e "${file}" ]]; then
    echo "backup: could not name the finished dump ${file}: ${linked}; check that backups/" \
      "is writable" >&2
    exit 1
  fi
  n=$((n + 1))
  file="backups/${stamp}-${n}.dump"
done

echo "${file}"
echo "backup: wrote ${file}; restore it with: make restore-backup file=${file}" >&2
