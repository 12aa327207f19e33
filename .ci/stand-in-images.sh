#!/usr/bin/env bash
# Builds CI's local stand-in images: a debootstrapped Debian 13 base, then the images named
# by POSTGRES_IMAGE and PYTHON_IMAGE on top of it. An image whose inputs have not changed
# since it was built is kept.
set -euo pipefail

readonly base=ci-local/debian:trixie
readonly label=ci.inputs
images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/images" && pwd)"
readonly images_dir
: "${POSTGRES_IMAGE:?is set by .ci/run}" "${PYTHON_IMAGE:?is set by .ci/run}"

work="$(mktemp -d)"
# --one-file-system: a debootstrap that failed midway can leave /proc or /sys mounted in it.
trap 'rm -rf --one-file-system "${work}"' EXIT

build_base() {
  if docker image inspect "${base}" >/dev/null 2>&1; then
    return
  fi
  local root="${work}/rootfs"
  debootstrap --variant=minbase trixie "${root}" http://deb.debian.org/debian
  # Downloaded packages and indexes only make the image bigger; apt fetches fresh ones.
  rm -rf "${root}"/var/cache/apt/archives/*.deb "${root}"/var/lib/apt/lists/*
  tar -C "${root}" -c . | docker import - "${base}"
}

# inputs_hash CONTEXT: the base image and every file of CONTEXT, with its mode.
inputs_hash() {
  (
    docker image inspect --format '{{.Id}}' "${base}"
    cd "$1"
    find . -type f -printf '%p %m\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -d ' ' -f 1
}

# build_image NAME TAG [FILE...]: builds .ci/images/NAME, with the FILEs added to its context.
build_image() {
  local name="$1" tag="$2" context="${work}/$1" hash built old_id
  shift 2
  cp -R "${images_dir}/${name}" "${context}"
  if (($# > 0)); then
    cp "$@" "${context}/"
  fi
  hash="$(inputs_hash "${context}")"
  built="$(docker image inspect --format "{{.Id}} {{index .Config.Labels \"${label}\"}}" "${tag}" 2>/dev/null || true)"
  if [[ "${built#* }" == "${hash}" ]]; then
    echo "${tag} is up to date"
    return
  fi
  # The legacy builder is all these Dockerfiles need, and all engine 20.10 has without buildx.
  DOCKER_BUILDKIT=0 docker build --label "${label}=${hash}" --tag "${tag}" "${context}"
  old_id="${built%% *}"
  if [[ -n "${old_id}" && "${old_id}" != "$(docker image inspect --format '{{.Id}}' "${tag}")" ]]; then
    # Fails, harmlessly, while a container or another image still uses the old one.
    docker image rm "${old_id}" >/dev/null 2>&1 || true
  fi
}

build_base
build_image postgres "${POSTGRES_IMAGE}"
# pip and uv in containers reach PyPI through this machine's network, which needs its CAs.
build_image python "${PYTHON_IMAGE}" /etc/ssl/certs/ca-certificates.crt
