#!/usr/bin/env bash
# `make test`: install what the suite needs, start a throwaway PostgreSQL and Redis on free local ports,
# run the whole suite against them, stop them. Safe to run again; nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
APT_PACKAGES=(postgresql redis-server chromium poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 zbar-tools)

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v zbarimg >/dev/null || missing+=(zbar-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
fc-list 2>/dev/null | grep -qi "DejaVuSans" || missing+=(fonts-dejavu-core)
ldconfig -p 2>/dev/null | grep -q libpangoft2 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "==> apt-get install ${APT_PACKAGES[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${APT_PACKAGES[*]})" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
if ! .venv/bin/python -c "import django, pytest_django, playwright, celery" 2>/dev/null \
   || [ pyproject.toml -nt .venv/.installed ]; then
  echo "==> pip install -e .[test]"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi

source scripts/services.sh

export DEBUG=true
export REQUIRE_TEST_SERVICES=1
unset CELERY_BROKER_URL

.venv/bin/python -m pytest "$@"
