// The OpenAI-compatible provider (chat/openai_provider.hpp), on cpp-httplib's
// client. Everything httplib or nlohmann may throw is caught here.
#include "chat/openai_provider.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stop_token>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>
#include <utility>

#include "llm/sse_parser.hpp"

namespace chat {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kMaxServerMessage = 300;

struct Endpoint {
  std::string scheme_host_port;  // "http://127.0.0.1:11434"
  std::string path;              // "/v1/chat/completions"
  std::string host;              // for messages
};

Result<Endpoint> parse_base_url(std::string url) {
  Endpoint e;
  std::string_view rest;
  std::string_view u(url);
  if (u.rfind("http://", 0) == 0) {
    rest = u.substr(7);
  } else if (u.rfind("https://", 0) == 0) {
    rest = u.substr(8);
  } else {
    return Error::invalid("base_url", "base_url must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (authority.empty()) return Error::invalid("base_url", "base_url has no host");
  for (char c : authority)
    if (c == '@' || c == ' ' || c == '?' || c == '#')
      return Error::invalid("base_url", "base_url must be scheme://host[:port][/path]");
  std::string prefix = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash));
  if (prefix.find_first_of("?# ") != std::string::npos)
    return Error::invalid("base_url", "base_url must not have a query or fragment");
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  const bool has_v1 = prefix.size() >= 3 && prefix.compare(prefix.size() - 3, 3, "/v1") == 0;
  e.path = prefix + (has_v1 ? "" : "/v1") + "/chat/completions";
  e.scheme_host_port = std::string(u.substr(0, u.size() - rest.size())) + std::string(authority);
  e.host = std::string(authority);
  return e;
}

std::string_view wire_role(Role r) {
  switch (r) {
    case Role::kUser: return "user";
    case Role::kAssistant:
    case Role::kAgent: return "assistant";
    case Role::kSystem: return "system";
  }
  return "user";
}

Error upstream(std::string message) { return {ErrorCode::kUpstream, std::move(message), {}}; }
Error cancelled_error() { return Error::unavailable("the model call was cancelled"); }

// Aborts one HTTP exchange from another thread when the request's stop token
// is requested. httplib's Client::stop() would race with a socket that does
// not exist yet (stop() before send() connects does nothing) and blocks while
// send() connects under its lock; so the exchange keeps its own duplicate of
// the socket, taken when httplib creates it (before connect), and shuts that
// down: shutdown(2) acts on the socket, not the descriptor, so it aborts a
// connect, a read or a write in progress, and the duplicate keeps the socket
// (and its number) alive until the exchange is over, so a late stop never
// touches a descriptor that has since been reused.
class Abort {
 public:
  explicit Abort(std::stop_token stop) : stop_(std::move(stop)) {}
  ~Abort() { release(); }
  Abort(const Abort&) = delete;
  Abort& operator=(const Abort&) = delete;

  // httplib's socket_options hook: called on the sending thread when the
  // socket is created, before connect.
  void adopt(int sock) {
    httplib::default_socket_options(sock);
    std::lock_guard lock(mu_);
    if (dup_ >= 0) ::close(dup_);
    dup_ = ::fcntl(sock, F_DUPFD_CLOEXEC, 0);
    if (requested_ && dup_ >= 0) ::shutdown(dup_, SHUT_RDWR);
  }
  // From the stop callback (any thread).
  void request() {
    std::lock_guard lock(mu_);
    requested_ = true;
    if (dup_ >= 0) ::shutdown(dup_, SHUT_RDWR);
  }
  // The exchange is over: no later stop may touch the socket.
  void release() {
    std::lock_guard lock(mu_);
    if (dup_ >= 0) ::close(dup_);
    dup_ = -1;
  }
  bool requested() const { return stop_.stop_requested(); }
  const std::stop_token& token() const { return stop_; }

