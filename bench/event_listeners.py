#!/usr/bin/env python3
"""Holds many SSE event-stream listeners on a real chatd and measures what they cost (issue 14).

Starts chatd (Release build, an SQLite file in a temporary directory, bounds raised for one client
address), opens seed 002 customer conversations, holds --listeners event streams
(GET /api/messages/{uuid}/events) spread over them, with --hot of them on one conversation, then:

  - chatd's RSS (VmRSS, VmHWM) and thread count with every listener open;
  - fan-out: --posts messages posted to the hot conversation, one at a time; for each, the time
    from just before the POST is sent until each hot listener has read its `message.created`
    event (p50 / p99 / max over every delivery);
  - ordinary requests while the listeners are open: --requests seed 002 polls of another
    conversation, one after another on one keep-alive connection (p50 / p99).

Everything runs on this machine: the client's own work (Python parsing 10,000 sockets) is part of
the fan-out figure, so it is an upper bound on chatd's delivery time.

Usage (from the project root, after `make`):
  python3 bench/event_listeners.py --chatd build/apps/chatd/chatd [--listeners 10000] [--hot 1000]
"""
import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = value.strip()
    return out


async def http_request(host, port, method, path, body=None, headers=None):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        return await request_on(reader, writer, host, method, path, body, headers, close=True)
    finally:
        writer.close()


