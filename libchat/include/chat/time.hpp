// chat/time.hpp: timestamps and the injected clock.
//
// Every time the library stores or compares is a Timestamp: UTC milliseconds
// since the Unix epoch. The library never reads the system time directly; it
// asks the Clock it was given, so that tests control expiry, retention and
// analytics-by-day. SystemClock is stateless and thread-safe; ManualClock is
// thread-safe (its time is an atomic) and only moves when told to.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// Milliseconds since the epoch, and back.
inline std::int64_t to_millis(Timestamp t) noexcept { return t.time_since_epoch().count(); }
inline Timestamp from_millis(std::int64_t ms) noexcept { return Timestamp{std::chrono::milliseconds{ms}}; }

// ISO 8601 UTC with milliseconds and 'Z': "2024-06-29T10:00:00.000Z".
std::string format_timestamp(Timestamp t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fff...][Z|+HH:MM|-HH:MM]" (also a space for
// 'T'); a time without an offset is taken as UTC. Returns nullopt when the
// text is not such a time or names an impossible date.
std::optional<Timestamp> parse_timestamp(std::string_view text);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

// The real time, truncated to milliseconds.
std::unique_ptr<Clock> make_system_clock();

// A clock for tests and simulations: starts at `start`, moves only on set/advance.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : ms_(to_millis(start)) {}
  Timestamp now() const override { return from_millis(ms_.load()); }
  void set(Timestamp t) { ms_.store(to_millis(t)); }
  void advance(std::chrono::milliseconds d) { ms_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace chat
