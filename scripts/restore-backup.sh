#!/usr/bin/env bash
# Restores a backup written by scripts/backup.sh into the development database: every table
# in the backup is dropped and recreated with the backup's rows. The database as it is now is
# backed up first, so a restore never loses anything either.
#
# Usage: scripts/restore-backup.sh FILE
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -r -a compose <<< "${COMPOSE:-docker compose}"
file="${1:?usage: scripts/restore-backup.sh FILE}"

if [[ ! -f "${file}" ]]; then
  echo "restore-backup: no file ${file}; pick one in backups/ (ls backups):" \
    "make restore-backup file=backups/<name>.dump" >&2
  exit 2
fi
# pg_dump's custom format starts with these five bytes.
if [[ "$(head -c 5 "${file}")" != PGDMP ]]; then
  echo "restore-backup: ${file} is not a pg_dump custom-format archive;" \
    "use a file that make backup wrote" >&2
  exit 2
fi

# Like every command that replaces the database: a local development one only.
scripts/local-db.sh guard > /dev/null
before="$(scripts/backup.sh before-restore)"
# One transaction: a restore that fails halfway leaves the database as it was. The variables
# are the container's own, expanded by its shell.
# shellcheck disable=SC2016
restore='exec pg_restore -U "$POSTGRES_USER" -d "$POSTGRES_DB" --clean --if-exists --no-owner'
restore+=' --single-transaction --exit-on-error'
"${compose[@]}" exec -T db sh -c "${restore}" < "${file}"
echo "restore-backup: the database is as in ${file} again (before: ${before})." >&2
echo "restore-backup: \`make current\` shows its revision; \`make migrate\` brings it to head." >&2
