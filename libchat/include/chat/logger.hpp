// chat/logger.hpp: the injected logger.
//
// The library logs through the Logger it is given and never writes to a
// stream of its own choosing. Implementations must be thread-safe: the store,
// the service and the daemon log from many threads at once.
#pragma once

#include <memory>
#include <string_view>

namespace chat {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
  virtual bool enabled(LogLevel level) const { return level >= LogLevel::kInfo; }
};

// One line per message on stderr: "2024-06-29T10:00:00.000Z INFO message".
std::unique_ptr<Logger> make_stderr_logger(LogLevel min_level = LogLevel::kInfo);
// Discards everything (the default for embedders who pass nothing).
std::unique_ptr<Logger> make_null_logger();

}  // namespace chat
