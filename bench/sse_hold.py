#!/usr/bin/env python3
"""Hold N open seed-001 SSE streams against a running chatd and measure it.

Standard library only. Starts nothing: run chatd first, e.g.

  build/apps/chatd/chatd --db :memory: --port 8099 --llm-echo-delay-ms 1000 &
  python3 bench/sse_hold.py --port 8099 --streams 1000 --pid $!

Each stream is one POST /api/chats/messages/chat/stream/ whose message has
--words words: the echo provider sleeps --llm-echo-delay-ms before each word,
so a stream stays open about (words + 1) x delay. The script opens them all,
waits until chatd reports them open (chatd_open_streams in /metrics), then
times ordinary requests made meanwhile (GET /healthz, GET a session, POST a
message), reads chatd's VmRSS from /proc/<pid>/status, and finally checks
how many streams still end with a done event (--drain) or just closes them.
"""
import argparse
import http.client
import json
import re
import socket
import statistics
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def request(host, port, method, path, body=None):
    c = http.client.HTTPConnection(host, port, timeout=30)
    t0 = time.perf_counter()
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    c.close()
    return r.status, data, dt


def open_streams(host, port):
    _, data, _ = request(host, port, "GET", "/metrics")
    m = re.search(rb"^chatd_open_streams (\d+)", data, re.M)
    return int(m.group(1)) if m else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--words", type=int, default=60)
    ap.add_argument("--pid", type=int, required=True, help="chatd's pid, for RSS")
    ap.add_argument("--samples", type=int, default=20, help="ordinary requests of each kind timed meanwhile")
    ap.add_argument("--drain", action="store_true", help="read every stream to its end")
    ap.add_argument("--shared-session", action="store_true", help="every stream in one session")
    a = ap.parse_args()

    status, data, _ = request(a.host, a.port, "POST", "/api/chats/sessions/", {"session_id": "bench-hold"})
    assert status in (201, 409), (status, data)
    rss_start = rss_kib(a.pid)
    threads_before = threads_of(a.pid)

    # One session per stream, as 1,000 landing-page visitors would have (with
    # --shared-session all streams go to one session, whose growing history
    # every reply then loads as context).
    names = []
    for i in range(a.streams):
        name = "bench-hold" if a.shared_session else f"bench-{i}"
        if not a.shared_session:
            st, data, _ = request(a.host, a.port, "POST", "/api/chats/sessions/", {"session_id": name})
            assert st in (201, 409), (st, data)
        names.append(name)
    rss_before = rss_kib(a.pid)
    msg = " ".join(f"w{i}" for i in range(a.words))
    socks, refused = [], 0
    t0 = time.perf_counter()
    for name in names:
        body = json.dumps({"session_id": name, "message": msg}).encode()
        req = (f"POST /api/chats/messages/chat/stream/ HTTP/1.1\r\nHost: {a.host}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        s = socket.create_connection((a.host, a.port), timeout=30)
        s.sendall(req)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            refused += 1
            s.close()
            continue
        socks.append((s, head))
    open_time = time.perf_counter() - t0
    for _ in range(100):
        if open_streams(a.host, a.port) >= len(socks):
            break
        time.sleep(0.05)
    held = open_streams(a.host, a.port)

    lat = {"GET /healthz": [], "GET /api/chats/sessions/bench-hold/": [], "POST /api/chats/messages/": []}
    for _ in range(a.samples):
        lat["GET /healthz"].append(request(a.host, a.port, "GET", "/healthz")[2])
        lat["GET /api/chats/sessions/bench-hold/"].append(
            request(a.host, a.port, "GET", "/api/chats/sessions/bench-hold/")[2])
        st, _, dt = request(a.host, a.port, "POST", "/api/chats/messages/",
                            {"session_id": "bench-hold", "message": "meanwhile"})
        assert st == 201, st
        lat["POST /api/chats/messages/"].append(dt)
    rss_held = rss_kib(a.pid)
    threads_held = threads_of(a.pid)

    print(f"streams requested {a.streams}, opened {len(socks)} in {open_time:.2f} s, refused {refused}")
    print(f"chatd_open_streams while held: {held}")
    print(f"chatd RSS: {rss_start / 1024:.1f} MiB at start, {rss_before / 1024:.1f} MiB with the sessions made, "
          f"{rss_held / 1024:.1f} MiB with the streams open "
          f"({(rss_held - rss_before) / max(len(socks), 1):.1f} KiB per stream); threads {threads_before} -> {threads_held}")
    for k, v in lat.items():
        v = sorted(v)
        print(f"{k:40s} median {statistics.median(v) * 1000:7.2f} ms   max {v[-1] * 1000:7.2f} ms   (n={len(v)})")

    done = 0
    if a.drain:
        t1 = time.perf_counter()
        for s, head in socks:
            buf = head
            s.settimeout(600)
            while b'"done": true' not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            done += b'"done": true' in buf
        print(f"streams ending with a done event: {done}/{len(socks)} (drained in {time.perf_counter() - t1:.1f} s)")
    for s, _ in socks:
        s.close()


if __name__ == "__main__":
    main()
