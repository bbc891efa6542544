// Real responses of the real chatd against docs/openapi.json: a scenario
// calls every documented operation (successes and errors), and each answer's
// status must be documented for its operation and its JSON body must validate
// against the documented schema (ajv, JSON Schema 2020-12, the dialect of
// OpenAPI 3.1). Fails on an undocumented status, a body that does not match,
// or an operation the scenario never reached.
// Usage: node responses.mjs --chatd <binary> --doc <openapi.json>
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { startChatd, flags } from "./chatd.mjs";

const opts = flags();
const doc = JSON.parse(readFileSync(opts.doc, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "openapi.json");

const esc = (s) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const deref = (node) => {
  while (node && node.$ref) node = node.$ref.slice(2).split("/").reduce((o, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  return node;
};
const validators = new Map();
function validatorFor(pointer) {
  if (!validators.has(pointer)) validators.set(pointer, ajv.compile({ $ref: "openapi.json#" + pointer }));
  return validators.get(pointer);
}

const failures = [];
const seen = new Map();  // "get /path" -> Set of statuses
let checked = 0;

const d = await startChatd(opts.chatd);
const user = d.token("1", "user");
const other = d.token("2", "user");
const agent = d.token("ag", "agent");
const admin = d.token("ops", "admin");

// Calls `pattern` (a documented path) with its {params} filled in; checks the answer.
// An event stream never ends by itself: its body is read until the replay
// after `ready` has gone quiet for a moment, then the request is aborted.
async function readStream(res, abort) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const quiet = new Promise((r) => setTimeout(() => r(null), text.includes("event: ready") ? 300 : 5000));
    const next = await Promise.race([reader.read(), quiet]);
    if (next === null || next.done) break;
    text += decoder.decode(next.value, { stream: true });
  }
  abort.abort();
  return text;
}

async function call(method, pattern, { params = {}, query = "", body, token, raw } = {}) {
  let path = pattern.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(String(params[k])));
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  let payload;
  if (raw !== undefined) { payload = raw; headers["Content-Type"] = "application/json"; }
  else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  const abort = new AbortController();
  const res = await fetch(d.url + path + query, { method, headers, body: payload, signal: abort.signal });
  const streaming = (res.headers.get("content-type") || "").startsWith("text/event-stream");
  const text = streaming ? await readStream(res, abort) : await res.text();
  const key = method.toLowerCase() + " " + pattern;
  const op = doc.paths[pattern]?.[method.toLowerCase()];
  if (!op) { failures.push(`${key}: not documented`); return { status: res.status, text }; }
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key).add(res.status);
  const response = op.responses[String(res.status)];
  if (!response) {
    failures.push(`${key} -> ${res.status}: status not documented (${text.slice(0, 200)})`);
    return { status: res.status, text };
  }
  const resolved = deref(response);
  const type = (res.headers.get("content-type") || "").split(";")[0];
  const media = resolved.content && Object.keys(resolved.content)[0];
  if (!media) {
    if (text.length) failures.push(`${key} -> ${res.status}: documented without a body, got ${text.slice(0, 100)}`);
  } else if (media !== type) {
    failures.push(`${key} -> ${res.status}: content type ${type}, documented ${media}`);
  } else if (media === "application/json") {
    const pointer = response.$ref
      ? response.$ref.slice(1) + "/content/application~1json/schema"
      : `/paths/${esc(pattern)}/${method.toLowerCase()}/responses/${res.status}/content/application~1json/schema`;
    const validate = validatorFor(pointer);
    const json = JSON.parse(text);
    if (!validate(json)) {
      failures.push(`${key} -> ${res.status}: body does not match ${pointer}: ${ajv.errorsText(validate.errors)}\n  ${text.slice(0, 300)}`);
    }
    checked++;
    return { status: res.status, json, text };
  } else if (media === "text/event-stream") {
    // Each event's data must match the schema the media type names.
    const eventSchema = resolved.content[media]["x-chatd-event-schema"];
    if (!eventSchema) failures.push(`${key} -> ${res.status}: an event stream without x-chatd-event-schema`);
    const validate = validatorFor(eventSchema.$ref.slice(1));
    // Frames are `field: value` lines (id, event, data, retry) or `:` comments.
    const events = text.split("\n\n").map((f) => f.split("\n").find((l) => l.startsWith("data:"))).filter(Boolean);
    if (!events.length) failures.push(`${key} -> ${res.status}: no event in the stream`);
    for (const e of events) {
      const data = JSON.parse(e.slice(5));
      if (!validate(data)) failures.push(`${key} event does not match ${eventSchema.$ref}: ${ajv.errorsText(validate.errors)}\n  ${e}`);
      checked++;
    }
  }
  checked++;
  return { status: res.status, text };
}

