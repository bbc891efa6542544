// chat/openai_provider.hpp: an LlmProvider for any OpenAI-compatible server
// (OpenAI, Ollama, llama.cpp's llama-server, vLLM, ...).
//
//   chat::OpenAiOptions o;
//   o.base_url = "http://127.0.0.1:11434";   // Ollama
//   o.model = "llama3.1";
//   auto llm = chat::make_openai_provider(o);  // Result<std::unique_ptr<LlmProvider>>
//
// Wire protocol: POST {base_url}/v1/chat/completions with
//   {"model", "messages": [{"role", "content"}], "temperature"?, "max_tokens"?, "stream"}
// and, when streaming, "stream_options": {"include_usage": true}. base_url is
// "http://host[:port][/prefix]" or "https://..."; a trailing "/" is ignored and
// a base that already ends in "/v1" is not given a second one, so
// "https://api.openai.com" and "https://api.openai.com/v1" name the same
// endpoint. Role kAgent is sent as "assistant". The model of a request, when
// empty, is OpenAiOptions::model. ChatService always names a model (the
// agent's, else ServiceOptions::default_model, "echo" unless set): set
// default_model to the same model when you wire this provider into a service.
//
// Streaming reads Server-Sent Events: "data:" lines with or without a space
// after the colon, LF or CRLF line endings, comment lines (": ping") ignored,
// "[DONE]" or the end of the body ends the stream. Each choices[0].delta.content
// is delivered to the callback as it arrives; a chunk that carries "usage"
// (OpenAI sends it with empty "choices" when include_usage is asked for; Ollama
// and llama.cpp may not send one) fills the token counts, otherwise
// Completion::usage_reported is false. A body that ends without "[DONE]" and
// without a finish_reason is an error (the server closed mid-stream). A server
// that ignores "stream" and answers application/json gets its completion
// delivered as one chunk.
//
// Errors (never an exception; messages never contain the API key):
//   connection refused, DNS, TLS handshake        kUnavailable
//   connect or read timeout (no byte for read_timeout)  kDeadlineExceeded
//   429 (after retries)                           kUnavailable (the model
//       server is rate limiting us: a server-side condition, not the
//       client's own demand, so chatd answers 503 rather than 429)
//   503 (after retries)                           kUnavailable
//   any other 4xx / 5xx                           kUpstream, with the server's
//       OpenAI-style {"error": {"message": ...}} text when it sends one
//   a body that is not the expected JSON, or a stream cut off  kUpstream
//   an empty message list                         kInvalidArgument
//
// Retries: up to max_retries more attempts, only while nothing has been
// delivered to the callback: after a connection failure, 429, 500, 502, 503 or
// 504. The wait is retry_backoff doubled each attempt, or the server's
// Retry-After (seconds) when it says so, capped at max_retry_after. Read
// timeouts and malformed bodies are not retried.
//
// Cancellation: when the callback returns false the provider stops reading,
// closes the connection (which is how OpenAI-compatible servers learn to stop
// generating) and returns what it had with finish_reason "cancelled".
//
// Thread safety: one provider serves concurrent requests; each request opens
// its own connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "chat/llm.hpp"
#include "chat/result.hpp"

namespace chat {

struct OpenAiOptions {
  std::string base_url = "https://api.openai.com";
  std::string api_key;  // empty: no Authorization header (Ollama, llama.cpp)
  std::string model;    // required: the default model of requests that name none
  std::optional<double> temperature;        // default of requests that set none
  std::optional<std::int64_t> max_tokens;   // default of requests that set none
  std::chrono::milliseconds connect_timeout{10'000};
  // Longest silence tolerated while waiting for the response or the next
  // piece of a stream (a model loading into memory can take a while).
  std::chrono::milliseconds read_timeout{120'000};
  int max_retries = 2;
  std::chrono::milliseconds retry_backoff{500};
  std::chrono::milliseconds max_retry_after{10'000};
  bool include_usage = true;  // ask streams for a usage chunk
  bool verify_tls = true;     // verify https certificates against the system store
  std::string ca_cert_path;   // extra CA bundle for https (empty: the system's)
};

// Fails with kInvalidArgument (field "base_url" or "model") when the URL is
// not http(s):// or the model is empty, or a timeout or retry count is negative.
Result<std::unique_ptr<LlmProvider>> make_openai_provider(OpenAiOptions options);

}  // namespace chat
