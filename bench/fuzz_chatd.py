#!/usr/bin/env python3
"""Fuzz a real chatd process for a while and report requests, rate, failures and peak RSS.

Standard library only. Starts its own chatd (a fresh SQLite file in a temporary
directory, the echo provider) and stops it at the end:

  python3 bench/fuzz_chatd.py --chatd build/apps/chatd/chatd --seconds 120 --threads 256

Phase 1 (issue 10, item 4): --long-path-requests requests for GET / + 8,100
letters over 64 connections; prints chatd's VmRSS before and after (it was
13.6 MB -> 1.18 GB with httplib's regex routing and --threads 256).

Phase 2: --workers threads send seeded random requests for --seconds: every
route chatd registers (paths with random ids, percent-encoded text with NUL,
invalid UTF-8, long strings), random queries, tokens (none, user, agent,
admin, garbage), JSON bodies with random fields and values, raw non-JSON
bodies, Content-Length or chunked framing, batches of 1-3 pipelined requests
on keep-alive connections, some with a mangled method or target, some
followed by a half-close. A failure is a 5xx, or a well-formed request with
no answer. chatd's VmRSS is sampled every 0.5 s; the peak is VmHWM.
Exit status 1 when there was any failure.
"""
import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import json

ROUTES = [
    "/api/agents/", "/api/agents/{id}/", "/api/chat/health", "/api/chat/sessions", "/api/chat/{id}/context",
    "/api/chat/{id}/history", "/api/chat/start", "/api/chat/{id}/deactivate", "/api/chat/{id}/message",
    "/api/chats/messages/", "/api/chats/messages/{id}/", "/api/chats/messages/chat/",
    "/api/chats/sessions/", "/api/chats/sessions/{id}/", "/api/conversation/", "/api/jobs/",
    "/api/jobs/{id}/", "/api/jobs/{id}/quote-chat/", "/api/messages/", "/api/messages/{id}/", "/api/profile/",
    "/chat/analytics/dashboard", "/chat/analytics/global", "/chat/conversations", "/chat/conversations/{id}",
    "/chat/conversations/{id}/messages", "/chat/conversations/{id}/read", "/chat/conversations/{id}/sessions",
    "/chat/conversations/search", "/chat/search", "/healthz", "/metrics",
]
PIECES = ["hello", "über", "Straße", "Ärztin", "αβ", "😀", "\u00a0", "\u3000", " ", "\t", "%", "'", '"', "\\",
          "*", "OR", "NEAR(", '"a', "_", "\x7f", "<script>", "null", "-1", "0", "9999999999999"]
RAW = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00"]
QUERY_KEYS = ["search", "query", "q", "limit", "offset", "page", "page_size", "since", "session_id",
              "external_user_id", "status", "from", "to", "period", "include_deleted", "role", "x"]
FIELDS = ["content", "message", "title", "session_id", "conversation", "role", "name", "email", "question",
          "metadata", "external_user_id", "client_id", "text", "query", "job_id", "model", "status"]