 private:
  std::stop_token stop_;
  std::mutex mu_;
  int dup_ = -1;
  bool requested_ = false;
};
Error deadline(std::string message) { return {ErrorCode::kDeadlineExceeded, std::move(message), {}}; }

// One attempt's outcome, before it becomes a Result.
struct Attempt {
  std::optional<Error> error;
  bool retryable = false;
  std::optional<std::chrono::milliseconds> retry_after;
};

class OpenAiProvider final : public LlmProvider {
 public:
  OpenAiProvider(OpenAiOptions o, Endpoint e) : o_(std::move(o)), e_(std::move(e)) {}

  std::string_view name() const override { return "openai"; }

  Result<Completion> complete(const CompletionRequest& request) override {
    try {
      return run(request, nullptr);
    } catch (const std::exception&) {
      return upstream("the model server request failed");
    }
  }

  Result<Completion> stream(const CompletionRequest& request, const ChunkCallback& on_chunk) override {
    try {
      return run(request, &on_chunk);
    } catch (const std::exception&) {
      return upstream("the model server request failed");
    }
  }

 private:
  std::string body_of(const CompletionRequest& r, bool streaming) const {
    Json messages = Json::array();
    for (const auto& t : r.messages) messages.push_back({{"role", wire_role(t.role)}, {"content", t.content}});
    Json body = {{"model", r.model.empty() ? o_.model : r.model}, {"messages", std::move(messages)}};
    if (auto t = r.temperature ? r.temperature : o_.temperature) body["temperature"] = *t;
    if (auto m = r.max_tokens ? r.max_tokens : o_.max_tokens) body["max_tokens"] = *m;
    body["stream"] = streaming;
    if (streaming && o_.include_usage) body["stream_options"] = {{"include_usage", true}};
    return body.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  // The server's words without the key, short enough for a client.
  std::string scrub(std::string text) const {
    if (!o_.api_key.empty()) {
      for (auto p = text.find(o_.api_key); p != std::string::npos; p = text.find(o_.api_key, p))
        text.replace(p, o_.api_key.size(), "***");
    }
    if (text.size() > kMaxServerMessage) {
      std::size_t cut = kMaxServerMessage;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      text.resize(cut);
      text += "...";
    }
    return text;
  }

  std::string server_message(const std::string& body) const {
    auto j = Json::parse(body, nullptr, false);
    if (j.is_object()) {
      auto it = j.find("error");
      if (it != j.end()) {
        if (it->is_object()) {
          auto m = it->find("message");
          if (m != it->end() && m->is_string()) return scrub(m->get<std::string>());
        } else if (it->is_string()) {
          return scrub(it->get<std::string>());  // llama.cpp and Ollama sometimes send {"error": "..."}
        }
      }
    }
    return {};
  }

  Attempt http_error(int status, const std::string& body, const httplib::Headers& headers) const {
    Attempt a;
    const std::string said = server_message(body);
    const std::string tail = said.empty() ? std::string() : ": " + said;
    if (status == 429) {
      a.error = Error::unavailable("the model server is rate limiting requests (429)" + tail);
    } else if (status == 503) {
      a.error = Error::unavailable("the model server is unavailable (503)" + tail);
    } else {
      a.error = upstream("the model server answered " + std::to_string(status) + tail);
    }
    a.retryable = status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
    auto it = headers.find("Retry-After");
    if (it != headers.end()) {
      const std::string& v = it->second;
      if (!v.empty() && v.size() < 9 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        a.retry_after = std::chrono::seconds(std::stoll(v));
    }
    return a;
  }

  Attempt transport_error(httplib::Error err, Clock::time_point started) const {
    Attempt a;
    switch (err) {
      case httplib::Error::Connection:
      case httplib::Error::BindIPAddress:
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        a.error = Error::unavailable("the model server at " + e_.host + " is unreachable (" +
                                     (err == httplib::Error::Connection ? std::string("could not connect")
                                      : err == httplib::Error::BindIPAddress
                                          ? std::string("could not bind a local address")
                                          : std::string("TLS: ") + httplib::to_string(err)) +
                                     ")");
        a.retryable = err == httplib::Error::Connection;
        break;
      case httplib::Error::ConnectionTimeout:
        a.error = deadline("connecting to the model server at " + e_.host + " timed out");
        a.retryable = false;
        break;
      case httplib::Error::Read:
        // httplib reports a timeout and a closed connection alike: the clock
        // tells them apart.
        if (Clock::now() - started >= o_.read_timeout - std::chrono::milliseconds(50)) {
          a.error = deadline("the model server did not answer within " +
                             std::to_string(o_.read_timeout.count()) + " ms");
        } else {
          a.error = upstream("the model server closed the connection before answering");
        }
        break;
      default:
        a.error = upstream("the model server request failed (" + httplib::to_string(err) + ")");
        break;
    }
    return a;
  }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>(e_.scheme_host_port);
    const auto ct = o_.connect_timeout.count();
    const auto rt = o_.read_timeout.count();
    c->set_connection_timeout(static_cast<time_t>(ct / 1000), static_cast<time_t>((ct % 1000) * 1000));
    c->set_read_timeout(static_cast<time_t>(rt / 1000), static_cast<time_t>((rt % 1000) * 1000));
    c->set_write_timeout(static_cast<time_t>(rt / 1000), static_cast<time_t>((rt % 1000) * 1000));
    c->set_keep_alive(false);
    c->set_follow_location(false);
    if (e_.scheme_host_port.rfind("https://", 0) == 0) {
      c->enable_server_certificate_verification(o_.verify_tls);
      if (!o_.ca_cert_path.empty()) c->set_ca_cert_path(o_.ca_cert_path);
    }
    return c;
  }

  Result<Completion> run(const CompletionRequest& request, const ChunkCallback* on_chunk) {
    if (request.messages.empty()) return Error::invalid("messages", "a completion needs at least one message");
    const std::string body = body_of(request, on_chunk != nullptr);
    std::chrono::milliseconds backoff = o_.retry_backoff;
    for (int attempt = 0;; ++attempt) {
      if (request.stop.stop_requested()) return cancelled_error();
      bool delivered = false;
      Result<Completion> r = once(request, body, on_chunk, delivered);
      if (r.ok()) return r;
      if (request.stop.stop_requested()) return cancelled_error();
      const Attempt& a = last_;
      if (!a.retryable || delivered || attempt >= o_.max_retries) return r;
      auto wait = a.retry_after ? std::min(*a.retry_after, o_.max_retry_after) : std::min(backoff, o_.max_retry_after);
      // The backoff ends early when the call is cancelled.
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, request.stop, wait, [] { return false; }) || request.stop.stop_requested())
        return cancelled_error();
      backoff *= 2;
    }
  }

