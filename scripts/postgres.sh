#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL on loopback for commitbench's
# database sinks. Debian's postgresql package provides the server.
#
#   scripts/postgres.sh install         apt-get install postgresql (root)
#   scripts/postgres.sh start [DIR]     init DIR (default .cache/postgres), start on a free
#                                       127.0.0.1 port, print the DSN (also in DIR/dsn)
#   scripts/postgres.sh stop [DIR]      stop the server by its PID
set -euo pipefail

cmd=${1:-}
dir=${2:-${COMMITBENCH_PG_DIR:-.cache/postgres}}

die() { echo "postgres.sh: $*" >&2; exit 1; }

pgbin() {
  local b
  b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$b" ] && [ -x "$b/pg_ctl" ] || die "PostgreSQL server not installed: run 'scripts/postgres.sh install' (apt-get install postgresql)"
  echo "$b"
}

# The server refuses to run as root: run it as the postgres user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

case "$cmd" in
install)
  command -v apt-get >/dev/null || die "apt-get not found: install PostgreSQL 15 or newer yourself"
  if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    apt-get update -qq
    # The package would start a cluster of its own; policy-rc.d stops that.
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  fi
  pgbin >/dev/null
  echo "postgres.sh: PostgreSQL server installed"
  ;;
start)
  bin=$(pgbin)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null; then
    cat "$dir/dsn"; exit 0
  fi
  rm -rf "$dir/data"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U commitbench --auth=trust --no-sync >/dev/null \
    || die "initdb failed in $dir/data"
  port=$(free_port)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=50" start >/dev/null \
    || { tail -n 20 "$dir/postgres.log" >&2; die "server did not start (log: $dir/postgres.log)"; }
  echo "postgres://commitbench@127.0.0.1:$port/postgres?sslmode=disable" > "$dir/dsn"
  cat "$dir/dsn"
  ;;
stop)
  pidfile="$dir/data/postmaster.pid"
  [ -f "$pidfile" ] || { echo "postgres.sh: not running"; exit 0; }
  pid=$(head -n 1 "$pidfile")
  kill -INT "$pid" 2>/dev/null || true   # fast shutdown
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  echo "postgres.sh: stopped $pid"
  ;;
*)
  sed -n '2,10p' "$0" >&2
  exit 2
  ;;
esac
