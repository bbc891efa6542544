// The seed 001 landing-page flow across origins in headless Chromium: the
// widget of examples/web/ is served from one origin (a static server of this
// test), chatd runs on another (another port), and the page creates a
// session, sends a message and renders the streamed reply. Then the same page
// against a chatd that does not list its origin must fail, as a browser
// enforces CORS.
// Usage: node widget.mjs --chatd <binary> --chromium <path> --widget <examples/web> --out <dir>
import http from "node:http";
import { readFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { startChatd, flags } from "./chatd.mjs";
import { launch, watch } from "./browser.mjs";

const opts = flags();
mkdirSync(opts.out, { recursive: true });
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
const site = http.createServer((req, res) => {
  const name = path.basename(new URL(req.url, "http://x").pathname) || "index.html";
  try {
    const body = readFileSync(path.join(opts.widget, name));
    res.writeHead(200, { "Content-Type": types[path.extname(name)] || "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => site.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${site.address().port}`;

async function runWidget(browser, chatdUrl, message) {
  const page = await browser.newPage();
  const problems = watch(page, [origin, chatdUrl]);
  await page.goto(`${origin}/index.html?api=${encodeURIComponent(chatdUrl)}`, { waitUntil: "load" });
  await page.type(".chat-input", message);
  await page.click(".chat-send");
  await page.waitForFunction(() => document.querySelector(".chat-message.assistant:not(.streaming)") ||
                                   document.querySelector(".chat-widget").dataset.error, { timeout: 30000 });
  const result = await page.evaluate(() => {
    const reply = document.querySelector(".chat-message.assistant");
    return { text: reply && reply.textContent, chunks: Number(reply && reply.dataset.chunks),
             responseId: reply && reply.dataset.responseId, error: document.querySelector(".chat-widget").dataset.error,
             session: document.querySelector(".chat-widget").dataset.session };
  });
  return { page, problems, result };
}

const browser = await launch(opts.chromium);
try {
  // 1. chatd lists the widget's origin: the flow works and the reply streams.
  const d = await startChatd(opts.chatd, ["--cors-origins", origin, "--llm-echo-delay-ms", "20"]);
  try {
    const { page, problems, result } = await runWidget(browser, d.url, "hello from the landing page");
    await page.screenshot({ path: path.join(opts.out, "widget.png") });
    assert.deepEqual(problems, []);
    assert.equal(result.error, undefined);
    assert.equal(result.text, "Echo: hello from the landing page");
    assert.ok(result.chunks > 1, `the reply arrived in ${result.chunks} chunk(s), not streamed`);
    assert.match(result.responseId, /^[0-9a-f-]{36}$/);
    // The messages are chatd's: the session the page created holds both.
    const stored = await (await fetch(`${d.url}/api/chats/messages/?session_id=${result.session}`)).json();
    assert.deepEqual(stored.map((m) => m.role), ["user", "assistant"]);
    console.log(`widget: reply streamed in ${result.chunks} chunks from ${d.url} to a page of ${origin}`);
  } finally {
    await d.stop();
  }
  // 2. chatd does not list it: the browser refuses, the widget reports it.
  const closed = await startChatd(opts.chatd, ["--cors-origins", "https://landing.example"]);
  try {
    const { result } = await runWidget(browser, closed.url, "hello");
    assert.ok(result.error, "a page of an unlisted origin must not reach chatd");
    console.log(`widget from an unlisted origin: refused by the browser (${result.error})`);
  } finally {
    await closed.stop();
  }
} finally {
  await browser.close();
  site.close();
}
