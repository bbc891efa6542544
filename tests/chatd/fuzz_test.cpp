// A bounded, seeded fuzz run against an in-process chatd (real ChatService,
// in-memory store): random requests over every registered route (paths,
// queries, headers, framing, JSON, text with NUL, invalid UTF-8 and long
// strings), pipelined in batches on keep-alive connections, some with a
// mangled method or target. Checks: no 5xx, an answer for every
// request, RSS bounded. A few seconds; the seed and count can be changed
// with CHATD_FUZZ_SEED and CHATD_FUZZ_REQUESTS. The long run by hand against
// a real chatd process is bench/fuzz_chatd.py.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "chatd/live_server.hpp"
#include "chatd/raw_http.hpp"

using chatd_test::LiveServer;
using chatd_test::RawConnection;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Fuzzer {
  std::mt19937_64 rng;
  std::vector<chatd::RouteInfo> routes;
  std::vector<std::string> tokens;  // "" = anonymous
  std::vector<std::string> known_ids;

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

  // Text as the internet sends it.
  std::string text() {
    static const std::vector<std::string> pieces = {
        "hello",  "über",   "Straße", "Ärztin", "\xce\xb1\xce\xb2",      "😀", "\u00a0", "\u3000", " ", "\t",
        "%",      "'",      "\"",     "\\",     "*",                      "OR", "NEAR(", "\"a", "_", "\x7f",
        "\xff",   "\xc3",   "\xed\xa0\x80",     "\xf4\x90\x80\x80", "<script>", "null", "-1", "0", "9999999999999"};
    std::string out;
    const std::size_t n = chance(0.05) ? 200 + below(3000) : below(6);
    for (std::size_t i = 0; i < n; ++i) {
      if (chance(0.05)) {
        out += '\0';
      } else if (chance(0.1)) {
        out += static_cast<char>(below(256));
      } else {
        out += pick(pieces);
      }
    }
    return out;
  }
  static std::string percent_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.') {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }
  std::string segment() {
    switch (below(6)) {
      case 0: return std::to_string(below(20));
      case 1: return known_ids.empty() ? "1" : pick(known_ids);
      case 2: return "3fa85f64-5717-4562-b3fc-2c963f66afa6";
      case 3: return percent_encode(text());
      case 4: return std::string(1 + below(2000), 'a');
      default: return "-" + std::to_string(below(1000));
    }
  }
  std::string path() {
    if (chance(0.05)) return "/" + percent_encode(text());
    std::string p = pick(routes).pattern;
    std::string out;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p[i] == '{') {
        i = p.find('}', i);
        out += segment();
      } else {
        out += p[i];
      }
    }
    if (chance(0.1)) out += "/" + segment();
    return out;
  }
  std::string query() {
    static const std::vector<std::string> keys = {"search", "query", "q", "limit", "offset", "page", "page_size",
                                                  "since", "session_id", "external_user_id", "status", "from",
                                                  "to", "period", "include_deleted", "role", "x"};
    std::string q;
    const std::size_t n = below(4);
    for (std::size_t i = 0; i < n; ++i) {
      q += (i == 0 ? "?" : "&") + pick(keys) + "=";
      q += chance(0.3) ? std::to_string(static_cast<long long>(below(300)) - 50) : percent_encode(text());
    }
    return q;
  }
  json value(int depth = 0) {
    switch (below(depth > 2 ? 5 : 7)) {
      case 0: return nullptr;
      case 1: return chance(0.5);
      case 2: return static_cast<long long>(below(1'000'000)) - 1000;
      case 3: return 1.5;
      case 4: return text();
      case 5: return json::array({value(depth + 1), value(depth + 1)});
      default: return json{{"k", value(depth + 1)}};
    }
  }
  std::string body() {
    static const std::vector<std::string> fields = {
        "content", "message", "title", "session_id", "conversation", "role", "name", "email", "question",
        "metadata", "external_user_id", "client_id", "text", "query", "job_id", "model", "stream", "status"};
    if (chance(0.05)) return text();  // not JSON, maybe not UTF-8
    json b = json::object();
    const std::size_t n = below(5);
    for (std::size_t i = 0; i < n; ++i) b[pick(fields)] = chance(0.6) ? json(text()) : value();
    if (b.contains("stream")) b.erase("stream");  // streams are held for their whole reply; fine, but slow
    return b.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // One request; `mangled`: its method or target was damaged.
  std::string request(bool& mangled) {
    static const std::vector<std::string> methods = {"GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE",
                                                     "HEAD", "OPTIONS"};
    const std::string method = pick(methods);
    std::string head = method + " " + path() + query() + " HTTP/1.1\r\nHost: fuzz\r\n";
    const std::string& token = pick(tokens);
    if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
    if (chance(0.1)) head += "Authorization: Bearer garbage." + percent_encode(text()) + "\r\n";
    for (std::size_t i = below(3); i > 0; --i) head += "X-Fuzz-" + std::to_string(i) + ": " + percent_encode(text()) + "\r\n";
    std::string b;
    if (method == "POST" || method == "PUT" || method == "PATCH" || chance(0.05)) b = body();
    if (!b.empty() || chance(0.5)) head += "Content-Type: application/json\r\n";
    std::string framed;
    if (!b.empty() && chance(0.2)) {
      head += "Transfer-Encoding: chunked\r\n";
      std::size_t at = 0;
      while (at < b.size()) {
        const std::size_t n = std::min(b.size() - at, 1 + below(64));
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", n);
        framed += size + b.substr(at, n) + "\r\n";
        at += n;
      }
      framed += "0\r\n\r\n";
    } else if (!b.empty() || chance(0.3)) {
      head += "Content-Length: " + std::to_string(b.size()) + "\r\n";
      framed = b;
    }
    std::string out = head + "\r\n" + framed;
    mangled = chance(0.03);
    if (mangled) {
      // A byte of the method or the target becomes anything but a line end.
      const std::size_t end = out.rfind(' ', out.find("\r\n"));
      std::size_t at = below(end);
      char c = static_cast<char>(below(256));
      if (c == '\n' || c == '\r') c = '\0';
      out[at] = c;
    }
    return out;
  }
};

}  // namespace

