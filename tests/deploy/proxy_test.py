#!/usr/bin/env python3
"""deploy/nginx.conf in front of the real chatd, on loopback ports (issue 12).

Starts chatd (--trusted-proxies 127.0.0.1/32) and Debian's nginx as a
foreground process with its own prefix, config, pid file, logs and temp paths
in a temporary directory (never the system service, whatever it is doing),
running deploy/nginx.conf as written except the lines it marks `# test:`
(ports, a self-signed certificate). Then, through nginx over TLS:
  - the HTTPS server answers, "Server: nginx" without a version, HSTS; port 80
    redirects to https;
  - a seed 001 SSE stream arrives as several events spread over time (not
    buffered into one burst at the end), over HTTP/1.1 and, with curl, HTTP/2;
  - a seed 002 long-poll is woken by an agent's post, and one left alone runs
    its full 30 s wait and answers 200 (the proxy's read timeout is longer);
  - a seed 002 event stream (issue 14) gets an agent's post as message.created
    at once, and stays open with chatd's 15 s heartbeat;
  - X-Forwarded-For from a client is not believed: chatd's per-address rate
    limit counts the real peer (clients connect from 127.0.0.3, 127.0.0.4...,
    nginx from 127.0.0.1, the only trusted proxy);
  - /metrics (and its spellings) is refused by nginx with a JSON 403, while
    chatd answers it directly on loopback;
  - a body of chatd's 1 MiB passes, one byte more is 413 at nginx;
  - --slow (2,000) slow-header sockets (TLS handshake, then a request head
    trickled a byte at a time) held at nginx while /healthz is probed through
    nginx and directly at chatd: every probe answers, and nginx cuts the slow
    sockets at client_header_timeout (10 s; they reconnect, so --slow stay held).

Exit 0 passed, 1 failed, 77 skipped (no nginx or openssl; with
CHAT_REQUIRE_WEB_TESTS=1, set by `make test`, that fails instead, as in
tests/web/run.mjs). Python 3 standard library only.

  python3 tests/deploy/proxy_test.py --chatd build/apps/chatd/chatd --conf deploy/nginx.conf
  (--slow N, --hold-seconds S, --keep to leave the temp dir and its logs)
"""
import argparse
import http.client
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SECRET = "deploy-test-secret-of-32-bytes-or-more-0123456789"
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def skip_or_fail(reason):
    required = os.environ.get("CHAT_REQUIRE_WEB_TESTS") == "1"
    print(("FAILED (CHAT_REQUIRE_WEB_TESTS=1): " if required else "SKIPPED: ") + reason, flush=True)
    sys.exit(1 if required else 77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- the configuration under test -----------------------------------------------

def site_config(conf_text, chatd_port, http_port, https_port, cert, key):
    """deploy/nginx.conf with its `# test:` lines rewritten; each rewrite must
    match exactly once, so a changed file fails here rather than silently
    testing something else."""
    rewrites = [
        (r"server 127\.0\.0\.1:8080;", f"server 127.0.0.1:{chatd_port};"),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen \[::\]:80;", "# (ipv6 listen removed by the test)"),
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        (r"listen \[::\]:443 ssl http2;", "# (ipv6 listen removed by the test)"),
        (r"ssl_certificate +\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key +\S+;", f"ssl_certificate_key {key};"),
    ]
    out = conf_text
    for pattern, repl in rewrites:
        out, n = re.subn(pattern, repl, out)
        if n != 1:
            raise SystemExit(f"deploy config: '{pattern}' matched {n} times, expected 1")
    marked = len(re.findall(r";\s*# test:", conf_text))
    if marked != len(rewrites):
        raise SystemExit(f"deploy config: {marked} lines marked '# test:', the test rewrites {len(rewrites)}")
    return out


def main_config(tmp, site_path):
    """The main-level frame Debian's /etc/nginx/nginx.conf gives, with the two
    settings deploy/nginx.conf asks for, and every path in the temp dir."""
    # As root nginx would run its workers as nobody:nobody, and Debian has no
    # group nobody (it has nogroup); root is simplest for a throwaway test.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    # 65536 as documented, or the hard limit when it is lower (a container's).
    nofile = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    return f"""{user}daemon off;
master_process on;
worker_processes auto;
worker_rlimit_nofile {nofile};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    default_type application/octet-stream;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site_path};
}}
"""


# --- processes --------------------------------------------------------------------

class Chatd:
    def __init__(self, binary, extra, log_path):
        self.log_path = log_path
        args = [binary, "--host", "127.0.0.1", "--port", "0", "--db", ":memory:", "--jwt-secret", SECRET,
                "--threads", "64", "--max-streams", "32", *extra]
        self.binary = binary
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + 30
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
            raise SystemExit("chatd did not start")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # drain

    def token(self, sub, role):
        return subprocess.check_output([self.binary, "token", "--sub", sub, "--role", role, "--db", ":memory:",
                                        "--jwt-secret", SECRET], text=True).strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Nginx:
    """nginx in the foreground (daemon off), its own session so that a stuck
    master and its workers can be ended together; stopped by its PID."""

    def __init__(self, binary, tmp, conf_path):
        self.tmp = tmp
        base = [binary, "-p", tmp + "/", "-e", tmp + "/error.log", "-c", conf_path]
        t = subprocess.run(base + ["-t"], capture_output=True, text=True)
        if t.returncode != 0:
            raise SystemExit("nginx -t failed:\n" + t.stdout + t.stderr)
        self.proc = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def error_log(self):
        try:
            with open(self.tmp + "/error.log") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the group this test created
                    self.proc.wait()


# --- clients ----------------------------------------------------------------------

class Client:
    def __init__(self, https_port, ctx):
        self.port, self.ctx = https_port, ctx

    def conn(self, source, timeout=15):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout,
                                           source_address=(source, 0))

    def request(self, method, path, body=None, headers=None, source="127.0.0.2", timeout=15):
        c = self.conn(source, timeout)
        try:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            h = {"Content-Type": "application/json"} if data is not None else {}
            h.update(headers or {})
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()


