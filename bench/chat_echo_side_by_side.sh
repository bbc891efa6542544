#!/usr/bin/env bash
# The chat (echo) workload of ../shared/bench/side_by_side.sh alone: POST /api/chats/messages/chat/ with
# peer-django/bench/post_chat.lua, wrk -t2 -c16 -d10s, a fresh session per run, against two chatd binaries
# (e.g. before and after a change) and the Django peer, alternating, ROUNDS rounds.
#
#   bench/chat_echo_side_by_side.sh CHATD_A CHATD_B [ROUNDS=2] [SHARED_BENCH_DIR=../shared/bench]
#
# chatd runs with --no-rate-limits --llm-max-concurrent-per-address 0: with the defaults, 16 connections
# from one address are mostly answered 429 (a share of 8 model calls in flight per address).
set -u
A="${1:?usage: chat_echo_side_by_side.sh CHATD_A CHATD_B [ROUNDS] [SHARED_BENCH_DIR]}"; B="${2:?}"
ROUNDS="${3:-2}"
PEER="${4:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/bench}/peer-django"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/chat-echo.XXXXXX")"
SECRET="chat-echo-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
stop_pid() { kill -TERM "$1" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -KILL "$1" 2>/dev/null; }
run_wrk() {  # NAME PORT
  local sid
  sid=$(curl -sf -X POST -H 'Content-Type: application/json' --data "{\"session_id\":\"bench-$RANDOM$RANDOM\"}" \
        "http://127.0.0.1:$2/api/chats/sessions/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])')
  BENCH_SESSION_ID="$sid" wrk -t2 -c16 -d10s --latency --timeout 10s -s "$PEER/bench/post_chat.lua" \
      "http://127.0.0.1:$2/api/chats/messages/chat/" >"$OUT/$1.txt" 2>&1
  echo "$1 req/s=$(awk '/^Requests\/sec/ {print $2}' "$OUT/$1.txt") p50=$(awk '$1 == "50%" {print $2}' "$OUT/$1.txt")" \
       "p99=$(awk '$1 == "99%" {print $2}' "$OUT/$1.txt") $(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$OUT/$1.txt")"
}
for r in $(seq 1 "$ROUNDS"); do
  for which in A B; do
    bin="$A"; [ "$which" = B ] && bin="$B"
    d=$(mktemp -d); p=$(free_port)
    "$bin" --host 127.0.0.1 --port "$p" --db "$d/chat.db" --jwt-secret "$SECRET" --no-rate-limits \
        --llm-max-concurrent-per-address 0 >"$OUT/chatd-$which-$r.log" 2>&1 &
    cp=$!; wait_port "$p"
    run_wrk "chatd-$which-r$r" "$p"
    stop_pid "$cp"; rm -rf "$d"
  done
  p=$(free_port)
  if dp=$("$PEER/run.sh" "$p" 2>"$OUT/django-$r.err"); then
    run_wrk "django-r$r" "$p"
    "$PEER/stop.sh" "$dp" >/dev/null 2>&1
  else
    echo "django peer did not start (see $OUT/django-$r.err)"
  fi
done
echo "raw output: $OUT"