async def request_on(reader, writer, host, method, path, body=None, headers=None, close=False):
    data = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(data)}"]
    if body is not None:
        head.append("Content-Type: application/json")
    if close:
        head.append("Connection: close")
    for k, v in (headers or {}).items():
        head.append(f"{k}: {v}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode().partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
        if k.strip().lower() == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
    if chunked:
        payload = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            payload += await reader.readexactly(size)
            await reader.readline()
    else:
        payload = await reader.readexactly(length) if length else b""
    return status, payload


class Listener:
    """One event stream; records when each message.created (by message id) arrived."""

    def __init__(self, host, port, path):
        self.host, self.port, self.path = host, port, path
        self.ready = asyncio.get_running_loop().create_future()
        self.seen = {}
        self.waiters = {}
        self.task = None
        self.writer = None

    async def run(self):
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self.writer = writer
        writer.write(f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        if status != 200:
            self.ready.set_exception(RuntimeError(f"{self.path}: HTTP {status}"))
            return
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        event = None
        async for raw in reader:
            line = raw.rstrip(b"\r\n")
            # Chunk-size lines of a chunked body carry no colon; SSE fields do.
            if line.startswith(b"event:"):
                event = line[6:].strip().decode()
                if event == "ready" and not self.ready.done():
                    self.ready.set_result(True)
            elif line.startswith(b"data:") and event == "message.created":
                now = time.perf_counter()
                try:
                    data = json.loads(line[5:])
                except ValueError:
                    continue
                mid = data.get("id")
                self.seen[mid] = now
                w = self.waiters.pop(mid, None)
                if w and not w.done():
                    w.set_result(now)
            elif line == b"":
                event = None
        if not self.ready.done():
            self.ready.set_exception(RuntimeError("stream ended before ready"))

    def arrival(self, mid):
        if mid in self.seen:
            f = asyncio.get_running_loop().create_future()
            f.set_result(self.seen[mid])
            return f
        f = asyncio.get_running_loop().create_future()
        self.waiters[mid] = f
        return f


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--listeners", type=int, default=10000)
    ap.add_argument("--hot", type=int, default=1000, help="listeners on the one conversation posted to")
    ap.add_argument("--per-conversation", type=int, default=10, help="listeners per other conversation")
    ap.add_argument("--posts", type=int, default=30)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--port", type=int, default=18391)
    ap.add_argument("--events-path", default="/api/messages/{uuid}/events")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.listeners + 1024
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))

    host, port = "127.0.0.1", args.port
    tmp = tempfile.mkdtemp(prefix="chatd-events-bench-")
    n = args.listeners + 512
    cmd = [args.chatd, "--host", host, "--port", str(port), "--db", os.path.join(tmp, "chat.db"),
           "--jwt-secret", "bench-secret-of-at-least-32-bytes-0123456789",
           "--max-connections", str(n * 2), "--max-connections-per-address", str(n * 2),
           "--max-event-streams", str(n), "--max-event-streams-per-address", str(n),
           "--no-rate-limits"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)))
    try:
        deadline = time.time() + 30
        while True:
            line = proc.stdout.readline()
            if "listening on" in line:
                break
            if not line and proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"chatd did not start: {' '.join(cmd)}")
        print(f"chatd {' '.join(cmd[1:])}")
        idle = proc_status(proc.pid)

        async def new_conversation():
            status, body = await http_request(host, port, "POST", "/api/messages/", {"content": "hello", "name": "bench"})
            assert status in (200, 201), (status, body)
            return json.loads(body)["items"][0]["conversation"]

        others = max(1, (args.listeners - args.hot + args.per_conversation - 1) // args.per_conversation)
        hot = await new_conversation()
        quiet = await new_conversation()
        uuids = []
        for _ in range(others):
            uuids.append(await new_conversation())

        listeners = []
        t0 = time.perf_counter()
        for i in range(args.listeners):
            uuid = hot if i < args.hot else uuids[(i - args.hot) // args.per_conversation]
            l = Listener(host, port, args.events_path.format(uuid=uuid))
            l.task = asyncio.ensure_future(l.run())
            listeners.append(l)
            if i % 500 == 499:
                await asyncio.gather(*(x.ready for x in listeners[i - 499:i + 1]))
        await asyncio.gather(*(x.ready for x in listeners))
        opened = time.perf_counter() - t0
        full = proc_status(proc.pid)
        print(f"{args.listeners} listeners open in {opened:.1f} s "
              f"({args.hot} on one conversation, the rest {args.per_conversation} per conversation)")
        print(f"chatd idle:           RSS {idle['VmRSS']}, threads {idle['Threads']}")
        print(f"chatd with listeners: RSS {full['VmRSS']}, peak {full['VmHWM']}, threads {full['Threads']}")

        hot_listeners = listeners[:args.hot]
        delays = []
        for k in range(args.posts):
            start = time.perf_counter()
            status, body = await http_request(host, port, "POST", "/api/messages/",
                                              {"content": f"fan-out {k}", "conversation": hot})
            assert status in (200, 201), (status, body)
            mid = json.loads(body)["items"][-1]["id"]
            arrivals = await asyncio.wait_for(asyncio.gather(*(l.arrival(mid) for l in hot_listeners)), 30)
            delays.extend((a - start) * 1000 for a in arrivals)
            await asyncio.sleep(0.1)
        print(f"fan-out to {args.hot} listeners, {args.posts} posts: p50 {percentile(delays, 50):.1f} ms, "
              f"p99 {percentile(delays, 99):.1f} ms, max {max(delays):.1f} ms")

        reader, writer = await asyncio.open_connection(host, port)
        lat = []
        for i in range(args.requests):
            if i and i % 500 == 0:  # chatd ends a keep-alive connection after 1,000 requests
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            s = time.perf_counter()
            status, _ = await request_on(reader, writer, host, "GET", f"/api/messages/{quiet}/")
            lat.append((time.perf_counter() - s) * 1000)
            assert status == 200
        writer.close()
        print(f"ordinary requests (seed 002 poll, sequential, {args.requests}): p50 {percentile(lat, 50):.2f} ms, "
              f"p99 {percentile(lat, 99):.2f} ms")
        after = proc_status(proc.pid)
        print(f"chatd after:          RSS {after['VmRSS']}, peak {after['VmHWM']}, threads {after['Threads']}")
        for l in listeners:
            if l.writer:
                l.writer.close()
        for l in listeners:
            l.task.cancel()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    asyncio.run(main())
