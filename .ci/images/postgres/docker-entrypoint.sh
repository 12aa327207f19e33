#!/usr/bin/env bash
# Entrypoint of CI's postgres stand-in. It keeps the official postgres image's contract:
# POSTGRES_USER/PASSWORD/DB (and *_FILE), PGDATA, /docker-entrypoint-initdb.d run against a
# socket-only server, then `postgres` on all addresses as the postgres user. Any other
# command (psql, bash, ...) is exec'd as-is.
set -euo pipefail
shopt -s nullglob

# file_env VAR [DEFAULT]: export VAR from $VAR, else from the file named by $VAR_FILE.
file_env() {
  local var="$1" file_var="${1}_FILE" value="${2:-}"
  if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
    echo "error: both ${var} and ${file_var} are set; set only one of them." >&2
    exit 1
  fi
  if [[ -n "${!var:-}" ]]; then
    value="${!var}"
  elif [[ -n "${!file_var:-}" ]]; then
    value="$(< "${!file_var}")"
  fi
  export "${var}=${value}"
  unset "${file_var}"
}

require_password() {
  if [[ -n "${POSTGRES_PASSWORD}" || "${POSTGRES_HOST_AUTH_METHOD}" == trust ]]; then
    return
  fi
  cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
EOM
  exit 1
}

init_cluster() {
  local args=(--username="${POSTGRES_USER}")
  if [[ -n "${POSTGRES_PASSWORD}" ]]; then
    args+=(--pwfile=/dev/stdin)
  fi
  # Extra flags are split on spaces, as the official image does.
  # shellcheck disable=SC2086
  initdb "${args[@]}" ${POSTGRES_INITDB_ARGS} <<< "${POSTGRES_PASSWORD}"
  # initdb trusts local sockets and localhost; everyone else must bring a password.
  printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD}" >> "${PGDATA}/pg_hba.conf"
}

sql() {
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --no-password --no-psqlrc "$@"
}

run_init_files() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "${f}" in
      *.sh)
        echo "running ${f}"
        # Like the official image: executable scripts run, the others are sourced.
        # shellcheck source=/dev/null
        if [[ -x "${f}" ]]; then "${f}"; else . "${f}"; fi
        ;;
      *.sql) echo "running ${f}"; sql --dbname "${POSTGRES_DB}" -f "${f}" ;;
      *.sql.gz) echo "running ${f}"; gunzip -c "${f}" | sql --dbname "${POSTGRES_DB}" ;;
      *) echo "ignoring ${f}" ;;
    esac
  done
}

# Init runs against a server no client can reach over TCP, so a healthcheck that connects
# with -h 127.0.0.1 only passes once the real server is up.
setup_database() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "${POSTGRES_USER}"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  require_password
  init_cluster
  export PGPASSWORD="${PGPASSWORD:-${POSTGRES_PASSWORD}}"
  pg_ctl -D "${PGDATA}" -w -o "-c listen_addresses='' -p ${PGPORT:-5432}" start
  if [[ "${POSTGRES_DB}" != postgres ]]; then
    sql --dbname postgres --set db="${POSTGRES_DB}" <<< 'CREATE DATABASE :"db";'
  fi
  run_init_files
  pg_ctl -D "${PGDATA}" -m fast -w stop
  unset PGPASSWORD
  echo "PostgreSQL init process complete; ready for start up."
}

# `postgres --version` and friends print and exit; they must not initialize a cluster.
wants_help() {
  local arg
  for arg; do
    case "${arg}" in
      '-?' | --help | --describe-config | -V | --version | -C*) return 0 ;;
    esac
  done
  return 1
}

# As root: own the data directory, then re-run this script as postgres.
drop_root() {
  mkdir -p "${PGDATA}"
  find "${PGDATA}" \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 700 "${PGDATA}"
  export HOME=/var/lib/postgresql
  exec setpriv --reuid postgres --regid postgres --init-groups "${BASH_SOURCE[0]}" "$@"
}

main() {
  if [[ "${1:-}" == -* ]]; then
    set -- postgres "$@"
  fi
  if [[ "${1:-}" != postgres ]]; then
    exec "$@"
  fi
  if [[ "$(id -u)" == 0 ]]; then
    drop_root "$@"
  fi
  if wants_help "$@"; then
    exec "$@"
  fi
  if [[ -s "${PGDATA}/PG_VERSION" ]]; then
    echo "PostgreSQL database directory appears to contain a database; skipping initialization"
  else
    setup_database
  fi
  exec "$@"
}

main "$@"