  // One HTTP exchange. `delivered` is set once a chunk reached the callback.
  // The attempt's retry facts are left in last_ (thread_local storage).
  Result<Completion> once(const CompletionRequest& request, const std::string& body, const ChunkCallback* on_chunk,
                          bool& delivered) {
    last_ = Attempt{};
    auto cli = client();
    Abort abort(request.stop);
    cli->set_socket_options([&abort](socket_t sock) { abort.adopt(sock); });
    // Registered before the exchange; runs at once if the token is already requested.
    std::stop_callback on_stop(request.stop, [&abort] { abort.request(); });
    if (abort.requested()) return cancelled_error();
    httplib::Request req;
    req.method = "POST";
    req.path = e_.path;
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", on_chunk ? "text/event-stream" : "application/json");
    req.set_header("Accept-Encoding", "identity");
    if (!o_.api_key.empty()) req.set_header("Authorization", "Bearer " + o_.api_key);

    int status = 0;
    httplib::Headers resp_headers;
    std::string raw;  // the whole body (non-streaming, or any error status)
    Completion out;
    out.model = request.model.empty() ? o_.model : request.model;
    detail::SseParser sse;
    std::optional<Error> stream_error;
    bool done = false;
    bool cancelled = false;
    bool json_body = false;  // a stream request answered with a plain JSON completion

    req.response_handler = [&](const httplib::Response& r) {
      status = r.status;
      resp_headers = r.headers;
      json_body = r.get_header_value("Content-Type").rfind("application/json", 0) == 0;
      return true;
    };
    auto on_event = [&](std::string_view data) -> bool {
      if (data == "[DONE]") {
        done = true;
        return true;
      }
      auto j = Json::parse(data, nullptr, false);
      if (!j.is_object()) {
        stream_error = upstream("the model server sent a stream event that is not JSON");
        return false;
      }
      if (auto it = j.find("error"); it != j.end() && !it->is_null()) {
        std::string m = server_message(std::string(data));
        stream_error = upstream("the model server failed mid-stream" + (m.empty() ? std::string() : ": " + m));
        return false;
      }
      if (auto m = j.find("model"); m != j.end() && m->is_string() && !m->get_ref<const std::string&>().empty())
        out.model = m->get<std::string>();
      read_usage(j, out);
      auto choices = j.find("choices");
      if (choices == j.end() || !choices->is_array() || choices->empty()) return true;
      const Json& c0 = (*choices)[0];
      if (!c0.is_object()) return true;
      if (auto fr = c0.find("finish_reason"); fr != c0.end() && fr->is_string()) out.finish_reason = fr->get<std::string>();
      auto delta = c0.find("delta");
      if (delta == c0.end() || !delta->is_object()) return true;
      auto content = delta->find("content");
      if (content == delta->end() || !content->is_string()) return true;
      const std::string& text = content->get_ref<const std::string&>();
      if (text.empty()) return true;
      delivered = true;
      bool keep = false;
      try {
        keep = (*on_chunk)(text);
      } catch (...) {
        keep = false;
      }
      if (!keep) {
        cancelled = true;
        return false;
      }
      out.content += text;
      return true;
    };
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
      if (abort.requested()) return false;
      if (status != 200 || on_chunk == nullptr || json_body) {
        if (raw.size() + n > (status == 200 ? std::size_t{64} << 20 : kMaxErrorBody)) {
          if (status != 200) return true;  // enough to explain an error; drop the rest
          stream_error = upstream("the model server's answer is too large");
          return false;
        }
        raw.append(data, n);
        return true;
      }
      if (done) return true;
      return sse.feed(std::string_view(data, n), on_event);
    };