TEST_CASE("fuzz: seeded random requests get an answer each, never a 5xx, and RSS stays bounded",
          "[chatd][http][fuzz]") {
  const char* seed_env = std::getenv("CHATD_FUZZ_SEED");
  const char* count_env = std::getenv("CHATD_FUZZ_REQUESTS");
  const std::uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 20260110;
  const int total = count_env != nullptr ? std::atoi(count_env) : 5000;
  constexpr int kWorkers = 8;
  INFO("CHATD_FUZZ_SEED=" << seed);

  chatd_test::LiveOptions options;
  options.threads = 32;
  LiveServer s(options);
  std::vector<std::string> ids;
  auto first = s.post("/api/messages/", {{"content", "hello"}});
  REQUIRE(first.status == 200);
  ids.push_back(first.json["items"][0]["conversation"]);
  ids.push_back(std::to_string(first.json["items"][0]["id"].get<long long>()));
  const std::vector<std::string> tokens = {"", "", s.token("1"), s.token("2", chat::PrincipalRole::kAgent),
                                           s.token("3", chat::PrincipalRole::kAdmin)};

  const long before = chatd_test::resident_kib();
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<int> answered{0};
  std::atomic<int> sent{0};
  std::atomic<int> dropped{0};  // piped after a refused request
  std::vector<std::future<void>> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(std::async(std::launch::async, [&, w] {
      Fuzzer f{std::mt19937_64(seed + static_cast<std::uint64_t>(w)), s.server->router().routes(), tokens, ids};
      std::unique_ptr<RawConnection> conn;
      for (int i = w; i < total;) {
        if (!conn) conn = std::make_unique<RawConnection>(s.port());
        // A batch of 1-3 pipelined requests; a mangled one ends its batch.
        std::string bytes;
        std::vector<std::pair<std::string, bool>> batch;  // (method, mangled)
        for (std::size_t k = 1 + f.below(3); k > 0 && i < total; --k, i += kWorkers) {
          bool mangled = false;
          std::string r = f.request(mangled);
          batch.emplace_back(r.substr(0, r.find(' ')), mangled);
          bytes += r;
          if (mangled) break;
        }
        sent += static_cast<int>(batch.size());
        bool reconnect = !conn->send(bytes);
        std::size_t batch_done = 0;
        for (const auto& [method, mangled] : batch) {
          // An event stream (GET .../events, issue 14) never ends by itself: its
          // head is its answer, and it says Connection: close.
          auto r = conn->read_response(10s, method == "HEAD", /*head_of_event_stream=*/method == "GET");
          if (!r) {
            if (!mangled) {
              std::lock_guard lock(mu);
              failures.push_back("no answer to: " + bytes.substr(0, 300));
            }
            reconnect = true;
            break;
          }
          ++answered;
          if (r->status >= 500) {
            std::lock_guard lock(mu);
            failures.push_back(std::to_string(r->status) + " " + r->body.substr(0, 200) + " for: " + bytes.substr(0, 300));
          }
          if (r->header("connection") == "close") {
            // A refused request (414 for a long target, 413, 400...) ends the
            // connection: the requests piped after it are not answered.
            ++batch_done;
            dropped += static_cast<int>(batch.size() - batch_done);
            const bool event_stream = r->header("content-type").rfind("text/event-stream", 0) == 0;
            if (r->status < 400 && !event_stream) {
              std::lock_guard lock(mu);
              failures.push_back("connection closed after a " + std::to_string(r->status));
            }
            reconnect = true;
            break;
          }
          ++batch_done;
        }
        // A mangled method may have been a HEAD's: its answer's body would confuse the next read.
        if (reconnect || batch.back().second) conn.reset();
      }
    }));
  }
  for (auto& w : workers) w.get();
  const long after = chatd_test::resident_kib();
  INFO("requests " << sent.load() << ", answered " << answered.load() << ", dropped after a refusal "
                   << dropped.load() << ", VmRSS " << before << " -> " << after << " KiB");
  for (const auto& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
  CHECK(answered.load() + dropped.load() == sent.load());
  if (chatd_test::kRssIsMeaningful) CHECK(after - before < 128 * 1024);
  CHECK(s.get("/healthz").status == 200);
}
