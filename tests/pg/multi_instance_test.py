#!/usr/bin/env python3
"""Two real chatd processes on one PostgreSQL database (issue 13).

Creates a fresh database on the test cluster (tests/pg/pg_cluster.sh; its URL
from --url-file or CHAT_TEST_PG_URL), starts chatd A and chatd B on it (free
loopback ports, --port 0, the secret in CHATD_JWT_SECRET), then:
  - a customer posts through A (seed 002); the agent's long-poll on B
    (GET /api/messages/{uuid}/?since=N&wait=25) returns the message, and an
    event stream on B (GET /api/messages/{uuid}/events) gets message.created;
  - seed 000: the same message_id posted to A and B at the same moment, many
    times over, is stored once each time (both answer 201 with it);
  - a burst of posts through A from several threads, A killed with SIGKILL in
    the middle: every post A answered 2xx is found afterwards, read through B.
Everything is stopped by PID and the database dropped at the end.

Exit 0 passed, 1 failed. Python 3 standard library and the psql of the
PostgreSQL binaries only.

  python3 tests/pg/multi_instance_test.py --chatd build/apps/chatd/chatd --url-file build/pg-test/url
"""
import argparse
import glob
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

SECRET = "multi-instance-test-secret-0123456789abcdef"
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def pg_bindir():
    try:
        d = subprocess.check_output(["pg_config", "--bindir"], text=True, stderr=subprocess.DEVNULL).strip()
        if os.path.exists(os.path.join(d, "psql")):
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
    for d in reversed(dirs):
        if os.path.exists(os.path.join(d, "psql")):
            return d
    raise SystemExit("no psql found (install postgresql)")


