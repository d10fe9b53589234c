#!/usr/bin/env bash
# `make run`: start the local inFakt fake, load the demo data (connected to it), serve the app; stop both on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-8000}
FAKE_PORT=${2:-8099}
FAKE_KSEF_PORT=${FAKE_KSEF_PORT:-8098}
.venv/bin/python manage.py fake_infakt --port "$FAKE_PORT" &
FAKE_PID=$!
.venv/bin/python manage.py fake_ksef --port "$FAKE_KSEF_PORT" --nip 5260250274 --processing-seconds 0.5 &
FAKE_KSEF_PID=$!
trap 'kill $FAKE_PID $FAKE_KSEF_PID 2>/dev/null || true' EXIT INT TERM
for port in "$FAKE_PORT" "$FAKE_KSEF_PORT"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
export DEMO_INFAKT_URL="http://127.0.0.1:$FAKE_PORT/api/v3"
export DEMO_KSEF_URL="http://127.0.0.1:$FAKE_KSEF_PORT"
.venv/bin/python manage.py seed_demo
echo "Aplikacja: http://127.0.0.1:$PORT  (atrapa inFakt: $DEMO_INFAKT_URL, atrapa KSeF: $DEMO_KSEF_URL)"
.venv/bin/python manage.py runserver "127.0.0.1:$PORT"
