#!/usr/bin/env bash
# `make run`: start the local inFakt fake, load the demo data (connected to it), serve the app; stop both on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-8000}
FAKE_PORT=${2:-8099}
.venv/bin/python manage.py fake_infakt --port "$FAKE_PORT" &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null && break
  sleep 0.1
done
export DEMO_INFAKT_URL="http://127.0.0.1:$FAKE_PORT/api/v3"
.venv/bin/python manage.py seed_demo
echo "Aplikacja: http://127.0.0.1:$PORT  (atrapa inFakt: $DEMO_INFAKT_URL)"
.venv/bin/python manage.py runserver "127.0.0.1:$PORT"
