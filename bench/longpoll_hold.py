#!/usr/bin/env python3
"""Hold N seed-002 long-polls open against a running chatd and measure it.

Stdlib only. Against `chatd --db :memory:` (defaults: --threads 1536, so
--max-streams 1280):

    build/apps/chatd/chatd --port 8099 --db :memory: --jwt-secret "$S" &
    python3 bench/longpoll_hold.py --port 8099 --pid $! --polls 1000

What it does:
 1. POST /api/messages/ opens one customer conversation per 100 polls.
 2. Opens --polls connections, each sending
    GET /api/messages/{uuid}/?since=<last>&wait=30 (nothing new: they wait).
 3. Waits until /metrics shows them all open (chatd_open_streams), then
    reads the server's VmRSS / VmHWM / Threads from /proc/<pid>/status.
 4. Meanwhile measures ordinary requests on one keep-alive connection:
    GET /healthz, GET /api/messages/{uuid}/ (a plain poll), POST /api/messages/
    to a conversation nobody waits on: p50 / p99 / max.
 5. Posts one message to every waited conversation and measures how long until
    every held long-poll has answered with it (the broadcast wake-up).
 6. One more long-poll past --max-streams answers 429 (when --check-429).
"""
import argparse
import http.client
import json
import selectors
import socket
import statistics
import time


def request(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    data = json.dumps(body) if body is not None else None
    t0 = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    payload = r.read()
    return r.status, payload, time.perf_counter() - t0


def proc_status(pid):
    out = {}
    if not pid:
        return out
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = v.strip()
    return out


def open_streams(conn):
    _, body, _ = request(conn, "GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith("chatd_open_streams "):
            return int(float(line.split()[1]))
    return -1


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--pid", type=int, default=0, help="chatd pid, for /proc/<pid>/status")
    ap.add_argument("--polls", type=int, default=1000)
    ap.add_argument("--per-conversation", type=int, default=100)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--check-429", action="store_true")
    a = ap.parse_args()

    ctl = http.client.HTTPConnection(a.host, a.port, timeout=60)
    rss_before = proc_status(a.pid)

    convs = []
    for i in range((a.polls + a.per_conversation - 1) // a.per_conversation):
        st, body, _ = request(ctl, "POST", "/api/messages/", {"content": f"hello {i}", "name": "bench"})
        assert st == 200, (st, body)
        item = json.loads(body)["items"][0]
        convs.append((item["conversation"], item["id"]))

    sel = selectors.DefaultSelector()
    socks = []
    t_open = time.perf_counter()
    for i in range(a.polls):
        uuid, since = convs[i // a.per_conversation]
        s = socket.create_connection((a.host, a.port))
        s.sendall(f"GET /api/messages/{uuid}/?since={since}&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
        socks.append(s)
    deadline = time.time() + 30
    held = open_streams(ctl)
    while held < a.polls and time.time() < deadline:
        time.sleep(0.05)
        held = open_streams(ctl)
    t_held = time.perf_counter() - t_open
    status_held = proc_status(a.pid)

    # Ordinary requests while they are held.
    quiet_uuid, _ = convs[0]
    st, body, _ = request(ctl, "POST", "/api/messages/", {"content": "quiet"})
    other_uuid = json.loads(body)["items"][0]["conversation"]
    lat = {"GET /healthz": [], "GET /api/messages/{uuid}/": [], "POST /api/messages/": []}
    for i in range(a.samples):
        lat["GET /healthz"].append(request(ctl, "GET", "/healthz")[2])
        lat["GET /api/messages/{uuid}/"].append(request(ctl, "GET", f"/api/messages/{quiet_uuid}/?since=999999999")[2])
        st, _, dt = request(ctl, "POST", "/api/messages/?since=999999999", {"conversation": other_uuid, "content": f"m{i}"})
        assert st == 200
        lat["POST /api/messages/"].append(dt)

    refused = None
    if a.check_429:
        uuid, since = convs[0]
        st, _, _ = request(ctl, "GET", f"/api/messages/{uuid}/?since={since}&wait=30")
        refused = st

    # Broadcast: one post per conversation wakes every held poll.
    t_post = time.perf_counter()
    for uuid, _ in convs:
        st, _, _ = request(ctl, "POST", "/api/messages/?since=999999999", {"conversation": uuid, "content": "wake"})
        assert st == 200
    answered = 0
    while answered < a.polls and time.perf_counter() - t_post < 30:
        for key, _ in sel.select(timeout=1):
            buf = key.data
            chunk = key.fileobj.recv(65536)
            buf += chunk
            if not chunk or (b"\r\n\r\n" in buf and b'"wake"' in buf):
                sel.unregister(key.fileobj)
                answered += 1
    t_wake = time.perf_counter() - t_post
    for s in socks:
        s.close()

    print(f"long-polls requested: {a.polls}; held (chatd_open_streams): {held}; all held after {t_held:.2f} s")
    print(f"server before: {rss_before}")
    print(f"server while held: {status_held}")
    for name, v in lat.items():
        ms = [x * 1000 for x in v]
        print(f"{name:28s} n={len(ms)} p50={statistics.median(ms):.2f} ms p99={pct(ms, 99):.2f} ms max={max(ms):.2f} ms")
    if refused is not None:
        print(f"one more long-poll past the bound: HTTP {refused}")
    print(f"wake-up: {answered}/{a.polls} long-polls answered {t_wake * 1000:.0f} ms after the first of "
          f"{len(convs)} posts")


if __name__ == "__main__":
    main()
