#!/usr/bin/env bash
# Autoconfig benchmark: mailward's autoconfig router vs automx2 (PyPI) behind gunicorn, both
# seeded with the same domains, measured with wrk in one run on this machine.
#   bench/autoconfig.sh            # 1000 domains, 10 s per run, 32 connections
#   DOMAINS=10000 DURATION=20s CONNECTIONS="8 64" bench/autoconfig.sh
# Needs: cargo, python3 (venv), wrk (Debian package), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DOMAINS=${DOMAINS:-1000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-"4 32"}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-$(( 2 * $(nproc) + 1 ))}
WORK=$(mktemp -d)
VENV=target/bench-venv-automx2
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

echo "== building mailward (release)" >&2
cargo build --quiet --release --example autoconfig_bench_server

if ! "$VENV/bin/python" -c 'import automx2, gunicorn' 2>/dev/null; then
  echo "== installing automx2 + gunicorn into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet automx2 gunicorn
fi
AUTOMX2_VERSION=$("$VENV/bin/pip" show automx2 | awk '/^Version/{print $2}')
GUNICORN_VERSION=$("$VENV/bin/pip" show gunicorn | awk '/^Version/{print $2}')

printf '[automx2]\nloglevel = WARNING\ndb_uri = sqlite:///%s/automx2.db\nproxy_count = 0\n' "$WORK" > "$WORK/automx2.conf"
export AUTOMX2_CONF="$WORK/automx2.conf"
"$VENV/bin/python" bench/seed_automx2.py "$DOMAINS"

MW_PORT=$(free_port); AX_PORT=$(free_port)
target/release/examples/autoconfig_bench_server "$MW_PORT" "$DOMAINS" & PIDS+=($!)
"$VENV/bin/gunicorn" --workers "$WORKERS" --bind "127.0.0.1:$AX_PORT" --log-level warning automx2.server:app & PIDS+=($!)
wait_port "$MW_PORT"; wait_port "$AX_PORT"

ADDR="user@d500.bench.example"
GET_PATH="/mail/config-v1.1.xml?emailaddress=user%40d500.bench.example"
# Both must really answer with the seeded servers, or the numbers mean nothing.
for port in "$MW_PORT" "$AX_PORT"; do
  curl -sf "http://127.0.0.1:$port$GET_PATH" | grep -q "<hostname>mail.bench.example</hostname>" || { echo "autoconfig answer on $port is wrong" >&2; exit 1; }
  curl -sf -X POST -H 'Content-Type: text/xml' --data-binary @<(sed -n '/<?xml/,/<\/Autodiscover>/p' bench/autodiscover_post.lua | sed 's/^wrk.body = \[\[//; s/\]\]$//') "http://127.0.0.1:$port/autodiscover/autodiscover.xml" | grep -q "<Server>mail.bench.example</Server>" || { echo "autodiscover answer on $port is wrong" >&2; exit 1; }
done

run() { # name port kind connections
  local args=(-t "$THREADS" -c "$4" -d "$DURATION" --latency)
  local out
  if [ "$3" = get ]; then out=$(wrk "${args[@]}" "http://127.0.0.1:$2$GET_PATH"); else out=$(wrk "${args[@]}" -s bench/autodiscover_post.lua "http://127.0.0.1:$2/autodiscover/autodiscover.xml"); fi
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' || true)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$3" "$4" "$rps" "$p50" "$p99" "${errors:-none}"
}

# Warm-up (page cache, gunicorn workers, allocator).
wrk -t1 -c4 -d2s "http://127.0.0.1:$MW_PORT$GET_PATH" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$AX_PORT$GET_PATH" >/dev/null

echo "machine: $(nproc) cores, $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | xargs); $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "automx2 $AUTOMX2_VERSION on gunicorn $GUNICORN_VERSION ($WORKERS sync workers, SQLite); mailward release build"
echo "$DOMAINS domains, wrk -t$THREADS -d$DURATION, connections: $CONNECTIONS, loopback"
echo
echo "| server | request | connections | requests/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|---|---|"
for c in $CONNECTIONS; do
  run mailward "$MW_PORT" get "$c"
  run automx2 "$AX_PORT" get "$c"
  run mailward "$MW_PORT" post "$c"
  run automx2 "$AX_PORT" post "$c"
done
