#!/usr/bin/env bash
# Installs the Debian packages CI needs that this machine lacks; a no-op when none is missing.
set -euo pipefail

missing=()

# need COMMAND PACKAGE: PACKAGE provides COMMAND.
need() {
  command -v "$1" >/dev/null || missing+=("$2")
}

need dockerd docker.io
need debootstrap debootstrap
need make make
need git git
need openssl openssl
# The Dev Containers CLI (.ci/devcontainer-cli.sh) runs on Node.js and comes from npm.
need node nodejs
need npm npm
if ! python3 -m pip --version >/dev/null 2>&1; then
  missing+=(python3-pip)
fi
# Debian's postgresql keeps initdb and pg_ctl in /usr/lib/postgresql/<major>/bin, off PATH.
if ! { command -v initdb && command -v pg_ctl; } >/dev/null \
  && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  # Otherwise the package creates and starts a "main" cluster on port 5432, the port the
  # tests' database container publishes.
  apt-get install -y -q --no-install-recommends postgresql-common
  sed -ri 's/^#?\s*(create_main_cluster)\s*=.*/\1 = false/' \
    /etc/postgresql-common/createcluster.conf
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
