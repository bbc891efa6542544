#!/usr/bin/env bash
# Per-request work (issue 11): the side-by-side workloads (peer-django/bench.sh: wrk -t2 -c16) against
# one or more chatd binaries (e.g. before and after a change) and the naive limit server, without Django,
# alternating, ROUNDS rounds. Prints one line per workload, binary and round, the naive insert and static
# GET lines of the same round, and the bytes chatd logged.
#
#   bench/per_request.sh DURATION ROUNDS CHATD [CHATD...]     e.g. bench/per_request.sh 5s 1 /tmp/chatd-before build/apps/chatd/chatd
#
# chatd runs with CHATD_FLAGS (default: the flags bench/README.md "Per-request work" gives for the
# side-by-side run). SHARED_BENCH_DIR defaults to ../shared/bench beside the project (or ../../shared/bench).
set -u
D="${1:?usage: per_request.sh DURATION ROUNDS CHATD [CHATD...]}"; R="${2:?}"; shift 2
PROJ="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="${SHARED_BENCH_DIR:-$PROJ/../shared/bench}"
[ -d "$HERE" ] || HERE="$PROJ/../../shared/bench"  # a worktree in a folder beside main
FLAGS="${CHATD_FLAGS:---seed001-client-roles --rate-limit-address-writes 1000000/s:1000000 --rate-limit-address-model-calls 1000000/s:1000000 --llm-max-concurrent-per-address 0}"
export BENCH_DURATION="$D"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/per-request.XXXXXX")"
SECRET="per-request-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
NAIVE="$OUT/naive_server"
g++ -O2 -std=c++20 -pthread -o "$NAIVE" "$HERE/naive_server.cpp" $(pkg-config --cflags --libs cpp-httplib) \
    -lSQLiteCpp -lsqlite3 || { echo "naive_server did not build"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
stop_pid() { kill -TERM "$1" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -KILL "$1" 2>/dev/null; }
for r in $(seq 1 "$R"); do
  i=0
  for bin in "$@"; do
    i=$((i + 1)); d=$(mktemp -d); p=$(free_port)
    # shellcheck disable=SC2086
    "$bin" --host 127.0.0.1 --port "$p" --db "$d/chat.db" --jwt-secret "$SECRET" $FLAGS >"$d/log" 2>&1 &
    cp=$!; wait_port "$p"
    "$HERE/peer-django/bench.sh" "$p" 2>>"$OUT/bench.err" | sed "s|^|chatd$i r$r |"
    echo "chatd$i r$r ($bin) logged $(stat -c %s "$d/log") bytes"
    stop_pid "$cp"; rm -rf "$d"
  done
  d=$(mktemp -d); p=$(free_port)
  "$NAIVE" --port "$p" --threads 64 --nodelay 1 --keepalive-max 1000 --backlog 1024 --db "$d/limit.db" >/dev/null 2>&1 &
  lp=$!; wait_port "$p"
  for w in insert static; do
    script=(); [ "$w" = insert ] && script=(-s "$HERE/naive_post.lua")
    wrk -t2 -c16 -d"$D" --latency "${script[@]}" "http://127.0.0.1:$p/$w" >"$OUT/naive-$w-$r.txt" 2>&1
    echo "naive  r$r ($w) req/s=$(awk '/^Requests\/sec/ {print $2}' "$OUT/naive-$w-$r.txt")" \
         "p99=$(awk '$1 == "99%" {print $2}' "$OUT/naive-$w-$r.txt")"
  done
  stop_pid "$lp"; rm -rf "$d"
done
echo "raw output: $OUT"
