# Sourced by test.sh and bench.sh: a throwaway PostgreSQL cluster and Redis server on free local ports,
# stopped and removed when the calling script exits. Sets PGPORT, REDIS_PORT, DATABASE_URL, TEST_REDIS_URL.
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

TMP=$(mktemp -d /tmp/apilo-test.XXXXXX)
chmod 755 "$TMP"
PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
PGPORT=$(free_port)
REDIS_PORT=$(free_port)
as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = "0" ]; then chown postgres "$TMP"; fi

cleanup() {
  set +e
  as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1
  [ -f "$TMP/redis.pid" ] && kill "$(cat "$TMP/redis.pid")" 2>/dev/null
  sleep 0.3
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

echo "==> PostgreSQL on 127.0.0.1:$PGPORT, Redis on 127.0.0.1:$REDIS_PORT"
as_pg "$PGBIN/initdb" -D "$TMP/pg" -U apilo --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pg.log" -w \
  -o "-p $PGPORT -k $TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U apilo apilo
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log" --dir "$TMP"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export DATABASE_URL="postgres://apilo@127.0.0.1:$PGPORT/apilo"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
