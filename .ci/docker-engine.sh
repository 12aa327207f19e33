#!/usr/bin/env bash
# Makes sure a Docker engine answers: starts dockerd in the background when none does.
set -euo pipefail

readonly log=/var/log/dockerd.log
readonly pid_file=/var/run/docker.pid
readonly timeout_s=60

daemon_alive() {
  local pid
  pid="$(cat "${pid_file}" 2>/dev/null)" || return 1
  [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == dockerd ]]
}

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! daemon_alive; then
  # A daemon killed at the end of an earlier session leaves its pid file behind, and a new
  # dockerd refuses to start while it exists.
  rm -f "${pid_file}"
  echo "starting dockerd (log: ${log})"
  # Its own session, so the daemon outlives this script and the job that ran it.
  setsid dockerd >>"${log}" 2>&1 </dev/null &
fi

for ((waited = 0; waited < timeout_s; waited++)); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "error: the Docker engine did not answer within ${timeout_s}s; last lines of ${log}:" >&2
tail -n 20 "${log}" >&2
exit 1
