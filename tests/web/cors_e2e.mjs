// CORS end to end against the real chatd binary (--cors-origins): preflight,
// answers (successes and errors) for a listed origin, nothing for another.
// Usage: node cors_e2e.mjs --chatd <binary>
import http from "node:http";
import assert from "node:assert/strict";
import { startChatd, flags } from "./chatd.mjs";

const LANDING = "https://landing.example";
function request(base, method, path, headers = {}, body) {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers }, (res) => {
      let text = "";
      res.on("data", (b) => { text += b; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on("error", reject);
    if (body) req.end(body); else req.end();
  });
}
const corsHeaders = (h) => Object.keys(h).filter((k) => k.startsWith("access-control-"));

const d = await startChatd(flags().chatd, ["--cors-origins", LANDING + ",*"]);
try {
  const pre = await request(d.url, "OPTIONS", "/api/chats/messages/chat/stream/", {
    Origin: LANDING, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers["access-control-allow-origin"], LANDING);
  assert.equal(pre.headers["access-control-allow-methods"], "OPTIONS, POST");
  assert.equal(pre.headers["access-control-allow-headers"], "Authorization, Content-Type, Last-Event-ID");
  assert.equal(pre.headers["access-control-max-age"], "600");
  assert.equal(pre.headers.vary, "Origin");

  const created = await request(d.url, "POST", "/api/chats/sessions/", { Origin: LANDING, "Content-Type": "application/json" }, "{}");
  assert.equal(created.status, 201);
  assert.equal(created.headers["access-control-allow-origin"], LANDING);
  assert.equal(created.headers["access-control-expose-headers"], "Retry-After, WWW-Authenticate, Allow");
  assert.equal(created.headers["access-control-allow-credentials"], undefined);

  for (const [method, path, status] of [["GET", "/chat/conversations", 401], ["GET", "/nowhere", 404], ["DELETE", "/healthz", 405]]) {
    const r = await request(d.url, method, path, { Origin: LANDING });
    assert.equal(r.status, status, path);
    assert.equal(r.headers["access-control-allow-origin"], LANDING, path);
  }
  // The wildcard: anonymous routes for any origin, token routes for none.
  const anyOrigin = { Origin: "https://elsewhere.example" };
  const pub = await request(d.url, "GET", "/healthz", anyOrigin);
  assert.equal(pub.headers["access-control-allow-origin"], "*");
  const tok = await request(d.url, "GET", "/chat/conversations", anyOrigin);
  assert.equal(tok.status, 401);
  assert.deepEqual(corsHeaders(tok.headers), []);
  const preTok = await request(d.url, "OPTIONS", "/chat/conversations", { ...anyOrigin, "Access-Control-Request-Method": "GET" });
  assert.equal(preTok.status, 204);
  assert.deepEqual(corsHeaders(preTok.headers), []);
  console.log("CORS end to end: ok");
} finally {
  await d.stop();
}