// The event stream of one conversation (issue 14): typing, a replay of
// everything (?last_event_id=0: every event type the scenario caused so far,
// each validated against the API's event schema), a bad cursor, a ticket and
// the stream opened with it, and the errors of each.
async function eventRoutes(base, params, missing, { token, ticketToken, stranger }) {
  await call("POST", base + "/typing", { params, token, body: { active: true } });
  await call("POST", base + "/typing", { params: missing, token, body: {} });                      // 404
  await call("POST", base + "/typing", { params, token, body: { active: "yes" } });               // 400
  await call("GET", base, { params, token, query: "?last_event_id=0" });
  await call("GET", base, { params, token, query: "?last_event_id=-1" });                         // 400
  await call("GET", base, { params: missing, token });                                            // 404
  const t = await call("POST", base + "/ticket", { params, token: ticketToken });
  await call("GET", base, { params, query: "?last_event_id=0&ticket=" + encodeURIComponent(t.json.ticket) });
  await call("POST", base + "/ticket", { params });                                               // 401
  if (stranger) {
    await call("GET", base, { params, token: stranger });                                         // 404
    await call("POST", base + "/ticket", { params, token: stranger });                            // 404
  }
}

try {
  // ---- service
  await call("GET", "/healthz");
  await call("GET", "/metrics");
  await call("GET", "/api/openapi.json");
  await call("GET", "/api/docs");

  // ---- seed 001
  const s1 = await call("POST", "/api/chats/sessions/", { body: { session_id: "landing-demo", metadata: { device: "web" } } });
  await call("POST", "/api/chats/sessions/", { body: { session_id: "landing-demo" } });            // 409
  await call("POST", "/api/chats/sessions/", { raw: "{oops" });                                    // 400
  await call("POST", "/api/chats/sessions/", { body: {}, token: "not-a-token" });                  // 401
  await call("GET", "/api/chats/sessions/");                                                       // 401 anonymous
  await call("GET", "/api/chats/sessions/", { token: admin, query: "?limit=5" });
  await call("GET", "/api/chats/sessions/", { token: admin, query: "?limit=0" });                  // 400
  await call("GET", "/api/chats/sessions/{id}/", { params: { id: "landing-demo" } });
  await call("GET", "/api/chats/sessions/{id}/", { params: { id: s1.json.id } });
  await call("GET", "/api/chats/sessions/{id}/", { params: { id: "nope" } });                      // 404
  const m1 = await call("POST", "/api/chats/messages/", { body: { session_id: "landing-demo", message: "hello" } });
  await call("POST", "/api/chats/messages/", { body: { session_id: "landing-demo", message: "x", role: "assistant" } });  // 403
  await call("POST", "/api/chats/messages/", { body: { session_id: "landing-demo" } });            // 400
  await call("POST", "/api/chats/messages/", { body: { session_id: "nope", message: "x" } });      // 404
  await call("POST", "/api/chats/messages/", { token: admin, body: { session_id: "landing-demo", message: "note", role: "system", metadata: { rag: [] } } });
  await call("GET", "/api/chats/messages/", { query: "?session_id=landing-demo" });
  await call("GET", "/api/chats/messages/", { query: "?session_id=landing-demo&role=bogus" });     // 400
  await call("GET", "/api/chats/messages/");                                                       // 400
  await call("GET", "/api/chats/messages/{id}/", { params: { id: m1.json.id } });
  await call("GET", "/api/chats/messages/{id}/", { params: { id: "00000000-0000-4000-8000-000000000000" } });  // 404
  await call("POST", "/api/chats/messages/chat/", { body: { session_id: "landing-demo", message: "What is AI?" } });
  await call("POST", "/api/chats/messages/chat/", { body: { session_id: "nope", message: "hi" } }); // 404
  await call("POST", "/api/chats/messages/chat/stream/", { body: { session_id: "landing-demo", message: "Tell me a joke" } });
  await call("POST", "/api/chats/messages/chat/stream/", { body: { session_id: "nope", message: "hi" } });  // 404
  await call("DELETE", "/api/chats/messages/{id}/", { params: { id: m1.json.id } });
  await call("DELETE", "/api/chats/messages/{id}/", { params: { id: m1.json.id } });              // 404
  await eventRoutes("/api/chats/sessions/{id}/events", { id: "landing-demo" }, { id: "nope" }, { ticketToken: user });
  await call("POST", "/api/chats/sessions/", { body: { session_id: "to-delete" } });
  await call("DELETE", "/api/chats/sessions/{id}/", { params: { id: "to-delete" } });
  await call("DELETE", "/api/chats/sessions/{id}/", { params: { id: "to-delete" } });             // 404

  // ---- jobs and seed 000
  const job = "3f1c2a4e-8b7d-4c1a-9e2f-0a1b2c3d4e5f";
  await call("POST", "/api/jobs/", { token: user, body: { id: job, title: "Bracket x 200", description: "3 mm steel" } });
  await call("POST", "/api/jobs/", { body: { id: job } });                                         // 401
  await call("POST", "/api/jobs/", { token: user, body: { title: "no id" } });                     // 400
  await call("GET", "/api/jobs/{id}/", { token: user, params: { id: job } });
  await call("GET", "/api/jobs/{id}/", { token: user, params: { id: "missing" } });                // 404
  const qc = "/api/jobs/{job_id}/quote-chat/";
  await call("GET", qc, { token: user, params: { job_id: job } });
  await call("GET", qc, { token: user, params: { job_id: "missing" } });                           // 404
  await call("GET", qc, { params: { job_id: job } });                                              // 401
  await call("POST", qc, { token: user, params: { job_id: job }, body: { message_id: "msg-1", role: "user", content: "Quote 200 brackets?" } });
  await call("POST", qc, { token: user, params: { job_id: job }, body: { message_id: "msg-1", role: "user", content: "else" } });  // 400
  await call("POST", qc, { token: user, params: { job_id: job }, body: { message_id: "msg-2", role: "assistant", content: "Working", metadata: { streaming: true } } });
  await call("PATCH", qc + "{message_id}/", { token: user, params: { job_id: job, message_id: "msg-2" }, body: { content: "$4.10 each", metadata: { final: true } } });
  await call("PATCH", qc + "{message_id}/", { token: user, params: { job_id: job, message_id: "nope" }, body: { content: "x" } });  // 404
  await call("GET", qc, { token: user, params: { job_id: job } });
  await call("DELETE", qc, { token: user, params: { job_id: job } });
  await eventRoutes(qc + "events", { job_id: job }, { job_id: "missing" }, { token: user, ticketToken: user, stranger: other });
  await call("DELETE", qc, { token: user, params: { job_id: "missing" } });                        // 404

  // ---- seed 002
  const p2 = await call("POST", "/api/messages/", { body: { content: "Hi, my order is late", name: "Ann", email: "ann@example.com" } });
  const conv = p2.json.items[0].conversation;
  await call("POST", "/api/messages/", { body: { content: " " } });                                // 400
  await call("POST", "/api/messages/", { token: agent, body: { content: "On it", conversation: conv } });
  await call("POST", "/api/messages/", { token: agent, body: { content: "On it" } });              // 404
  await call("GET", "/api/messages/{uuid}/", { params: { uuid: conv }, query: "?since=0" });
  await call("GET", "/api/messages/{uuid}/", { params: { uuid: conv }, query: "?since=-1" });      // 400
  await call("GET", "/api/messages/{uuid}/", { params: { uuid: conv }, query: "?since=999999&wait=0" });
  await eventRoutes("/api/messages/{uuid}/events", { uuid: conv }, { uuid: "00000000-0000-4000-8000-000000000000" }, { ticketToken: agent });
  await call("GET", "/api/conversation/", { token: agent });
  await call("GET", "/api/conversation/", { token: user });                                        // 403
  await call("GET", "/api/conversation/");                                                         // 401
  await call("GET", "/api/conversation/", { token: agent, query: "?limit=5000" });                 // 400

  // ---- agents and seed 003
  await call("POST", "/api/agents/", { token: admin, body: { id: 5, name: "Customer Service Agent", system_prompt: "You help customers.", model: "echo" } });
  await call("POST", "/api/agents/", { token: user, body: { name: "x" } });                        // 403
  await call("POST", "/api/agents/", { token: admin, body: {} });                                  // 400
  await call("GET", "/api/agents/", { token: user });
  await call("GET", "/api/agents/", { token: admin, query: "?offset=-1" });                        // 400
  await call("GET", "/api/agents/{id}/", { token: admin, params: { id: 5 } });
  await call("GET", "/api/agents/{id}/", { token: user, params: { id: 77 } });                     // 404
  const c3 = await call("POST", "/chat/conversations", { token: user, body: { title: "Customer Support Chat", agent_id: 5 } });
  const id3 = c3.json.data.conversation_id;
  await call("POST", "/chat/conversations", { token: user, body: { title: "x", agent_id: 77 } });  // 404
  await call("POST", "/chat/conversations", { token: user, body: { title: "" } });                 // 400
  await call("GET", "/chat/conversations", { token: user });
  await call("GET", "/chat/conversations", { token: user, query: "?limit=500" });                  // 400
  await call("GET", "/chat/conversations");                                                        // 401
  await call("GET", "/chat/conversations/{id}", { token: user, params: { id: id3 } });
  await call("GET", "/chat/conversations/{id}", { token: other, params: { id: id3 } });            // 404
  await call("POST", "/chat/conversations/{id}/messages", { token: user, params: { id: id3 }, body: { content: "My order number is #12345", sender_type: "user" } });
  await call("POST", "/chat/conversations/{id}/messages", { token: user, params: { id: id3 }, body: { content: "x", sender_type: "robot" } });  // 400
  await call("POST", "/chat/conversations/{id}/ai-response", { token: user, params: { id: id3 }, body: { message: "My order number is #12345", agent_id: 5, include_context: true } });
  await call("POST", "/chat/conversations/{id}/ai-response", { token: other, params: { id: id3 }, body: {} });  // 404
  await call("GET", "/chat/conversations/{id}/messages", { token: user, params: { id: id3 } });
  await call("GET", "/chat/conversations/{id}/messages", { token: user, params: { id: id3 }, query: "?limit=0" });  // 400
  await call("POST", "/chat/conversations/{id}/read", { token: user, params: { id: id3 }, body: {} });
  await call("POST", "/chat/conversations/{id}/read", { token: agent, params: { id: id3 }, body: {} });  // 403
  await call("GET", "/chat/conversations/{id}/sessions", { token: user, params: { id: id3 } });
  await call("GET", "/chat/conversations/{id}/sessions", { token: user, params: { id: 999 } });    // 404
  await call("PUT", "/chat/conversations/{id}", { token: user, params: { id: id3 }, body: { title: "Updated", is_pinned: true } });
  await call("PUT", "/chat/conversations/{id}", { token: user, params: { id: id3 }, body: { is_pinned: "yes" } });  // 400
  await call("GET", "/chat/analytics/dashboard", { token: user, query: "?days=3" });
  await call("GET", "/chat/analytics/dashboard", { token: user, query: "?days=0" });               // 400
  await call("GET", "/chat/analytics/global", { token: admin });
  await call("GET", "/chat/analytics/global", { token: user });                                    // 403
  await call("GET", "/chat/search", { token: user, query: "?query=order" });
  await call("GET", "/chat/search", { token: user });                                              // 400
  await eventRoutes("/chat/conversations/{id}/events", { id: id3 }, { id: 999 }, { token: user, ticketToken: user, stranger: other });
  await call("DELETE", "/chat/conversations/{id}", { token: user, params: { id: id3 } });
  await call("DELETE", "/chat/conversations/{id}", { token: user, params: { id: id3 } });          // 404

  // ---- seed 004
  await call("GET", "/api/chat/health");
  await call("PUT", "/api/profile/", { token: user, body: { skills: ["C++", "SQLite"], work_history: [{ company: "Acme" }] } });
  await call("PUT", "/api/profile/", { token: user, body: { skills: "C++" } });                    // 400
  await call("GET", "/api/profile/", { token: user });
  await call("GET", "/api/profile/");                                                              // 401
  await call("POST", "/api/jobs/", { token: user, body: { id: 123, title: "C++ engineer", description: "Build chat servers" } });
  const st = await call("POST", "/api/chat/start", { token: user, body: { job_id: 123, question: "How do I pitch my C++ work?" } });
  await call("POST", "/api/chat/start", { token: user, body: { job_id: 999, question: "x" } });    // 404
  await call("POST", "/api/chat/start", { token: user, body: { question: "x" } });                 // 400
  const s4 = st.json.session_id;
  await call("POST", "/api/chat/{session_id}/message", { token: user, params: { session_id: s4 }, body: { message: "And my SQL?" } });
  await call("POST", "/api/chat/{session_id}/message", { token: other, params: { session_id: s4 }, body: { message: "x" } });  // 404
  await call("GET", "/api/chat/{session_id}/history", { token: user, params: { session_id: s4 } });
  await call("GET", "/api/chat/{session_id}/history", { token: user, params: { session_id: s4 }, query: "?limit=0" });  // 400
  await call("GET", "/api/chat/{session_id}/context", { token: user, params: { session_id: s4 } });
  await call("GET", "/api/chat/{session_id}/context", { token: other, params: { session_id: s4 } });  // 404
  await call("GET", "/api/chat/sessions", { token: user });
  await call("GET", "/api/chat/sessions", { token: user, query: "?limit=0" });                     // 400
  await eventRoutes("/api/chat/{session_id}/events", { session_id: s4 }, { session_id: "00000000-0000-4000-8000-000000000000" }, { token: user, ticketToken: user, stranger: other });
  await call("POST", "/api/chat/{session_id}/deactivate", { token: user, params: { session_id: s4 } });
  await call("POST", "/api/chat/{session_id}/deactivate", { token: user, params: { session_id: s4 } });  // 404
} finally {
  await d.stop();
}

// Every documented operation was reached, and each API answered both a success and an error.
const byTag = new Map();
for (const [pattern, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    const key = method + " " + pattern;
    const statuses = seen.get(key);
    if (!statuses) { failures.push(`${key}: never called by the scenario`); continue; }
    const tag = op.tags[0];
    if (!byTag.has(tag)) byTag.set(tag, { ok: 0, err: 0 });
    for (const s of statuses) byTag.get(tag)[s < 400 ? "ok" : "err"]++;
  }
}
for (const [tag, n] of byTag) {
  console.log(`${tag}: ${n.ok} success and ${n.err} error statuses seen`);
  if (tag !== "service" && (n.ok === 0 || n.err === 0)) failures.push(`${tag}: needs a success and an error`);
}
console.log(`${checked} answers and stream events validated against ${opts.doc}, ${seen.size} operations`);
if (failures.length) {
  console.error(failures.length + " failures:\n" + failures.join("\n"));
  process.exit(1);
}
