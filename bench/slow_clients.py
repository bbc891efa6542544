#!/usr/bin/env python3
"""Hold N slow-header sockets and N idle keep-alive connections against a
running chatd and report /healthz latency while they are held (issue 9, item 2).

Standard library only; hand-run, not part of CTest:

  build/apps/chatd/chatd --port 8099 --db :memory: --threads 64 &
  python3 bench/slow_clients.py --port 8099 --slow 2000 --idle 2000 --seconds 30

- slow: each socket sends a request line and the start of a header, then one
  more byte every --interval seconds (the classic slowloris); when chatd cuts
  it (408 at --request-timeout from its first byte) it reconnects, so N stay held.
- idle: each connection sends GET /healthz, reads the answer and stays open,
  asking again every --interval seconds (below chatd's 5 s keep-alive
  timeout); reconnects when closed.
- meanwhile one client asks GET /healthz on a new connection every 20 ms and
  the script prints p50 / p99 / max latency and failures (no answer in 5 s).
Sockets connect from --sources loopback source addresses (127.0.0.2, ...),
so that chatd's per-address cap (256 by default) counts them as different
clients; use --sources 1 to see the cap at work (the prober shares that
address then, and is refused with the flood).
"""
import argparse
import resource
import selectors
import socket
import statistics
import threading
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Holder:
    """Keeps `count` sockets of one kind open from one thread."""

    def __init__(self, args, kind, count):
        self.args, self.kind, self.count = args, kind, count
        self.sel = selectors.DefaultSelector()
        self.socks = {}
        self.opened = 0
        self.reconnects = 0
        self.refused = 0
        self.next_source = 0
        self.stop = False

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.args.sources > 1:
            self.next_source = self.next_source % self.args.sources + 1
            s.bind((f"127.0.0.{1 + self.next_source}", 0))
        s.setblocking(False)
        try:
            s.connect((self.args.host, self.args.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        self.opened += 1
        first = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " if self.kind == "slow"
                 else b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.socks[s] = {"pending": first, "last": time.monotonic()}
        self.sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)

    def drop(self, s):
        self.sel.unregister(s)
        s.close()
        del self.socks[s]
        self.reconnects += 1

    def run(self):
        for _ in range(self.count):
            self.connect()
        while not self.stop:
            for key, ev in self.sel.select(timeout=0.2):
                s = key.fileobj
                st = self.socks.get(s)
                if st is None:
                    continue
                if ev & selectors.EVENT_READ:
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if not data or (self.kind == "slow"):  # a slow socket is only ever answered 408/429/503
                        if data and (b" 429 " in data[:20] or b" 503 " in data[:20]):
                            self.refused += 1
                        self.drop(s)
                        continue
                    if b" 429 " in data[:20] or b" 503 " in data[:20]:
                        self.refused += 1
                if ev & selectors.EVENT_WRITE and st["pending"]:
                    try:
                        n = s.send(st["pending"])
                        st["pending"] = st["pending"][n:]
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        self.drop(s)
                        continue
                    if not st["pending"]:
                        self.sel.modify(s, selectors.EVENT_READ)
            now = time.monotonic()
            for s, st in list(self.socks.items()):
                if not st["pending"] and now - st["last"] >= self.args.interval:
                    st["last"] = now
                    st["pending"] = b"y" if self.kind == "slow" else b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    self.sel.modify(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while len(self.socks) < self.count and not self.stop:
                self.connect()
        for s in list(self.socks):
            s.close()


def healthz_once(host, port):
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        if not data.startswith(b"HTTP/1.1 200"):
            return None
    except OSError:
        return None
    return (time.monotonic() - start) * 1000.0


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--slow", type=int, default=2000, help="slow-header sockets to hold")
    ap.add_argument("--idle", type=int, default=2000, help="idle keep-alive connections to hold")
    ap.add_argument("--seconds", type=float, default=30, help="how long to measure once all are open")
    ap.add_argument("--interval", type=float, default=4, help="seconds between a held socket's bytes")
    ap.add_argument("--sources", type=int, default=200, help="loopback source addresses to spread over")
    args = ap.parse_args()
    nofile = raise_nofile()
    if args.slow + args.idle + 100 > nofile:
        print(f"warning: open file limit {nofile} is below {args.slow + args.idle + 100}")

    baseline = [v for v in (healthz_once(args.host, args.port) for _ in range(50)) if v is not None]
    holders = [Holder(args, "slow", args.slow), Holder(args, "idle", args.idle)]
    threads = [threading.Thread(target=h.run, daemon=True) for h in holders]
    for t in threads:
        t.start()
    time.sleep(max(3.0, (args.slow + args.idle) / 1000.0))  # let them connect
    lat, failures = [], 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        v = healthz_once(args.host, args.port)
        if v is None:
            failures += 1
        else:
            lat.append(v)
        time.sleep(0.02)
    held = [len(h.socks) for h in holders]
    for h in holders:
        h.stop = True
    for t in threads:
        t.join()

    print(f"held: {held[0]} slow-header sockets, {held[1]} idle keep-alive connections "
          f"(reconnects: slow {holders[0].reconnects}, idle {holders[1].reconnects}; "
          f"refused 429/503: {holders[0].refused + holders[1].refused})")
    if baseline:
        print(f"/healthz before:  n={len(baseline)} p50={statistics.median(baseline):.2f} ms "
              f"p99={pct(baseline, 99):.2f} ms")
    if lat:
        print(f"/healthz while held: n={len(lat)} p50={statistics.median(lat):.2f} ms p99={pct(lat, 99):.2f} ms "
              f"max={max(lat):.2f} ms failures={failures}")
    else:
        print(f"/healthz while held: no answer at all ({failures} failures)")


if __name__ == "__main__":
    main()
