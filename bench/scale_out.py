#!/usr/bin/env python3
"""Scaling out (issue 13): chatd on SQLite vs PostgreSQL, one instance vs two
on one PostgreSQL, and the cross-instance wake-up latency.

Starts its own throwaway PostgreSQL cluster (tests/pg/pg_cluster.sh, fsync
off: this measures chatd and the protocol, not a disk), its own chatd
processes on 127.0.0.1 (free ports), drives them with wrk from the same
machine, and stops everything by PID at the end. Prints a markdown table.

  python3 bench/scale_out.py --chatd build/apps/chatd/chatd [--duration 10] [--connections 32]

Scenarios (seed 002 routes, rate limits off):
  append: POST /api/messages/?since=<far future> {"conversation": one of 64, "content"}
          (the far `since` keeps the answer small: no messages newer than it)
  read:   GET /api/messages/{uuid}/?since=<the 50th newest id>: 50 messages
  each on: SQLite (a file, WAL), one chatd on PostgreSQL, two chatd on the
  same PostgreSQL (two wrk at once, half the connections each; the sum).
  wake-up: an agent's long-poll waits on instance B (?since=<last>&wait=25);
  the customer posts through A; the time from sending the post to B's answer.
  The same with the poll on A itself (same instance) as the baseline.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECRET = "scale-out-bench-secret-0123456789abcdef0123"


def pg_bin(name):
    try:
        d = subprocess.check_output(["pg_config", "--bindir"], text=True, stderr=subprocess.DEVNULL).strip()
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    except (OSError, subprocess.CalledProcessError):
        pass
    import glob
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise SystemExit(f"no {name}: install postgresql")


class Chatd:
    def __init__(self, binary, db, log_path, connections=8):
        env = dict(os.environ, CHATD_JWT_SECRET=SECRET)
        args = [binary, "--host", "127.0.0.1", "--port", "0", "--db", db, "--no-rate-limits", "--threads", "256",
                "--db-connections", str(connections)]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self.port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.stop()
            raise SystemExit(f"chatd did not start; see {log_path}")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def request(self, method, path, body=None, token=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            h = {"Content-Type": "application/json"}
            if token:
                h["Authorization"] = "Bearer " + token
            c.request(method, path, None if body is None else json.dumps(body), h)
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wrk(url, script, duration, connections, threads=2):
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency",
                          "-s", script, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)

    def ms(m):
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    return {"rps": rps, "p50": ms(p50), "p99": ms(p99), "errors": int(non2xx.group(1)) if non2xx else 0}


def setup_conversations(node, n):
    convs = []
    for i in range(n):
        s, body = node.request("POST", "/api/messages/", {"name": f"c{i}", "content": "hello"})
        assert s == 200, (s, body)
        convs.append(body["items"][0]["conversation"])
    return convs


def fill(node, conv, n):
    last = 0
    for i in range(n):
        s, body = node.request("POST", "/api/messages/?since=999999999999", {"conversation": conv, "content": f"m{i}"})
        assert s == 200, (s, body)
    s, body = node.request("GET", f"/api/messages/{conv}/?since=0")
    ids = [m["id"] for m in body["items"]]
    return ids


def scripts(tmp, convs):
    post = os.path.join(tmp, "post.lua")
    with open(post, "w") as f:
        f.write("local convs = {" + ",".join(f'"{c}"' for c in convs) + "}\n")
        f.write("local n = 0\n")
        f.write("request = function()\n  n = n + 1\n"
                "  local body = '{\"conversation\": \"' .. convs[math.random(#convs)] .. '\", \"content\": \"bench ' .. n .. '\"}'\n"
                "  return wrk.format('POST', '/api/messages/?since=999999999999', {['Content-Type'] = 'application/json'}, body)\n"
                "end\n")
    get = os.path.join(tmp, "get.lua")
    with open(get, "w") as f:
        f.write("")
    return post, get


def measure_pair(label, nodes, tmp, duration, connections):
    convs = setup_conversations(nodes[0], 64)
    read_conv = convs[0]
    ids = fill(nodes[0], read_conv, 200)
    since = ids[-51]
    post, get = scripts(tmp, convs)
    per = max(1, connections // len(nodes))
    res = {}
    for what, script, path in (("append", post, "/"), ("read", get, f"/api/messages/{read_conv}/?since={since}")):
        results = [None] * len(nodes)

        def run(i):
            results[i] = wrk(f"http://127.0.0.1:{nodes[i].port}{path}", script, duration, per,
                             threads=1 if len(nodes) > 1 else 2)

        ts = [threading.Thread(target=run, args=(i,)) for i in range(len(nodes))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        res[what] = {"rps": sum(r["rps"] for r in results), "p50": max(r["p50"] for r in results),
                     "p99": max(r["p99"] for r in results), "errors": sum(r["errors"] for r in results)}
        print(f"{label} {what}: {res[what]}", flush=True)
    return res


def wakeups(a, b, rounds):
    s, body = a.request("POST", "/api/messages/", {"name": "w", "content": "start"})
    conv, last = body["items"][0]["conversation"], body["items"][0]["id"]
    agent = subprocess.check_output([ARGS.chatd, "token", "--sub", "7", "--role", "agent", "--jwt-secret", SECRET],
                                    text=True).strip()
    out = []
    for i in range(rounds):
        got = {}
        ready = threading.Event()

        def poll():
            c = http.client.HTTPConnection("127.0.0.1", b.port, timeout=60)
            c.request("GET", f"/api/messages/{conv}/?since={last}&wait=25", headers={"Authorization": "Bearer " + agent})
            ready.set()
            r = c.getresponse()
            r.read()
            got["t"] = time.perf_counter()
            c.close()

        t = threading.Thread(target=poll)
        t.start()
        ready.wait()
        time.sleep(0.03)  # the poll is parked in the server by now
        t0 = time.perf_counter()
        s, body = a.request("POST", f"/api/messages/?since={last}", {"conversation": conv, "content": f"w{i}"})
        last = body["items"][-1]["id"]
        t.join(30)
        out.append((got["t"] - t0) * 1000)
    out.sort()
    return {"p50": statistics.median(out), "p99": out[min(len(out) - 1, int(len(out) * 0.99))], "max": out[-1],
            "n": len(out)}


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", default=os.path.join(ROOT, "build/apps/chatd/chatd"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wakeups", type=int, default=200)
    ARGS = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found (apt-get install wrk)")
    tmp = tempfile.mkdtemp(prefix="chat-scale-")
    state = os.path.join(tmp, "pg")
    cluster = os.path.join(ROOT, "tests/pg/pg_cluster.sh")
    url = subprocess.check_output(["sh", cluster, "start", state], text=True).strip()
    psql = pg_bin("psql")
    nodes = []
    rows = {}
    try:
        print(f"cluster {url}; load {os.getloadavg()}", flush=True)
        # SQLite, one instance.
        n = Chatd(ARGS.chatd, os.path.join(tmp, "chat.db"), os.path.join(tmp, "sqlite.log"))
        nodes.append(n)
        rows["sqlite, 1 chatd"] = measure_pair("sqlite", [n], tmp, ARGS.duration, ARGS.connections)
        n.stop()
        nodes.remove(n)
        # PostgreSQL, one instance, then two on one database.
        for count in (1, 2):
            db = f"bench_{count}"
            subprocess.run([psql, "-X", "-q", "-d", url, "-c", f"CREATE DATABASE {db}"], check=True)
            db_url = re.sub(r"/[^/?]*(\?|$)", f"/{db}\\1", url.split("://", 1)[1], count=1)
            db_url = url.split("://", 1)[0] + "://" + db_url
            group = [Chatd(ARGS.chatd, db_url, os.path.join(tmp, f"pg{count}-{i}.log"), connections=16)
                     for i in range(count)]
            nodes += group
            rows[f"postgres, {count} chatd"] = measure_pair(f"pg{count}", group, tmp, ARGS.duration, ARGS.connections)
            if count == 2:
                rows["wake-up A->B"] = wakeups(group[0], group[1], ARGS.wakeups)
                rows["wake-up A->A"] = wakeups(group[0], group[0], ARGS.wakeups)
                print(rows["wake-up A->B"], rows["wake-up A->A"], flush=True)
            for g in group:
                g.stop()
                nodes.remove(g)
    finally:
        for n in nodes:
            n.stop()
        subprocess.run(["sh", cluster, "stop", state], check=False)
        shutil.rmtree(tmp, ignore_errors=True)

    base = rows["sqlite, 1 chatd"]
    print()
    print(f"load average at the end: {os.getloadavg()}")
    print("| setup | append req/s | (x SQLite) | append p50 / p99 ms | read req/s | (x SQLite) | read p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for k in ("sqlite, 1 chatd", "postgres, 1 chatd", "postgres, 2 chatd"):
        r = rows[k]
        print(f"| {k} | {r['append']['rps']:.0f} | {r['append']['rps'] / base['append']['rps']:.2f}x | "
              f"{r['append']['p50']:.2f} / {r['append']['p99']:.2f} | {r['read']['rps']:.0f} | "
              f"{r['read']['rps'] / base['read']['rps']:.2f}x | {r['read']['p50']:.2f} / {r['read']['p99']:.2f} |")
    for k in ("wake-up A->B", "wake-up A->A"):
        r = rows[k]
        print(f"| {k} ({r['n']} rounds) | p50 {r['p50']:.1f} ms | p99 {r['p99']:.1f} ms | max {r['max']:.1f} ms |")


if __name__ == "__main__":
    main()
