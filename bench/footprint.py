#!/usr/bin/env python3
"""chatd's footprint (issue 11): time from exec to the first answered
/healthz, RSS and threads idle, and RSS and threads after two of the
side-by-side workloads on seed 002 (wrk -t2 -c16 --duration each, with
../shared/bench/peer-django's script): (c) POST /api/messages/?since=N
appending to one conversation, (d) GET /api/messages/{uuid}/?since=N, an
empty poll of a conversation of 10 messages.

Standard library and wrk; hand-run, not part of CTest:

  python3 bench/footprint.py [--chatd build/apps/chatd/chatd] [--no-load] [-- extra chatd flags]

chatd is started as the side-by-side script starts it (a fresh database in a
temporary folder, --jwt-secret, the extra flags; pass --no-rate-limits, else
most of the load is answered 429) and stopped by its PID.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "bench", "peer-django", "bench",
                                   "post_conversation_message.lua"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def wrk(url, duration, env=None, script=None):
    cmd = ["wrk", "-t2", "-c16", "-d" + duration, "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env={**os.environ, **(env or {})}).stdout
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return f"{rps.group(1) if rps else '?'} req/s, non-2xx {non2xx.group(1) if non2xx else 0}"


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = value.strip()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", default=os.path.join(HERE, "..", "build", "apps", "chatd", "chatd"))
    ap.add_argument("--lua", default=LUA, help="peer-django's post_conversation_message.lua")
    ap.add_argument("--duration", default="10s", help="wrk -d for each workload")
    ap.add_argument("--no-load", action="store_true", help="start and idle figures only")
    ap.add_argument("--idle-seconds", type=float, default=2.0)
    ap.add_argument("extra", nargs="*", help="extra chatd flags (after --)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="footprint.")
    port = free_port()
    cmd = [args.chatd, "--host", "127.0.0.1", "--port", str(port), "--db", os.path.join(tmp, "chat.db"),
           "--jwt-secret", "footprint-" + os.urandom(12).hex()] + args.extra
    log = open(os.path.join(tmp, "chatd.log"), "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        while not healthz(port):
            if proc.poll() is not None:
                sys.exit(f"chatd exited with {proc.returncode}; see {log.name}")
            if time.monotonic() - t0 > 10:
                sys.exit("no /healthz answer within 10 s")
            time.sleep(0.001)
        first = (time.monotonic() - t0) * 1000
        print(f"exec to first /healthz 200: {first:.1f} ms")
        time.sleep(args.idle_seconds)
        s = status(proc.pid)
        print(f"idle: VmRSS {s['VmRSS']}, Threads {s['Threads']}")
        if not args.no_load:
            first_c = post(port, "/api/messages/", {"content": "footprint conversation c"})["items"][0]
            conv_d = post(port, "/api/messages/", {"content": "footprint d 1"})["items"][0]["conversation"]
            for i in range(2, 11):
                last_d = post(port, "/api/messages/", {"conversation": conv_d, "content": f"footprint d {i}"})
            since_d = last_d["items"][-1]["id"]
            print("(c) POST seed 002 append:", wrk(f"http://127.0.0.1:{port}/api/messages/", args.duration,
                  {"BENCH_CONVERSATION": first_c["conversation"], "BENCH_SINCE": str(first_c["id"])}, args.lua))
            s = status(proc.pid)
            print(f"after (c): VmRSS {s['VmRSS']}, Threads {s['Threads']}")
            print("(d) GET seed 002 empty poll:",
                  wrk(f"http://127.0.0.1:{port}/api/messages/{conv_d}/?since={since_d}", args.duration))
            s = status(proc.pid)
            print(f"after (d): VmRSS {s['VmRSS']}, VmHWM {s['VmHWM']}, Threads {s['Threads']}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
