#!/usr/bin/env bash
# `make bench`: benchmarks on a throwaway PostgreSQL (never part of `make test`). Run `make test` once first
# so the system packages are installed. Extra arguments go to bench/run.py (e.g. `--orders 20000`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
export CELERY_BROKER_URL="$TEST_REDIS_URL"
export DEBUG=false SECRET_KEY=bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz ALLOWED_HOSTS=testserver \
  FIELD_ENCRYPTION_KEY=n2S0tqV3m1l6qQyTJdN4w3h6m1b8yJc7cU0aQm5oZxE= SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING
.venv/bin/python manage.py migrate --noinput >/dev/null
.venv/bin/python manage.py collectstatic --noinput >/dev/null
.venv/bin/python bench/run.py "$@"
