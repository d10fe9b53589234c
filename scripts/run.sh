#!/usr/bin/env bash
# `make run`: the embedded default. One SQLite file (WAL), kombu's filesystem broker in var/broker, and four
# processes: the web server (gunicorn), a Celery worker, Celery beat (the sweepers), and local fakes of inFakt and
# KSeF that the demo data connects to.
# Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-8000}
FAKE_PORT=${2:-8099}
FAKE_KSEF_PORT=${FAKE_KSEF_PORT:-8098}
PY=.venv/bin/python
mkdir -p var

export CELERY_BROKER_URL=${CELERY_BROKER_URL:-fsqueue://}
export DEMO_INFAKT_URL="http://127.0.0.1:$FAKE_PORT/api/v3"
export DEMO_KSEF_URL="http://127.0.0.1:$FAKE_KSEF_PORT"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "==> zatrzymywanie…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  exit 0
}
trap stop INT TERM EXIT

$PY manage.py migrate --noinput
$PY manage.py fake_infakt --port "$FAKE_PORT" &
pids+=($!)
$PY manage.py fake_ksef --port "$FAKE_KSEF_PORT" --nip 5260250274 --processing-seconds 0.5 &
pids+=($!)
for port in "$FAKE_PORT" "$FAKE_KSEF_PORT"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
$PY manage.py seed_demo

$PY -m celery -A apilo worker -Q default,documents,email,devices,ksef --pool threads --concurrency 4 \
  --without-gossip --without-mingle --loglevel INFO --hostname "embedded@%h" &
pids+=($!)
$PY -m celery -A apilo beat --loglevel INFO --schedule var/celerybeat-schedule &
pids+=($!)
$PY -m gunicorn apilo.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --threads 8 --timeout 120 \
  --access-logfile - &
pids+=($!)

echo "Aplikacja: http://127.0.0.1:$PORT  (SQLite: db.sqlite3, kolejka: var/broker)"
echo "Atrapy: inFakt $DEMO_INFAKT_URL, KSeF $DEMO_KSEF_URL"
echo "Loginy demo: admin / admin123 (Administrator), obsluga / obsluga123 (Obsługa). Ctrl-C zatrzymuje wszystko."
# Stop everything when any of the processes ends (a crash is not hidden behind the others).
wait -n "${pids[@]}" || true
stop
