#!/usr/bin/env bash
# Rewrites the target list in README.md (between the make-help markers) from `make help`, so
# that a new or renamed target is one `make readme` away from a README that matches it; the
# tests compare the two.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly readme=README.md
readonly start='<!-- make-help:start -->'
readonly end='<!-- make-help:end -->'

if ! grep -qxF "${start}" "${readme}" || ! grep -qxF "${end}" "${readme}"; then
  echo "readme: ${readme} lacks the lines ${start} and ${end}; put them where the target list belongs" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
# Piped, so without colours; the first line is the blank one before the first section.
"${MAKE:-make}" --no-print-directory help | sed '1{/^$/d}' >"${work}/help"
awk -v start="${start}" -v end="${end}" '
  FNR == NR { help = help $0 "\n"; next }
  $0 == end { printf "```\n%s```\n", help; inside = 0 }
  !inside { print }
  $0 == start { inside = 1 }
' "${work}/help" "${readme}" >"${work}/README.md"

if cmp -s "${work}/README.md" "${readme}"; then
  echo "${readme}: the target list is up to date"
else
  cat "${work}/README.md" >"${readme}"
  echo "${readme}: the target list now matches make help"
fi
