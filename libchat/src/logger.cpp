#include "chat/logger.hpp"

#include <cstdio>
#include <mutex>
#include <string>

#include "chat/time.hpp"

namespace chat {

namespace {

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "INFO";
}

class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min) : min_(min), clock_(make_system_clock()) {}
  bool enabled(LogLevel level) const override { return level >= min_; }
  void log(LogLevel level, std::string_view message) override {
    if (!enabled(level)) return;
    std::string line = format_timestamp(clock_->now());
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += message;
    line += '\n';
    // One fwrite per line keeps lines from interleaving; the mutex keeps it so
    // on libcs that split large writes.
    std::lock_guard lock(mu_);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }

 private:
  LogLevel min_;
  std::unique_ptr<Clock> clock_;
  std::mutex mu_;
};

class NullLogger final : public Logger {
 public:
  bool enabled(LogLevel) const override { return false; }
  void log(LogLevel, std::string_view) override {}
};

}  // namespace

std::unique_ptr<Logger> make_stderr_logger(LogLevel min_level) { return std::make_unique<StderrLogger>(min_level); }
std::unique_ptr<Logger> make_null_logger() { return std::make_unique<NullLogger>(); }

}  // namespace chat
