// A landing-page chat widget for chatd's seed 001 API (plain JS, no build
// step, no dependencies). Embed it on a page of another origin:
//
//   <div id="chat"></div>
//   <script src="chat-widget.js"></script>
//   <script>ChatWidget.mount(document.getElementById("chat"), { api: "https://chat.example" });</script>
//
// chatd must list the page's origin: `chatd --cors-origins https://landing.example`
// (or `*`: seed 001 is anonymous). The widget creates a session once (POST
// /api/chats/sessions/, remembered in localStorage: the session_id is the
// visitor's capability), sends each message to POST
// /api/chats/messages/chat/stream/ and renders the Server-Sent Events of the
// reply as they arrive, reading the fetch body with a stream reader (an
// EventSource cannot POST).
(function () {
  "use strict";

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function api(base, path, body) {
    const res = await fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return res;
  }

  // Reads "data: {...}\n\n" events from a fetch body; calls onEvent(obj) for each.
  async function readEvents(res, onEvent) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (data) onEvent(JSON.parse(data));
      }
    }
  }

  async function errorText(res) {
    try {
      const body = await res.json();
      return (body.error && body.error.message) || res.statusText;
    } catch (_) {
      return res.status + " " + res.statusText;
    }
  }

  function mount(root, options) {
    const base = String(options.api || "").replace(/\/$/, "");
    const storageKey = "chatd-session:" + base;
    root.classList.add("chat-widget");
    const log = el("div", "chat-log");
    const form = el("form", "chat-form");
    const input = el("input", "chat-input");
    input.placeholder = options.placeholder || "Ask us anything";
    input.setAttribute("aria-label", "message");
    const send = el("button", "chat-send", "Send");
    send.type = "submit";
    const status = el("div", "chat-status");
    form.append(input, send);
    root.append(log, form, status);

    async function session() {
      const known = localStorage.getItem(storageKey);
      if (known) return known;
      const res = await api(base, "/api/chats/sessions/", { metadata: { page: location.href } });
      if (!res.ok) throw new Error("cannot open a chat: " + (await errorText(res)));
      const s = await res.json();
      localStorage.setItem(storageKey, s.session_id);
      return s.session_id;
    }

    async function ask(text) {
      log.append(el("div", "chat-message user", text));
      const reply = el("div", "chat-message assistant streaming", "");
      log.append(reply);
      let sessionId = await session();
      let res = await api(base, "/api/chats/messages/chat/stream/", { session_id: sessionId, message: text });
      if (res.status === 404 || res.status === 410) {  // the session expired or was deleted: open a new one
        localStorage.removeItem(storageKey);
        sessionId = await session();
        res = await api(base, "/api/chats/messages/chat/stream/", { session_id: sessionId, message: text });
      }
      if (!res.ok) throw new Error(await errorText(res));
      let chunks = 0;
      await readEvents(res, (e) => {
        if (e.error) throw new Error(e.error.message || "the reply failed");
        if (e.chunk) {
          reply.textContent += e.chunk;
          chunks++;
        }
        if (e.done) {
          reply.classList.remove("streaming");
          reply.dataset.responseId = e.response_id || "";
        }
      });
      reply.dataset.chunks = String(chunks);
      root.dataset.session = sessionId;
    }

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      send.disabled = true;
      status.textContent = "";
      ask(text)
        .catch((e) => {
          status.textContent = "Sorry, the chat is unavailable (" + e.message + ")";
          root.dataset.error = e.message;
        })
        .finally(() => { send.disabled = false; });
    });
    return { ask };
  }

  window.ChatWidget = { mount };
})();
