#include "rate_limit_policy.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace chatd {

std::string_view to_string(RateClass c) noexcept {
  switch (c) {
    case RateClass::kWrite: return "write";
    case RateClass::kCreate: return "create";
    case RateClass::kModel: return "model";
  }
  return "write";
}

std::string_view to_string(RateKey k) noexcept { return k == RateKey::kAddress ? "address" : "principal"; }

namespace {

std::optional<double> parse_number(std::string_view t) {
  if (t.empty() || t.front() == '-' || t.front() == '+') return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || ptr != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

chat::Error bad(std::string_view where, std::string_view text, std::string_view why) {
  std::string m(where);
  m += ": '";
  m += text;
  m += "' ";
  m += why;
  return chat::Error::invalid(std::string(where), std::move(m));
}

}  // namespace

chat::Result<RateLimit> parse_rate_limit(std::string_view where, std::string_view text) {
  if (text == "0") return RateLimit{};
  constexpr std::string_view kShape = "is not RATE/UNIT:BURST (e.g. 20/s:400, 30/m:20) or 0 (off)";
  const auto slash = text.find('/');
  const auto colon = text.find(':');
  if (slash == std::string_view::npos || colon == std::string_view::npos || colon < slash) {
    return bad(where, text, kShape);
  }
  const auto rate = parse_number(text.substr(0, slash));
  const auto unit = text.substr(slash + 1, colon - slash - 1);
  const auto burst = parse_number(text.substr(colon + 1));
  double per = 0;
  if (unit == "s") {
    per = 1;
  } else if (unit == "m") {
    per = 60;
  } else if (unit == "h") {
    per = 3600;
  }
  if (!rate || !burst || per == 0) return bad(where, text, kShape);
  if (*rate <= 0 || *rate / per > 1e6) return bad(where, text, "needs a rate above 0 and at most 1000000/s (0 alone turns it off)");
  if (*burst < 1 || *burst > 1e9 || std::floor(*burst) != *burst) {
    return bad(where, text, "needs a whole burst of at least 1");
  }
  return RateLimit{*rate / per, *burst};
}

std::string format_rate_limit(const RateLimit& limit) {
  if (!limit.enabled()) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g/s:%g", limit.per_second, limit.burst);
  return buf;
}

bool is_state_changing(std::string_view method) noexcept {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::span<const RouteRateClass> route_rate_classes() noexcept {
  static constexpr RouteRateClass kTable[] = {
      // seed 001 (anonymous landing page)
      {"POST", "/api/chats/sessions/", kWriteCreate},
      {"DELETE", "/api/chats/sessions/{id}/", kWriteOnly},
      {"POST", "/api/chats/messages/", kWriteOnly},
      {"DELETE", "/api/chats/messages/{id}/", kWriteOnly},
      {"POST", "/api/chats/messages/chat/", kWriteModel},
      {"POST", "/api/chats/messages/chat/stream/", kWriteModel},
      // seed 000 (quote chat) and the jobs registry
      {"POST", "/api/jobs/{job_id}/quote-chat/", kWriteOnly},
      {"DELETE", "/api/jobs/{job_id}/quote-chat/", kWriteOnly},
      {"PATCH", "/api/jobs/{job_id}/quote-chat/{message_id}/", kWriteOnly},
      // A job registered is a quote chat that may be opened: a creation, or
      // registering jobs would open quote chats past the creation limit.
      {"POST", "/api/jobs/", kWriteCreate},
      // seed 002 (anonymous support widget): a post that opens a conversation
      // is charged as a creation by the service (SupportPost::admit_new_conversation)
      {"POST", "/api/messages/", kWriteOnly},
      // seed 003 (support console)
      {"POST", "/chat/conversations", kWriteCreate},
      {"PUT", "/chat/conversations/{id}", kWriteOnly},
      {"DELETE", "/chat/conversations/{id}", kWriteOnly},
      {"POST", "/chat/conversations/{id}/messages", kWriteOnly},
      {"POST", "/chat/conversations/{id}/ai-response", kWriteModel},
      {"POST", "/chat/conversations/{id}/read", kWriteOnly},
      // agents registry (admin)
      {"POST", "/api/agents/", kWriteOnly},
      // seed 004 (resume coach): a start opens a session and asks the model for its greeting
      {"POST", "/api/chat/start", kWriteCreateModel},
      {"POST", "/api/chat/{session_id}/message", kWriteModel},
      {"POST", "/api/chat/{session_id}/deactivate", kWriteOnly},
      {"PUT", "/api/profile/", kWriteOnly},
      // event streams (issue 14): typing (ephemeral, never stored) and stream
      // tickets are plain writes; opening a stream is a read, bounded by
      // --max-event-streams and its per-address share
      {"POST", "/api/chats/sessions/{id}/events/typing", kWriteOnly},
      {"POST", "/api/chats/sessions/{id}/events/ticket", kWriteOnly},
      {"POST", "/api/jobs/{job_id}/quote-chat/events/typing", kWriteOnly},
      {"POST", "/api/jobs/{job_id}/quote-chat/events/ticket", kWriteOnly},
      {"POST", "/api/messages/{uuid}/events/typing", kWriteOnly},
      {"POST", "/api/messages/{uuid}/events/ticket", kWriteOnly},
      {"POST", "/chat/conversations/{id}/events/typing", kWriteOnly},
      {"POST", "/chat/conversations/{id}/events/ticket", kWriteOnly},
      {"POST", "/api/chat/{session_id}/events/typing", kWriteOnly},
      {"POST", "/api/chat/{session_id}/events/ticket", kWriteOnly},
  };
  return kTable;
}

RateClasses rate_classes_for(std::string_view method, std::string_view pattern) noexcept {
  if (!is_state_changing(method)) return 0;
  // The table is small (tens of entries) and only state-changing requests look here.
  for (const auto& r : route_rate_classes()) {
    if (r.method == method && r.pattern == pattern) return r.classes;
  }
  return kWriteOnly;
}

}  // namespace chatd
