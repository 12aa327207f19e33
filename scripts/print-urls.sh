#!/usr/bin/env bash
# Prints where the running stack can be reached, with the ports from .env or the defaults.
set -euo pipefail

if [[ -f .env ]]; then
  # Only the two port settings are read; the rest of .env is Compose's business.
  BACKEND_PORT="$(sed -n 's/^BACKEND_PORT=//p' .env | tail -n 1)"
  POSTGRES_PORT="$(sed -n 's/^POSTGRES_PORT=//p' .env | tail -n 1)"
fi
backend="http://127.0.0.1:${BACKEND_PORT:-8000}"
echo
echo "The stack is up:"
echo "  API          ${backend}        (docs: ${backend}/docs)"
echo "  Health       ${backend}/health"
echo "  PostgreSQL   127.0.0.1:${POSTGRES_PORT:-5432}      (make psql)"
