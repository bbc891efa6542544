// Event streams (issue 14) with a real EventSource client (the `eventsource`
// npm package, which follows the WHATWG EventSource algorithm: reconnects
// after `retry`, sends Last-Event-ID): live events on an anonymous API, a
// resume across a chatd restart that replays exactly what was missed, and a
// token API opened with a single-use stream ticket.
// Usage: node events_e2e.mjs --chatd <binary>
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { EventSource } from "eventsource";
import { startChatd, flags } from "./chatd.mjs";

const TYPES = ["ready", "reset", "message.created", "message.updated", "message.deleted", "message.restored",
  "conversation.created", "conversation.updated", "conversation.deleted", "conversation.restored",
  "conversation.cleared", "conversation.read", "typing"];

// Collects every event of an EventSource; next(pred) waits for the first unseen match.
function collect(es) {
  const events = [];
  const waiters = [];
  let errors = 0;
  for (const type of TYPES) {
    es.addEventListener(type, (e) => {
      events.push({ type, id: e.lastEventId, data: JSON.parse(e.data) });
      for (const w of [...waiters]) w();
    });
  }
  es.onerror = () => { errors++; for (const w of [...waiters]) w(); };
  let read = 0;
  return {
    events,
    errors: () => errors,
    next(pred = () => true, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (; read < events.length; read++) {
            if (pred(events[read])) { const e = events[read++]; done(); resolve(e); return true; }
          }
          return false;
        };
        const timer = setTimeout(() => { done(); reject(new Error("no matching event; got " + JSON.stringify(events))); },
          timeoutMs);
        const waiter = () => { check(); };
        const done = () => { clearTimeout(timer); waiters.splice(waiters.indexOf(waiter), 1); };
        waiters.push(waiter);
        check();
      });
    },
  };
}

async function post(base, pathname, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(base + pathname, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

const binary = flags().chatd;
const dir = mkdtempSync(path.join(os.tmpdir(), "chatd-events-e2e-"));
const port = await freePort();
const db = path.join(dir, "chat.db");
let d = await startChatd(binary, [], { port, db });
const open = [];
try {
  // ---- seed 002, anonymous: the uuid is the capability.
  const first = await post(d.url, "/api/messages/", { content: "Where is my order?", name: "Ann" });
  assert.equal(first.status, 200);
  const uuid = first.json.items[0].conversation;
  const es = new EventSource(`${d.url}/api/messages/${uuid}/events`);
  open.push(es);
  const s = collect(es);
  const ready = await s.next((e) => e.type === "ready");
  assert.ok(Number(ready.id) > 0, "ready carries the cursor as its id");

  const agent = d.token("ag", "agent");
  const answer = await post(d.url, "/api/messages/", { content: "Looking into it", conversation: uuid }, agent);
  const created = await s.next((e) => e.type === "message.created");
  assert.deepEqual(created.data, answer.json.items.find((i) => i.id === created.data.id));
  assert.equal(created.data.author, "AGE");
  assert.ok(Number(created.id) > Number(ready.id));

  assert.equal((await post(d.url, `/api/messages/${uuid}/events/typing`, { active: true })).status, 204);
  const typing = await s.next((e) => e.type === "typing");
  assert.deepEqual(typing.data, { user_id: null, role: "user", active: true });
  assert.equal(typing.id, "", "typing is not in the change log: it has no id");

  // ---- resume: chatd stops (the stream ends), restarts on the same port and
  // database; a message posted before EventSource reconnects (retry: 3000 ms)
  // is replayed from Last-Event-ID, once, then the stream is live again.
  const before = s.events.length;
  await d.stop();
  d = await startChatd(binary, [], { port, db });
  const missed = await post(d.url, "/api/messages/", { content: "Order #12 ships today", conversation: uuid }, agent);
  const replayed = await s.next((e) => e.type === "message.created", 20000);
  assert.equal(replayed.data.id, missed.json.items.at(-1).id);
  const live = await post(d.url, "/api/messages/", { content: "Thanks!", conversation: uuid });
  const after = await s.next((e) => e.type === "message.created");
  assert.equal(after.data.id, live.json.items.at(-1).id);
  assert.ok(s.errors() >= 1, "the stop was seen as a disconnect");
  const ids = s.events.slice(before).filter((e) => e.id && e.type !== "ready").map((e) => Number(e.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "ids increase");
  assert.equal(new Set(ids).size, ids.length, "no event twice across the reconnect");
  const createdIds = s.events.filter((e) => e.type === "message.created").map((e) => e.data.id);
  assert.equal(new Set(createdIds).size, createdIds.length, "no message twice");
  es.close();

  // ---- seed 003, a token API: EventSource cannot send Authorization, so it
  // opens the stream with a single-use ticket.
  const user = d.token("7", "user");
  const conv = await post(d.url, "/chat/conversations", { title: "Billing" }, user);
  assert.equal(conv.status, 201);
  const id = conv.json.data.conversation_id;
  const base = `${d.url}/chat/conversations/${id}/events`;
  const denied = new EventSource(base);
  open.push(denied);
  const failed = await new Promise((resolve) => { denied.onerror = (e) => resolve(e); });
  assert.equal(failed.code, 401);
  denied.close();

  const ticket = await post(d.url, `/chat/conversations/${id}/events/ticket`, {}, user);
  assert.equal(ticket.status, 200);
  assert.equal(ticket.json.expires_in, 60);
  const es3 = new EventSource(`${base}?ticket=${encodeURIComponent(ticket.json.ticket)}`);
  open.push(es3);
  const s3 = collect(es3);
  await s3.next((e) => e.type === "ready");
  await post(d.url, `/chat/conversations/${id}/messages`, { content: "Invoice 42 is wrong", sender_type: "user" }, user);
  const m3 = await s3.next((e) => e.type === "message.created");
  assert.equal(m3.data.content, "Invoice 42 is wrong");
  assert.equal(m3.data.conversation_id, id);
  es3.close();

  const reused = new EventSource(`${base}?ticket=${encodeURIComponent(ticket.json.ticket)}`);
  open.push(reused);
  const again = await new Promise((resolve) => { reused.onerror = (e) => resolve(e); });
  assert.equal(again.code, 401, "a ticket opens one stream");
  reused.close();
  console.log("event streams with EventSource: ok");
} finally {
  for (const es of open) es.close();
  await d.stop();
  rmSync(dir, { recursive: true, force: true });
}
