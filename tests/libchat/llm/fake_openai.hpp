// fake_openai.hpp: a fake OpenAI-compatible server on 127.0.0.1 (port 0) that
// replays the wire formats of real servers, for the provider's tests.
//
//   test_llm::FakeOpenAi fake;
//   fake.then(test_llm::sse(test_llm::openai_stream({"Hel", "lo"}, true)));   // first request
//   fake.then(test_llm::status(500, R"({"error":{"message":"boom"}})"));     // second, and every later one
//   chat::OpenAiOptions o; o.base_url = fake.base_url(); o.model = "m";
//
// Request n to /v1/chat/completions takes scripted reply n (the last one
// repeats, also for replies added later: a reply added after the script ran
// out answers the next request); bodies and headers are recorded. A streamed reply is a
// list of raw byte pieces written one by one (so a test chooses where the
// chunks split), with an optional delay, and can end by dropping the
// connection instead of finishing.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace test_llm {

using Reply = std::function<void(const httplib::Request&, httplib::Response&)>;

struct StreamState {
  std::atomic<int> pieces_written{0};
  std::atomic<bool> client_gone{false};  // a write failed: the client closed the connection
};

class FakeOpenAi {
 public:
  FakeOpenAi() {
    server_.Post(R"(/(.*)chat/completions)", [this](const httplib::Request& req, httplib::Response& res) {
      Reply r;
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(nlohmann::json::parse(req.body, nullptr, false));
        headers_.push_back(req.headers);
        paths_.push_back(req.path);
        if (script_.empty()) {
          res.status = 500;
          return;
        }
        r = script_[std::min(next_, script_.size() - 1)];
        ++next_;
      }
      ++hits_;
      r(req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~FakeOpenAi() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  FakeOpenAi(const FakeOpenAi&) = delete;
  FakeOpenAi& operator=(const FakeOpenAi&) = delete;

  FakeOpenAi& then(Reply r) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(r));
    return *this;
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  int hits() const { return hits_.load(); }
  nlohmann::json body(std::size_t i) const {
    std::lock_guard lock(mu_);
    return bodies_.at(i);
  }
  httplib::Headers headers(std::size_t i) const {
    std::lock_guard lock(mu_);
    return headers_.at(i);
  }
  std::string path(std::size_t i) const {
    std::lock_guard lock(mu_);
    return paths_.at(i);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<Reply> script_;
  std::size_t next_ = 0;  // request n takes script_[min(n, size - 1)]
  std::vector<nlohmann::json> bodies_;
  std::vector<httplib::Headers> headers_;
  std::vector<std::string> paths_;
  std::atomic<int> hits_{0};
};

// ---- replies

inline Reply json_reply(int code, std::string body, httplib::Headers extra = {}) {
  return [code, body = std::move(body), extra = std::move(extra)](const httplib::Request&, httplib::Response& res) {
    res.status = code;
    for (const auto& [k, v] : extra) res.set_header(k, v);
    res.set_content(body, "application/json");
  };
}
inline Reply status(int code, std::string body = {}, httplib::Headers extra = {}) {
  return json_reply(code, std::move(body), std::move(extra));
}

// A non-streamed chat.completion as OpenAI sends it.
inline std::string completion_json(const std::string& content, bool usage = true,
                                   const std::string& finish = "stop") {
  nlohmann::json j = {{"id", "chatcmpl-1"},
                      {"object", "chat.completion"},
                      {"created", 1700000000},
                      {"model", "gpt-4o-mini-2024-07-18"},
                      {"choices", {{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", content}}},
                                    {"finish_reason", finish}}}}};
  if (usage) j["usage"] = {{"prompt_tokens", 21}, {"completion_tokens", 7}, {"total_tokens", 28}};
  return j.dump();
}

struct StreamOptions {
  std::chrono::milliseconds delay{0};        // before each piece
  std::chrono::milliseconds first_delay{0};  // before anything (headers included)
  bool drop_at_end = false;                  // close the connection instead of finishing the body
  std::shared_ptr<StreamState> state;        // what the server saw
};

// Streams `pieces` verbatim (text/event-stream).
inline Reply sse(std::vector<std::string> pieces, StreamOptions o = {}) {
  if (!o.state) o.state = std::make_shared<StreamState>();
  return [pieces = std::move(pieces), o](const httplib::Request&, httplib::Response& res) {
    if (o.first_delay.count() > 0) std::this_thread::sleep_for(o.first_delay);
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    auto idx = std::make_shared<std::size_t>(0);
    res.set_chunked_content_provider("text/event-stream", [pieces, o, idx](std::size_t, httplib::DataSink& sink) {
      if (*idx >= pieces.size()) {
        if (o.drop_at_end) return false;
        sink.done();
        return true;
      }
      if (o.delay.count() > 0) std::this_thread::sleep_for(o.delay);
      const std::string& p = pieces[(*idx)++];
      if (!sink.is_writable() || !sink.write(p.data(), p.size())) {
        o.state->client_gone = true;
        return false;
      }
      ++o.state->pieces_written;
      return true;
    });
  };
}

// An OpenAI stream: role delta, one content delta per text, a finish chunk,
// optionally a usage chunk with empty choices, and [DONE].
inline std::vector<std::string> openai_stream(const std::vector<std::string>& texts, bool usage,
                                              const std::string& sep = "\n") {
  auto chunk = [](nlohmann::json delta, nlohmann::json finish) {
    return nlohmann::json{{"id", "chatcmpl-1"},
                          {"object", "chat.completion.chunk"},
                          {"created", 1700000000},
                          {"model", "gpt-4o-mini-2024-07-18"},
                          {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}}
        .dump();
  };
  std::vector<std::string> out;
  out.push_back("data: " + chunk({{"role", "assistant"}, {"content", ""}}, nullptr) + sep + sep);
  for (const auto& t : texts) out.push_back("data: " + chunk({{"content", t}}, nullptr) + sep + sep);
  out.push_back("data: " + chunk(nlohmann::json::object(), "stop") + sep + sep);
  if (usage) {
    nlohmann::json u = {{"id", "chatcmpl-1"},
                        {"object", "chat.completion.chunk"},
                        {"choices", nlohmann::json::array()},
                        {"usage", {{"prompt_tokens", 12}, {"completion_tokens", 3}, {"total_tokens", 15}}}};
    out.push_back("data: " + u.dump() + sep + sep);
  }
  out.push_back("data: [DONE]" + sep + sep);
  return out;
}

// The same bytes re-cut into pieces of `n` bytes (splits lines, "data:" and UTF-8 sequences).
inline std::vector<std::string> recut(const std::vector<std::string>& pieces, std::size_t n) {
  std::string all;
  for (const auto& p : pieces) all += p;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < all.size(); i += n) out.push_back(all.substr(i, n));
  return out;
}

}  // namespace test_llm
