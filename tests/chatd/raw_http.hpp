// raw_http.hpp: an HTTP/1.1 client on a raw socket, for tests that need what
// httplib::Client cannot do: pipelining, half-closes, malformed framing,
// trickled bytes, reading answers one at a time from a shared stream.
//
//   chatd_test::RawConnection c(port);
//   c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
//   auto a = c.read_response();   // a->status == 200
//   auto b = c.read_response();   // the second answer, in order
//
// read_response() parses one answer (Content-Length, chunked, or until close)
// and returns nullopt when the connection ended or `timeout` passed first.
// With `head_of_event_stream`, an answer of Content-Type text/event-stream (an
// event stream, issue 14: open-ended) returns after its head, body unread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace chatd_test {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // True when the server closed (EOF or reset) within `timeout`, discarding what it sent.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!fill(until)) return eof_;
      buf_.clear();
    }
  }

  // One answer; nullopt when the connection ended or `timeout` passed before it was complete.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                           bool head_request = false, bool head_of_event_stream = false) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::size_t end = 0;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(until)) return std::nullopt;
    }
    RawResponse r;
    r.head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (r.head.size() < 12 || r.head.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    r.status = std::atoi(r.head.c_str() + 9);
    std::size_t pos = r.head.find("\r\n");
    while (pos != std::string::npos) {
      const std::size_t next = r.head.find("\r\n", pos + 2);
      std::string line = r.head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      pos = next;
    }
    if (head_request || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) return r;
    if (head_of_event_stream && r.header("content-type").rfind("text/event-stream", 0) == 0) return r;
    if (r.header("transfer-encoding") == "chunked") {
      for (;;) {
        std::size_t eol = 0;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!fill(until)) return std::nullopt;
        }
        const std::size_t size = std::strtoul(buf_.c_str(), nullptr, 16);
        while (buf_.size() < eol + 2 + size + 2) {
          if (!fill(until)) return std::nullopt;
        }
        r.body.append(buf_, eol + 2, size);
        buf_.erase(0, eol + 2 + size + 2);
        if (size == 0) return r;
      }
    }
    if (r.headers.count("content-length") != 0) {
      const std::size_t n = std::strtoull(r.header("content-length").c_str(), nullptr, 10);
      while (buf_.size() < n) {
        if (!fill(until)) return std::nullopt;
      }
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
      return r;
    }
    while (fill(until)) {
    }
    if (!eof_) return std::nullopt;
    r.body = std::move(buf_);
    buf_.clear();
    return r;
  }

 private:
  // More bytes into buf_; false at EOF, error or timeout.
  bool fill(std::chrono::steady_clock::time_point until) {
    if (fd_ < 0 || eof_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool eof_ = false;
  std::string buf_;
};

// Whether this process's RSS says anything about chatd: under AddressSanitizer
// the shadow memory and the quarantine of freed blocks dominate it, so the
// RSS bounds are checked in the Release build only.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRssIsMeaningful = false;
#else
inline constexpr bool kRssIsMeaningful = true;
#endif

// The resident set of this process in KiB (VmRSS of /proc/self/status), 0 when unknown.
inline long resident_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::string_view(line).rfind("VmRSS:", 0) == 0) kib = std::atol(line + 6);
  }
  std::fclose(f);
  return kib;
}

}  // namespace chatd_test