def direct_get(port, path, timeout=15):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def body_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


# --- the checks -------------------------------------------------------------------

def check_front(client, http_port):
    status, h, raw = client.request("GET", "/healthz")
    check(status == 200 and body_json(raw) == {"status": "ok"}, f"GET /healthz over TLS: {status} {raw[:60]!r}")
    check(h.get("server") == "nginx", f"Server header without a version: {h.get('server')!r}")
    check("max-age" in h.get("strict-transport-security", ""), "HSTS header on answers")
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=15)
    c.request("GET", "/api/chats/sessions/")
    r = c.getresponse()
    r.read()
    c.close()
    check(r.status == 301 and (r.getheader("Location") or "").startswith("https://"),
          f"port 80 redirects to https: {r.status} {r.getheader('Location')}")


def check_stream(client, delay_ms):
    status, _, raw = client.request("POST", "/api/chats/sessions/", {"session_id": "deploy-sse"})
    check(status in (200, 201), f"seed 001 session through nginx: {status}")
    words = "one two three four five six seven eight"
    c = client.conn("127.0.0.8", timeout=60)
    start = time.monotonic()
    c.request("POST", "/api/chats/messages/chat/stream/",
              body=json.dumps({"session_id": "deploy-sse", "message": words}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    check(r.status == 200 and (r.getheader("Content-Type") or "").startswith("text/event-stream"),
          f"SSE answer: {r.status} {r.getheader('Content-Type')}")
    events = []  # (seconds since the request, event)
    while True:
        line = r.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            events.append((time.monotonic() - start, json.loads(line[6:])))
            if events[-1][1].get("done"):
                break
    c.close()
    n = len(events)
    done = n > 0 and events[-1][1].get("done") is True
    text = "".join(e.get("chunk", "") for _, e in events)
    check(n >= 5 and done and words in text, f"SSE: {n} events, done={done}, text={text!r}")
    if n >= 2:
        first, last = events[0][0], events[-1][0]
        # The echo provider waits delay_ms before each of 9 words: ~2.7 s from
        # the first event to the last. A buffering proxy would deliver them in
        # one burst at the end (spread ~0). Generous: a third of it.
        produced = (n - 2) * delay_ms / 1000.0
        check(last - first >= produced / 3,
              f"SSE unbuffered: first event at {first:.2f} s, last at {last:.2f} s "
              f"(the echo spreads them over ~{produced:.1f} s)")


def check_stream_http2(https_port, cert, delay_ms):
    """The same stream over HTTP/2 (what browsers get from this server), with
    curl when it is there: events still arrive one by one."""
    curl = shutil.which("curl")
    if not curl:
        print("     (no curl: the HTTP/2 stream check is left out)")
        return
    p = subprocess.Popen([curl, "-sN", "--http2", "--cacert", cert, "--interface", "127.0.0.11",
                          "-H", "Content-Type: application/json",
                          "--data", json.dumps({"session_id": "deploy-sse", "message": "one two three four five"}),
                          "-w", "\nHTTP_VERSION=%{http_version}\n",
                          f"https://127.0.0.1:{https_port}/api/chats/messages/chat/stream/"],
                         stdout=subprocess.PIPE, text=True)
    start, times, version = time.monotonic(), [], None
    for line in p.stdout:
        if line.startswith("data: "):
            times.append(time.monotonic() - start)
        elif line.startswith("HTTP_VERSION="):
            version = line.strip().split("=", 1)[1]
    p.wait(60)
    produced = (len(times) - 2) * delay_ms / 1000.0
    check(version == "2" and len(times) >= 5 and times[-1] - times[0] >= produced / 3,
          f"SSE over HTTP/2 (curl): version {version}, {len(times)} events, "
          f"first at {times[0] if times else 0:.2f} s, last at {times[-1] if times else 0:.2f} s")


def start_idle_poll(client, conv):
    """A long-poll nothing wakes: it must run its whole 30 s wait and answer
    200 with no items, not a proxy timeout. From its own address: chatd gives
    each address a tenth of the stream slots (3 of --max-streams 32)."""
    result = {}

    def run():
        t0 = time.monotonic()
        try:
            status, _, raw = client.request("GET", f"/api/messages/{conv}/?since=1000000000&wait=30",
                                            source="127.0.0.7", timeout=90)
            result.update(status=status, body=body_json(raw))
        except Exception as e:  # noqa: BLE001 - reported as a failure
            result.update(error=repr(e))
        result["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def check_long_poll(client, chatd):
    status, _, raw = client.request("POST", "/api/messages/", {"name": "Ann", "content": "Hello"})
    items = (body_json(raw) or {}).get("items") or [{}]
    conv, since = items[0].get("conversation"), items[0].get("id")
    check(status == 200 and conv and since, f"seed 002 post through nginx: {status}")
    idle = start_idle_poll(client, conv)
    woken = {}

    def poll():
        t0 = time.monotonic()
        s, _, r = client.request("GET", f"/api/messages/{conv}/?since={since}&wait=25", timeout=60)
        woken.update(status=s, body=body_json(r), seconds=time.monotonic() - t0)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    time.sleep(1.0)
    agent = chatd.token("7", "agent")
    s, _, _ = client.request("POST", f"/api/messages/?since={since}",
                             {"conversation": conv, "content": "Hi Ann, how can I help?"},
                             headers={"Authorization": "Bearer " + agent}, source="127.0.0.9")
    check(s == 200, f"agent post through nginx: {s}")
    t.join(40)
    got = [i.get("content") for i in (woken.get("body") or {}).get("items", [])]
    check(woken.get("status") == 200 and "Hi Ann, how can I help?" in got and woken["seconds"] < 20,
          f"long-poll woken by the post: {woken.get('status')} after {woken.get('seconds', 0):.2f} s, items {got}")
    return idle


def finish_idle_poll(idle):
    t, result = idle
    t.join(60)
    body = result.get("body") or {}
    check(result.get("status") == 200 and body.get("count") == 0 and 25 <= result.get("seconds", 0) < 45,
          f"idle long-poll ran its 30 s wait through nginx: {result.get('status')} "
          f"after {result.get('seconds', 0):.1f} s {result.get('error', '')}")


def start_event_stream(client, chatd):
    """A seed 002 event stream (issue 14) through nginx: `ready` at once, an
    agent's post arrives as `message.created` within seconds (not buffered),
    and the stream stays open past chatd's 15 s heartbeat, which arrives too
    (finish_event_stream checks, after the slow-header phase)."""
    # From an address of its own: the creation limit (--rate-limit-address-creates
    # 1/m:3) is the other checks' budget.
    status, _, raw = client.request("POST", "/api/messages/", {"name": "Eve", "content": "Anyone there?"},
                                    source="127.0.0.12")
    conv = ((body_json(raw) or {}).get("items") or [{}])[0].get("conversation")
    check(status == 200 and conv, f"seed 002 post for the event stream: {status}")
    seen = {}
    opened = threading.Event()

    def run():
        c = client.conn("127.0.0.10", timeout=60)
        t0 = time.monotonic()
        try:
            c.request("GET", f"/api/messages/{conv}/events", headers={"Accept": "text/event-stream"})
            r = c.getresponse()
            seen.update(status=r.status, type=r.getheader("Content-Type"))
            event = None
            while time.monotonic() - t0 < 50 and "heartbeat" not in seen:
                line = r.readline()
                if not line:
                    seen["ended"] = time.monotonic() - t0
                    break
                line = line.rstrip(b"\r\n")
                if line.startswith(b"event: "):
                    event = line[7:].decode()
                    if event == "ready":
                        opened.set()
                elif line.startswith(b"data: ") and event == "message.created":
                    seen.setdefault("created", (time.monotonic() - t0, json.loads(line[6:])))
                elif line.startswith(b":"):
                    seen["heartbeat"] = time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - reported by the checks
            seen["error"] = repr(e)
        finally:
            opened.set()
            c.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    opened.wait(15)
    check(seen.get("status") == 200 and (seen.get("type") or "").startswith("text/event-stream"),
          f"event stream through nginx: {seen.get('status')} {seen.get('type')} {seen.get('error', '')}")
    posted = time.monotonic()
    agent = chatd.token("7", "agent")
    s, _, _ = client.request("POST", "/api/messages/", {"conversation": conv, "content": "Yes, Eve"},
                             headers={"Authorization": "Bearer " + agent}, source="127.0.0.11")
    check(s == 200, f"agent post for the event stream: {s}")
    deadline = time.monotonic() + 10
    while "created" not in seen and time.monotonic() < deadline and t.is_alive():
        time.sleep(0.05)
    created = seen.get("created")
    check(created is not None and created[1].get("content") == "Yes, Eve" and created[1].get("author") == "AGE",
          f"message.created through nginx within 10 s: {created}")
    if created:
        print(f"     event delivered through nginx {time.monotonic() - posted:.2f} s after the post (at most)")
    return t, seen


def finish_event_stream(stream):
    t, seen = stream
    t.join(60)
    check(seen.get("heartbeat") is not None and "ended" not in seen,
          f"event stream kept open through nginx with a heartbeat: heartbeat at {seen.get('heartbeat')} s, "
          f"ended at {seen.get('ended')} {seen.get('error', '')}")


def check_forwarded_for(client):
    # chatd runs --rate-limit-address-creates 1/m:3: three new sessions per address.
    statuses = []
    for i in range(3):
        s, _, _ = client.request("POST", "/api/chats/sessions/", {"session_id": f"xff-{i}"},
                                 headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}, source="127.0.0.3")
        statuses.append(s)
    s, h, raw = client.request("POST", "/api/chats/sessions/", {"session_id": "xff-3"},
                               headers={"X-Forwarded-For": "203.0.113.99, 127.0.0.1"}, source="127.0.0.3")
    code = ((body_json(raw) or {}).get("error") or {}).get("code")
    check(all(x in (200, 201) for x in statuses) and s == 429 and code == "resource_exhausted"
          and "retry-after" in h,
          f"spoofed X-Forwarded-For from one peer shares that peer's rate limit: {statuses} then {s} {code}")
    s, _, _ = client.request("POST", "/api/chats/sessions/", {"session_id": "xff-other"},
                             headers={"X-Forwarded-For": "127.0.0.3"}, source="127.0.0.4")
    check(s in (200, 201), f"another peer claiming the limited address is counted as itself: {s}")


def check_metrics(client, chatd_port):
    for path in ["/metrics", "/metrics/", "//metrics", "/%6Detrics", "/metrics?x=1", "/api/../metrics"]:
        s, _, raw = client.request("GET", path)
        code = ((body_json(raw) or {}).get("error") or {}).get("code")
        check(s == 403 and code == "permission_denied" and b"chatd_" not in raw,
              f"GET {path} through nginx: {s} {code}")
    s, raw = direct_get(chatd_port, "/metrics")
    check(s == 200 and b"chatd_" in raw, f"GET /metrics at chatd on loopback: {s}")


def check_body_limit(client):
    s, _, _ = client.request("POST", "/api/chats/sessions/", b"{" + b" " * (1048576 - 1))
    check(s == 400, f"a body of exactly 1 MiB passes nginx and reaches chatd (400 invalid JSON): {s}")
    c = client.conn("127.0.0.2")
    c.putrequest("POST", "/api/chats/sessions/")
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str(1048577))
    c.endheaders()
    r = c.getresponse()
    code = ((body_json(r.read()) or {}).get("error") or {}).get("code")
    c.close()
    check(r.status == 413 and code == "payload_too_large", f"1 MiB + 1 byte: {r.status} {code} from nginx")


def check_request_limit(client):
    """nginx's first line (limit_req 50/s, burst 200, per address): a burst
    from one address past it gets nginx's JSON 429 with Retry-After."""
    c = client.conn("127.0.0.10")
    statuses, last = [], None
    try:
        for _ in range(400):
            c.request("GET", "/healthz")
            r = c.getresponse()
            body = r.read()
            statuses.append(r.status)
            if r.status == 429:
                last = (r.getheader("Retry-After"), body_json(body))
                break
    finally:
        c.close()
    code = ((last[1] or {}).get("error") or {}).get("code") if last else None
    check(last is not None and last[0] and code == "resource_exhausted" and statuses.count(200) >= 150,
          f"limit_req: {statuses.count(200)} answered, then 429 {code} Retry-After {last[0] if last else None}")


def check_upstream_down(client, chatd):
    chatd.stop()
    s, h, raw = client.request("GET", "/api/chats/sessions/x/")
    code = ((body_json(raw) or {}).get("error") or {}).get("code")
    check(s == 503 and code == "unavailable" and "retry-after" in h, f"chatd down: nginx answers {s} {code}")


# --- slow-header sockets ----------------------------------------------------------

class SlowHeaders:
    """Keeps `count` TLS connections at nginx, each with a request head it
    trickles a byte every 2 s and never completes; reconnects those nginx cuts."""

    def __init__(self, port, ctx, count, source):
        self.port, self.ctx, self.count, self.source = port, ctx, count, source
        self.sel = selectors.DefaultSelector()
        self.opened_at = {}
        self.cut_ages = []
        self.opened = 0
        self.failed_opens = 0
        self.lock = threading.Lock()
        self.stop = False

    def held(self):
        with self.lock:
            return len(self.opened_at)

    def open_one(self):
        try:
            raw = socket.create_connection(("127.0.0.1", self.port), timeout=15, source_address=(self.source, 0))
            s = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            s.setblocking(False)
        except OSError:
            with self.lock:
                self.failed_opens += 1
            return
        with self.lock:
            self.opened_at[s] = time.monotonic()
            self.opened += 1
        self.sel.register(s, selectors.EVENT_READ)

    def fill(self, threads=4):
        def work(n):
            for _ in range(n):
                self.open_one()
        ts = [threading.Thread(target=work, args=(self.count // threads + (i < self.count % threads),))
              for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def run(self):
        last_trickle = time.monotonic()
        while not self.stop:
            for key, _ in self.sel.select(0.2):
                s = key.fileobj
                try:
                    if s.recv(4096):
                        continue  # an answer? (none expected) keep reading
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except OSError:
                    pass
                self.sel.unregister(s)
                with self.lock:
                    opened = self.opened_at.pop(s, None)
                    if opened is not None:
                        self.cut_ages.append(time.monotonic() - opened)
                s.close()
                self.open_one()
            if time.monotonic() - last_trickle >= 2.0:
                last_trickle = time.monotonic()
                with self.lock:
                    socks = list(self.opened_at)
                for s in socks:
                    try:
                        s.send(b"x")
                    except (ssl.SSLWantWriteError, BlockingIOError, OSError):
                        pass

    def oldest(self):
        with self.lock:
            return max((time.monotonic() - t for t in self.opened_at.values()), default=0.0)

    def close(self):
        """After run() has returned."""
        self.stop = True
        with self.lock:
            socks = list(self.opened_at)
            self.opened_at.clear()
        for s in socks:
            try:
                s.close()
            except OSError:
                pass


def probe_loop(fn, until, out):
    while time.monotonic() < until:
        t0 = time.monotonic()
        try:
            ok = fn()
        except Exception:  # noqa: BLE001 - counted
            ok = False
        out.append((ok, time.monotonic() - t0))
        time.sleep(0.1)


def summary(samples):
    lat = sorted(ms for ok, ms in samples if ok)
    fails = sum(1 for ok, _ in samples if not ok)
    if not lat:
        return f"n={len(samples)} failures={fails}"
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    return f"n={len(samples)} p50={p(0.5):.2f} ms p99={p(0.99):.2f} ms max={lat[-1] * 1000:.2f} ms failures={fails}"


def check_slow_headers(client, ctx, https_port, chatd_port, count, hold_seconds):
    slow = SlowHeaders(https_port, ctx, count, "127.0.0.5")
    t0 = time.monotonic()
    slow.fill()
    fill_s = time.monotonic() - t0
    runner = threading.Thread(target=slow.run, daemon=True)
    runner.start()
    print(f"     opened {slow.opened} slow-header TLS sockets in {fill_s:.1f} s ({slow.failed_opens} failed)",
          flush=True)
    held = []
    via, direct = [], []
    until = time.monotonic() + hold_seconds

    def via_nginx():
        s, _, raw = client.request("GET", "/healthz", source="127.0.0.6", timeout=10)
        return s == 200

    def at_chatd():
        s, _ = direct_get(chatd_port, "/healthz", timeout=10)
        return s == 200

    probes = [threading.Thread(target=probe_loop, args=(via_nginx, until, via)),
              threading.Thread(target=probe_loop, args=(at_chatd, until, direct))]
    for p in probes:
        p.start()
    while time.monotonic() < until:
        held.append(slow.held())
        time.sleep(0.25)
    for p in probes:
        p.join()
    oldest = slow.oldest()
    slow.stop = True
    runner.join(10)
    slow.close()
    cuts = sorted(slow.cut_ages)
    print(f"     held while probing: min {min(held)} median {int(statistics.median(held))} of {count}; "
          f"cut by nginx: {len(cuts)}"
          + (f" (after {cuts[0]:.1f}-{cuts[-1]:.1f} s)" if cuts else ""), flush=True)
    print(f"     /healthz through nginx: {summary(via)}", flush=True)
    print(f"     /healthz at chatd:      {summary(direct)}", flush=True)
    check(slow.opened >= count and statistics.median(held) >= count * 0.9,
          f"{count} slow-header sockets held at nginx (median held {int(statistics.median(held))})")
    check(len(via) >= 10 and all(ok for ok, _ in via), "/healthz through nginx answered every probe meanwhile")
    check(len(direct) >= 10 and all(ok for ok, _ in direct), "/healthz at chatd answered every probe meanwhile")
    # client_header_timeout 10 s: a slow head is cut, trickling or not.
    if fill_s + hold_seconds > 14:
        check(cuts and cuts[0] >= 5 and oldest < 30,
              f"nginx cuts slow heads (first cut after {cuts[0] if cuts else 0:.1f} s; "
              f"oldest still held {oldest:.1f} s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--conf", required=True, help="deploy/nginx.conf")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--openssl", default=shutil.which("openssl") or "/usr/bin/openssl")
    ap.add_argument("--slow", type=int, default=2000)
    ap.add_argument("--hold-seconds", type=float, default=15.0)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not os.access(args.nginx, os.X_OK):
        skip_or_fail(f"no nginx at '{args.nginx}'; run scripts/install-deps.sh (Debian nginx)")
    if not os.access(args.openssl, os.X_OK):
        skip_or_fail(f"no openssl at '{args.openssl}'; run scripts/install-deps.sh (Debian openssl)")
    nofile = raise_nofile()
    if nofile < args.slow + 200:
        skip_or_fail(f"open file limit {nofile} is below {args.slow + 200}")

    tmp = tempfile.mkdtemp(prefix="chatd-deploy-")
    os.chmod(tmp, 0o755)
    cert, key = tmp + "/cert.pem", tmp + "/key.pem"
    subprocess.run([args.openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=cert)

    delay_ms = 300
    chatd = Chatd(args.chatd, ["--trusted-proxies", "127.0.0.1/32", "--llm-echo-delay-ms", str(delay_ms),
                               "--rate-limit-address-creates", "1/m:3"], tmp + "/chatd.log")
    nginx = None
    try:
        http_port, https_port = free_port(), free_port()
        with open(args.conf) as f:
            site = site_config(f.read(), chatd.port, http_port, https_port, cert, key)
        with open(tmp + "/chatd-site.conf", "w") as f:
            f.write(site)
        with open(tmp + "/nginx.conf", "w") as f:
            f.write(main_config(tmp, tmp + "/chatd-site.conf"))
        nginx = Nginx(args.nginx, tmp, tmp + "/nginx.conf")
        client = Client(https_port, ctx)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.request("GET", "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or nginx.proc.poll() is not None:
                    raise SystemExit("nginx did not start:\n" + nginx.error_log())
                time.sleep(0.1)
        print(f"chatd on 127.0.0.1:{chatd.port}, nginx on https://127.0.0.1:{https_port} "
              f"and http://127.0.0.1:{http_port} (prefix {tmp})", flush=True)

        check_front(client, http_port)
        idle = check_long_poll(client, chatd)
        events = start_event_stream(client, chatd)
        check_stream(client, delay_ms)
        check_stream_http2(https_port, cert, delay_ms)
        check_forwarded_for(client)
        check_metrics(client, chatd.port)
        check_body_limit(client)
        check_slow_headers(client, ctx, https_port, chatd.port, args.slow, args.hold_seconds)
        finish_idle_poll(idle)
        finish_event_stream(events)
        check_request_limit(client)
        check(chatd.proc.poll() is None and nginx.proc.poll() is None, "chatd and nginx still running")
        check_upstream_down(client, chatd)
    except BaseException:
        FAILURES.append("an exception (above)")
        raise
    finally:
        if nginx:
            nginx.stop()
            if FAILURES:
                print("--- nginx error log (tail) ---\n" + nginx.error_log())
        chatd.stop()
        if FAILURES:
            with open(chatd.log_path) as f:
                print("--- chatd log (tail) ---\n" + f.read()[-4000:])
        if args.keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("PASSED" if not FAILURES else f"FAILED: {len(FAILURES)} check(s): " + "; ".join(FAILURES))
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