def psql(url, sql):
    subprocess.run([os.path.join(pg_bindir(), "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


def with_database(url, db):
    m = re.match(r"^(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", url)
    if not m:
        raise SystemExit("not a postgresql:// URL: " + url)
    return m.group(1) + "/" + db + (m.group(3) or "")


class Chatd:
    def __init__(self, binary, db_url, name, log_dir):
        env = dict(os.environ, CHATD_JWT_SECRET=SECRET)
        self.binary = binary
        self.name = name
        self.log_path = os.path.join(log_dir, f"chatd-{name}.log")
        args = [binary, "--host", "127.0.0.1", "--port", "0", "--db", db_url, "--threads", "64",
                "--max-streams", "32", "--no-rate-limits", "--db-connections", "4"]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        deadline = time.monotonic() + 60
        self.port = None
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
            with open(self.log_path) as f:
                sys.stderr.write(f.read()[-4000:])
            raise SystemExit(f"chatd {name} did not start")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # drain

    def token(self, sub, role):
        return subprocess.check_output([self.binary, "token", "--sub", sub, "--role", role, "--jwt-secret", SECRET],
                                       text=True).strip()

    def request(self, method, path, body=None, token=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = "Bearer " + token
            c.request(method, path, None if body is None else json.dumps(body), headers)
            r = c.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, None
        finally:
            c.close()

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def all_messages(node, conv, token):
    """Every message of a seed 002 conversation, paging on `since`."""
    out, since = [], 0
    while True:
        s, body = node.request("GET", f"/api/messages/{conv}/?since={since}", token=token)
        if s != 200:
            raise RuntimeError(f"list through {node.name}: {s} {body}")
        items = body.get("items", [])
        out += items
        if not items:
            return out
        since = items[-1]["id"]


def long_poll_and_stream(a, b, agent):
    s, body = a.request("POST", "/api/messages/", {"name": "Ann", "content": "Hello from A"})
    items = (body or {}).get("items") or [{}]
    conv, since = items[0].get("conversation"), items[0].get("id")
    check(s == 200 and conv and since, f"customer post through A: {s}")

    polled = {}

    def poll():
        t0 = time.monotonic()
        st, bd = b.request("GET", f"/api/messages/{conv}/?since={since}&wait=25", token=agent, timeout=60)
        polled.update(status=st, body=bd, seconds=time.monotonic() - t0)

    streamed = {}
    ready = threading.Event()

    def stream():
        c = http.client.HTTPConnection("127.0.0.1", b.port, timeout=30)
        t0 = time.monotonic()
        try:
            c.request("GET", f"/api/messages/{conv}/events", headers={"Accept": "text/event-stream"})
            r = c.getresponse()
            streamed["status"] = r.status
            event = None
            while time.monotonic() - t0 < 25:
                line = r.readline()
                if not line:
                    break
                line = line.rstrip(b"\r\n")
                if line.startswith(b"event: "):
                    event = line[7:].decode()
                    if event == "ready":
                        ready.set()
                elif line.startswith(b"data: ") and event == "message.created":
                    data = json.loads(line[6:])
                    # A seed 002 message item (docs/seed-002.md "Event stream").
                    if data.get("content") == "Second, from A":
                        streamed["created"] = data
                        break
        except Exception as e:  # noqa: BLE001 - reported by the checks
            streamed["error"] = repr(e)
        finally:
            ready.set()
            c.close()

    tp = threading.Thread(target=poll, daemon=True)
    ts = threading.Thread(target=stream, daemon=True)
    tp.start()
    ts.start()
    ready.wait(20)
    time.sleep(1.0)  # the long-poll is waiting by now (not required: it re-reads by cursor either way)
    s, _ = a.request("POST", "/api/messages/", {"conversation": conv, "content": "Second, from A"})
    check(s == 200, f"second customer post through A: {s}")
    tp.join(40)
    ts.join(40)
    got = [i.get("content") for i in (polled.get("body") or {}).get("items", [])]
    check(polled.get("status") == 200 and got == ["Second, from A"] and polled.get("seconds", 99) < 20,
          f"agent long-poll on B returned the post made through A: {polled.get('status')} {got} "
          f"after {polled.get('seconds', 0):.2f} s")
    check(streamed.get("status") == 200 and "created" in streamed,
          f"event stream on B got message.created for the post through A: {streamed.get('status')} "
          f"{streamed.get('error', '')}")


def duplicate_message_ids(a, b, user):
    s, body = a.request("POST", "/api/jobs/", {"title": "Brackets", "description": "200 steel brackets"}, token=user)
    job = ((body or {}).get("id")) if s == 201 else None
    check(s == 201 and job, f"job registered through A: {s}")
    rounds, ok_rounds, stored_once = 20, 0, 0
    for i in range(rounds):
        mid = f"msg-{i}"
        answers = [None, None]
        barrier = threading.Barrier(2)

        def post(k, node):
            barrier.wait()
            answers[k] = node.request("POST", f"/api/jobs/{job}/quote-chat/",
                                      {"message_id": mid, "role": "user", "content": f"Quote round {i}"}, token=user)

        ts = [threading.Thread(target=post, args=(0, a)), threading.Thread(target=post, args=(1, b))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        if all(x and x[0] == 201 and ((x[1] or {}).get("data") or {}).get("message_id") == mid for x in answers):
            ok_rounds += 1
    s, body = b.request("GET", f"/api/jobs/{job}/quote-chat/", token=user)
    msgs = ((body or {}).get("data") or {}).get("messages") or []
    ids = [m.get("message_id") for m in msgs]
    stored_once = sum(1 for i in range(rounds) if ids.count(f"msg-{i}") == 1)
    check(ok_rounds == rounds, f"seed 000: the same message_id posted to A and B at once: both 201 in "
                               f"{ok_rounds}/{rounds} rounds")
    check(s == 200 and stored_once == rounds and len(ids) == rounds,
          f"seed 000: each message_id stored once ({stored_once}/{rounds}, {len(ids)} messages), read through B")


def sigkill_during_burst(a, b, agent):
    s, body = a.request("POST", "/api/messages/", {"name": "Burst", "content": "start"})
    conv = (((body or {}).get("items") or [{}])[0]).get("conversation")
    check(s == 200 and conv, f"conversation for the burst: {s}")
    acked, errors = [], []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w):
        n = 0
        while not stop.is_set():
            content = f"burst {w}-{n}"
            n += 1
            try:
                st, _ = a.request("POST", "/api/messages/", {"conversation": conv, "content": content}, timeout=10)
            except Exception as e:  # noqa: BLE001 - the kill cuts requests
                with lock:
                    errors.append(repr(e))
                if stop.is_set() or a.proc.poll() is not None:
                    return
                continue
            if 200 <= st < 300:
                with lock:
                    acked.append(content)

    ts = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(4)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 200:
                break
        time.sleep(0.05)
    a.kill()
    stop.set()
    for t in ts:
        t.join(30)
    stored = {m.get("content") for m in all_messages(b, conv, agent)}
    lost = [c for c in acked if c not in stored]
    check(len(acked) >= 50 and not lost,
          f"SIGKILL of A during a burst: {len(acked)} acknowledged posts, {len(lost)} missing when read "
          f"through B ({len(errors)} requests cut)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--url-file")
    ap.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = ap.parse_args()
    url = os.environ.get("CHAT_TEST_PG_URL", "")
    if not url and args.url_file and os.path.exists(args.url_file):
        with open(args.url_file) as f:
            url = f.read().strip()
    if not url:
        print("FAIL no PostgreSQL: set CHAT_TEST_PG_URL or run tests/pg/pg_cluster.sh start (ctest does)")
        return 1
    db = f"chat_mi_{os.getpid()}"
    psql(url, f"CREATE DATABASE {db}")
    log_dir = os.path.dirname(os.path.abspath(args.url_file)) if args.url_file else "/tmp"
    nodes = []
    try:
        db_url = with_database(url, db)
        a = Chatd(args.chatd, db_url, "A", log_dir)
        nodes.append(a)
        b = Chatd(args.chatd, db_url, "B", log_dir)
        nodes.append(b)
        agent = a.token("7", "agent")
        user = a.token("1", "user")
        long_poll_and_stream(a, b, agent)
        duplicate_message_ids(a, b, user)
        sigkill_during_burst(a, b, agent)
    finally:
        for n in nodes:
            n.stop()
        if not args.keep:
            try:
                psql(url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            except subprocess.CalledProcessError:
                pass
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed; chatd logs in {log_dir}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