METHODS = ["GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def rss(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Gen:
    def __init__(self, seed, tokens, ids):
        self.r = random.Random(seed)
        self.tokens = tokens
        self.ids = ids

    def text(self):
        r = self.r
        n = 200 + r.randrange(3000) if r.random() < 0.05 else r.randrange(6)
        out = bytearray()
        for _ in range(n):
            x = r.random()
            if x < 0.05:
                out += r.choice(RAW)
            elif x < 0.12:
                out.append(r.randrange(256))
            else:
                out += r.choice(PIECES).encode()
        return bytes(out)

    @staticmethod
    def pct(b):
        return "".join(chr(c) if (chr(c).isalnum() and c < 128) or c in b"-_." else "%%%02X" % c for c in b)

    def segment(self):
        r = self.r
        k = r.randrange(6)
        if k == 0:
            return str(r.randrange(20))
        if k == 1:
            return r.choice(self.ids)
        if k == 2:
            return "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        if k == 3:
            return self.pct(self.text())
        if k == 4:
            return "a" * (1 + r.randrange(2000))
        return "-" + str(r.randrange(1000))

    def path(self):
        if self.r.random() < 0.05:
            return "/" + self.pct(self.text())
        p = re.sub(r"\{[a-z_]+\}", lambda m: self.segment(), self.r.choice(ROUTES))
        if self.r.random() < 0.1:
            p += "/" + self.segment()
        return p

    def query(self):
        r = self.r
        parts = []
        for _ in range(r.randrange(4)):
            v = str(r.randrange(300) - 50) if r.random() < 0.3 else self.pct(self.text())
            parts.append(r.choice(QUERY_KEYS) + "=" + v)
        return ("?" + "&".join(parts)) if parts else ""

    def value(self, depth=0):
        r = self.r
        k = r.randrange(5 if depth > 2 else 7)
        if k == 0:
            return None
        if k == 1:
            return r.random() < 0.5
        if k == 2:
            return r.randrange(1_000_000) - 1000
        if k == 3:
            return 1.5
        if k == 4:
            return self.text().decode("utf-8", "surrogateescape")
        if k == 5:
            return [self.value(depth + 1), self.value(depth + 1)]
        return {"k": self.value(depth + 1)}

    def body(self):
        r = self.r
        if r.random() < 0.05:
            return self.text()
        b = {}
        for _ in range(r.randrange(5)):
            b[r.choice(FIELDS)] = self.text().decode("utf-8", "surrogateescape") if r.random() < 0.6 else self.value()
        return json.dumps(b, ensure_ascii=r.random() < 0.5).encode("utf-8", "surrogateescape")

    def request(self):
        """(bytes, method, mangled)"""
        r = self.r
        method = r.choice(METHODS)
        head = f"{method} {self.path()}{self.query()} HTTP/1.1\r\nHost: fuzz\r\n"
        tok = r.choice(self.tokens)
        if tok:
            head += f"Authorization: Bearer {tok}\r\n"
        for i in range(r.randrange(3)):
            head += f"X-Fuzz-{i}: {self.pct(self.text())}\r\n"
        body = b""
        if method in ("POST", "PUT", "PATCH") or r.random() < 0.05:
            body = self.body()
        if body or r.random() < 0.5:
            head += "Content-Type: application/json\r\n"
        framed = b""
        if body and r.random() < 0.2:
            head += "Transfer-Encoding: chunked\r\n"
            at = 0
            while at < len(body):
                n = min(len(body) - at, 1 + r.randrange(64))
                framed += b"%x\r\n" % n + body[at:at + n] + b"\r\n"
                at += n
            framed += b"0\r\n\r\n"
        elif body or r.random() < 0.3:
            head += f"Content-Length: {len(body)}\r\n"
            framed = body
        out = bytearray(head.encode() + b"\r\n" + framed)
        mangled = r.random() < 0.03
        if mangled:
            end = out.index(b" HTTP/1.1\r\n")
            c = r.randrange(256)
            out[r.randrange(end)] = 0 if c in (10, 13) else c
        return bytes(out), method, mangled


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def response(self, head_only):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        h = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            h[k.strip().lower()] = v.strip()
        if head_only or status in (204, 304) or status < 200:
            return status, h
        if h.get(b"transfer-encoding") == b"chunked":
            while True:
                while b"\r\n" not in self.buf:
                    self.fill()
                size_line, rest = self.buf.split(b"\r\n", 1)
                n = int(size_line, 16)
                while len(rest) < n + 2:
                    self.fill()
                    size_line, rest = self.buf.split(b"\r\n", 1)
                self.buf = rest[n + 2:]
                if n == 0:
                    return status, h
        n = int(h.get(b"content-length", b"0"))
        while len(self.buf) < n:
            self.fill()
        self.buf = self.buf[n:]
        return status, h

    def close(self):
        self.s.close()


def start_chatd(args, tmp):
    secret = "fuzz-secret-" + "x" * 32
    db = os.path.join(tmp, "fuzz.db")
    cmd = [args.chatd, "--port", "0", "--db", db, "--jwt-secret", secret, "--threads", str(args.threads)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    m = re.search(r":(\d+) ", line)
    if not m:
        p.kill()
        sys.exit("chatd did not start: " + line)
    tokens = [""]
    for sub, role in (("1", "user"), ("2", "agent"), ("3", "admin")):
        tokens.append(subprocess.check_output([args.chatd, "token", "--sub", sub, "--role", role, "--jwt-secret",
                                               secret], text=True).strip())
    tokens.append("garbage.token.here")
    return p, int(m.group(1)), tokens


def long_paths(port, count):
    req = ("GET /" + "a" * 8100 + " HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    done = [0]
    lock = threading.Lock()

    def worker(n):
        c = Conn(port)
        for _ in range(n):
            c.s.sendall(req)
            st, _ = c.response(False)
            if st == 404:
                with lock:
                    done[0] += 1
        c.close()

    ts = [threading.Thread(target=worker, args=(count // 64,)) for _ in range(64)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return done[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chatd", default="build/apps/chatd/chatd")
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--threads", type=int, default=256, help="chatd --threads")
    ap.add_argument("--seed", type=int, default=20260110)
    ap.add_argument("--long-path-requests", type=int, default=512)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        proc, port, tokens = start_chatd(args, tmp)
        try:
            time.sleep(0.2)
            start_rss = rss(proc.pid)
            n = long_paths(port, args.long_path_requests)
            print(f"long paths: {n} x GET /+8100 letters answered 404; chatd VmRSS {start_rss / 1024:.1f} MB -> "
                  f"{rss(proc.pid) / 1024:.1f} MB (--threads {args.threads})", flush=True)

            c = Conn(port)
            c.s.sendall(b'POST /api/messages/ HTTP/1.1\r\nHost: x\r\nContent-Length: 19\r\n\r\n{"content":"hello"}')
            c.close()
            ids = ["1", "2"]
            stats = {"sent": 0, "answered": 0, "fail": 0, "dropped": 0, "by_class": {}}
            failures = []
            lock = threading.Lock()
            stop_at = time.time() + args.seconds
            peak = [start_rss]

            def sampler():
                while time.time() < stop_at:
                    peak[0] = max(peak[0], rss(proc.pid))
                    time.sleep(0.5)

            def worker(w):
                g = Gen(args.seed + w, tokens, ids)
                conn = None
                while time.time() < stop_at:
                    if conn is None:
                        conn = Conn(port)
                    batch = []
                    data = b""
                    for _ in range(1 + g.r.randrange(3)):
                        req, method, mangled = g.request()
                        batch.append((method, mangled, req))
                        data += req
                        if mangled:
                            break
                    half_close = g.r.random() < 0.02
                    local = {"sent": len(batch), "answered": 0, "fail": 0, "dropped": 0}
                    # A mangled method may have been a HEAD's: its answer's body would confuse the next read.
                    reconnect = half_close or batch[-1][1]
                    try:
                        conn.s.sendall(data)
                        if half_close:
                            conn.s.shutdown(socket.SHUT_WR)
                        for method, mangled, req in batch:
                            try:
                                st, h = conn.response(method == "HEAD")
                            except (EOFError, OSError, ValueError, IndexError):
                                if not mangled:
                                    local["fail"] += 1
                                    failures.append(("no answer", req[:200]))
                                reconnect = True
                                break
                            local["answered"] += 1
                            with lock:
                                stats["by_class"][st // 100] = stats["by_class"].get(st // 100, 0) + 1
                            if st >= 500:
                                local["fail"] += 1
                                failures.append((st, req[:200]))
                            if h.get(b"connection") == b"close":
                                # A refused request (414, 413, 400...) ends the connection; what was
                                # piped after it is not answered.
                                local["dropped"] += len(batch) - local["answered"]
                                reconnect = True
                                break
                    except OSError:
                        reconnect = True
                    with lock:
                        for k in ("sent", "answered", "fail", "dropped"):
                            stats[k] += local[k]
                    if reconnect:
                        conn.close()
                        conn = None
                if conn:
                    conn.close()

            began = time.time()
            threads = [threading.Thread(target=sampler)] + [threading.Thread(target=worker, args=(w,))
                                                             for w in range(args.workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            took = time.time() - began
            hwm = rss(proc.pid, "VmHWM")
            print(f"fuzz: {stats['sent']} requests in {took:.0f} s ({stats['sent'] / took:.0f} req/s), "
                  f"{stats['answered']} answered, {stats['dropped']} piped after a refusal, {stats['fail']} failures; by class "
                  + ", ".join(f"{k}xx {v}" for k, v in sorted(stats["by_class"].items())))
            print(f"chatd VmRSS: start {start_rss / 1024:.1f} MB, peak sampled {peak[0] / 1024:.1f} MB, "
                  f"VmHWM {hwm / 1024:.1f} MB, end {rss(proc.pid) / 1024:.1f} MB; still running: {proc.poll() is None}")
            for f in sorted(failures, key=lambda f: f[0] == "no answer")[:10]:
                print("  failure:", f)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