    const auto started = Clock::now();
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const bool ok = cli->send(req, res, err);
    abort.release();
    if (status == 0 && res.status > 0) status = res.status;
    // After the exchange: a stop that came at any point of it (even before the
    // socket existed) makes its outcome a cancellation.
    if (abort.requested()) return cancelled_error();

    if (cancelled) {
      out.finish_reason = "cancelled";
      return out;
    }
    if (stream_error) {
      last_.error = stream_error;
      return *stream_error;
    }
    if (!ok || err != httplib::Error::Success) {
      if (status != 0 && status != 200 && err == httplib::Error::Read) {
        last_ = http_error(status, raw, resp_headers);
        return *last_.error;
      }
      if (delivered || (status == 200 && on_chunk != nullptr && sse.saw_data())) {
        last_.error = upstream("the model server closed the stream before it finished");
        return *last_.error;
      }
      last_ = transport_error(err, started);
      return *last_.error;
    }
    if (status != 200) {
      last_ = http_error(status, raw, resp_headers);
      return *last_.error;
    }
    if (on_chunk != nullptr && json_body) {
      // A server (or proxy) that ignores "stream": the whole answer as one chunk.
      auto whole = parse_completion(raw, out);
      if (!whole) return whole;
      if (!whole->content.empty()) {
        bool keep = false;
        try {
          keep = (*on_chunk)(whole->content);
        } catch (...) {
          keep = false;
        }
        if (!keep) {
          Completion c = std::move(*whole);
          c.content.clear();
          c.finish_reason = "cancelled";
          return c;
        }
      }
      return whole;
    }
    if (on_chunk != nullptr) {
      if (!done) {
        // The end of the body with an event still pending (no blank line).
        if (!sse.finish(on_event) && stream_error) {
          last_.error = stream_error;
          return *stream_error;
        }
        if (cancelled) {
          out.finish_reason = "cancelled";
          return out;
        }
        if (!done && out.finish_reason.empty()) {
          last_.error = upstream(sse.saw_data() ? "the model server closed the stream before it finished"
                                                : "the model server answered without an event stream");
          return *last_.error;
        }
      }
      if (out.finish_reason.empty()) out.finish_reason = "stop";
      return out;
    }
    return parse_completion(raw, out);
  }

  static void read_usage(const Json& j, Completion& out) {
    auto u = j.find("usage");
    if (u == j.end() || !u->is_object()) return;
    auto p = u->find("prompt_tokens");
    auto c = u->find("completion_tokens");
    if (p != u->end() && p->is_number_integer() && c != u->end() && c->is_number_integer()) {
      out.prompt_tokens = p->get<std::int64_t>();
      out.completion_tokens = c->get<std::int64_t>();
      out.usage_reported = true;
    }
  }

  Result<Completion> parse_completion(const std::string& raw, Completion out) {
    auto j = Json::parse(raw, nullptr, false);
    auto bad = [&] {
      last_.error = upstream("the model server's answer is not a chat completion");
      return *last_.error;
    };
    if (!j.is_object()) return bad();
    auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) return bad();
    const Json& c0 = (*choices)[0];
    auto msg = c0.find("message");
    if (msg == c0.end() || !msg->is_object()) return bad();
    auto content = msg->find("content");
    if (content != msg->end() && content->is_string()) {
      out.content = content->get<std::string>();
    } else if (content == msg->end() || !content->is_null()) {
      return bad();
    }
    if (auto fr = c0.find("finish_reason"); fr != c0.end() && fr->is_string()) out.finish_reason = fr->get<std::string>();
    if (out.finish_reason.empty()) out.finish_reason = "stop";
    if (auto m = j.find("model"); m != j.end() && m->is_string() && !m->get_ref<const std::string&>().empty())
      out.model = m->get<std::string>();
    read_usage(j, out);
    return out;
  }

  const OpenAiOptions o_;
  const Endpoint e_;
  static thread_local Attempt last_;
};

thread_local Attempt OpenAiProvider::last_;

}  // namespace

Result<std::unique_ptr<LlmProvider>> make_openai_provider(OpenAiOptions options) {
  try {
    auto e = parse_base_url(options.base_url);
    if (!e) return std::move(e).error();
    if (options.model.empty()) return Error::invalid("model", "a model name is required");
    if (options.connect_timeout.count() <= 0 || options.read_timeout.count() <= 0)
      return Error::invalid("timeout", "timeouts must be positive");
    if (options.max_retries < 0 || options.retry_backoff.count() < 0 || options.max_retry_after.count() < 0)
      return Error::invalid("max_retries", "retry settings must not be negative");
    if (options.temperature && !(*options.temperature >= 0.0 && *options.temperature <= 2.0))
      return Error::invalid("temperature", "temperature must be between 0 and 2");
    if (options.max_tokens && *options.max_tokens <= 0)
      return Error::invalid("max_tokens", "max_tokens must be positive");
    return std::unique_ptr<LlmProvider>(std::make_unique<OpenAiProvider>(std::move(options), std::move(*e)));
  } catch (const std::exception&) {
    return Error::internal("could not create the OpenAI provider");
  }
}

}  // namespace chat
