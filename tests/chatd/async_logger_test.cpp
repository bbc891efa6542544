// The batched logger (async_logger.hpp): the stderr logger's lines, in order,
// written off the caller's thread; warnings before log() returns; a full
// buffer drops info lines and says how many.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "async_logger.hpp"
#include "chat/time.hpp"

namespace {

// A temporary file the logger writes to, read back whole.
struct LogFile {
  std::string path;
  int fd = -1;
  LogFile() {
    char name[] = "/tmp/chatd-async-logger-XXXXXX";
    fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    path = name;
  }
  ~LogFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  std::string read() const {
    std::string out;
    char buf[4096];
    for (off_t at = 0;;) {
      const ssize_t n = ::pread(fd, buf, sizeof buf, at);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      at += n;
    }
    return out;
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::shared_ptr<chat::ManualClock> fixed_clock() {
  return std::make_shared<chat::ManualClock>(chat::from_millis(1719655200000));  // 2024-06-29T10:00:00.000Z
}

}  // namespace

TEST_CASE("async logger: the stderr logger's format, in call order, all written by the destructor",
          "[chatd][log]") {
  LogFile file;
  {
    chatd::AsyncLogger log({.fd = file.fd}, fixed_clock());
    CHECK_FALSE(log.enabled(chat::LogLevel::kDebug));
    log.log(chat::LogLevel::kDebug, "not written");
    for (int i = 0; i < 1000; ++i) {
      std::string line = "http GET /n/";
      line.append(std::to_string(i)).append(" 200 0.10ms");
      log.log(chat::LogLevel::kInfo, line);
    }
  }
  const auto lines = lines_of(file.read());
  REQUIRE(lines.size() == 1000);
  CHECK(lines.front() == "2024-06-29T10:00:00.000Z INFO http GET /n/0 200 0.10ms");
  for (int i = 0; i < 1000; ++i) {
    std::string end = "/n/";
    end.append(std::to_string(i)).append(" 200 0.10ms");
    CHECK(lines[i].ends_with(end));
  }
}

TEST_CASE("async logger: a warning is in the file when log() returns, after the lines before it", "[chatd][log]") {
  LogFile file;
  chatd::AsyncLogger log({.fd = file.fd, .batch_window = std::chrono::hours(1)}, fixed_clock());
  log.log(chat::LogLevel::kInfo, "first");
  log.log(chat::LogLevel::kWarn, "second signal");
  const auto lines = lines_of(file.read());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "2024-06-29T10:00:00.000Z INFO first");
  CHECK(lines[1] == "2024-06-29T10:00:00.000Z WARN second signal");
}

TEST_CASE("async logger: lines from many threads are whole and none is lost", "[chatd][log]") {
  LogFile file;
  {
    chatd::AsyncLogger log({.fd = file.fd, .batch_window = std::chrono::milliseconds(1)}, fixed_clock());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&log, t] {
        std::string line = "t";  // appended: GCC 12 warns falsely on "t" + std::string
        line.append(std::to_string(t)).append(" line");
        for (int i = 0; i < 2000; ++i) log.log(chat::LogLevel::kInfo, line);
      });
    }
    for (auto& th : threads) th.join();
    CHECK(log.dropped() == 0);
  }
  const auto lines = lines_of(file.read());
  REQUIRE(lines.size() == 8000);
  for (const auto& l : lines) CHECK(l.ends_with(" line"));
}

TEST_CASE("async logger: a full buffer drops info lines, counts them and says so", "[chatd][log]") {
  LogFile file;
  {
    // The writer waits an hour for its batch: nothing leaves the buffer meanwhile.
    chatd::AsyncLogger log({.fd = file.fd, .max_buffered_bytes = 200, .batch_window = std::chrono::hours(1)},
                           fixed_clock());
    for (int i = 0; i < 10; ++i) log.log(chat::LogLevel::kInfo, "0123456789");  // 41 bytes a line
    CHECK(log.dropped() == 6);
    log.flush();
    log.log(chat::LogLevel::kInfo, "after");
  }
  const auto lines = lines_of(file.read());
  REQUIRE(lines.size() == 6);
  CHECK(lines[3] == "2024-06-29T10:00:00.000Z INFO 0123456789");
  CHECK(lines[4] == "2024-06-29T10:00:00.000Z WARN log: 6 lines dropped (the log could not keep up)");
  CHECK(lines[5] == "2024-06-29T10:00:00.000Z INFO after");
}

TEST_CASE("async logger: one entry is one line, whatever control characters its message holds", "[chatd][log]") {
  // libpq's errors hold newlines and tabs (a black-box test, issue 13).
  LogFile file;
  {
    chatd::AsyncLogger log({.fd = file.fd}, fixed_clock());
    log.log(chat::LogLevel::kWarn, "postgres store: connection refused\n\tIs the server running?\r\x1b[31m");
    log.log(chat::LogLevel::kInfo, "next");
  }
  const auto lines = lines_of(file.read());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "2024-06-29T10:00:00.000Z WARN postgres store: connection refused  Is the server running?  [31m");
  CHECK(lines[1] == "2024-06-29T10:00:00.000Z INFO next");
}
