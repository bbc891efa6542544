#include "service/service_core.hpp"

#include <utility>

#include "service/typing_notice.hpp"

namespace chat::detail {

Status check_principal(const Principal& who) {
  if (!who.is_anonymous() && who.user_id.empty()) return Error::unauthenticated("the caller has no user id");
  return {};
}

ServiceCore::ServiceCore(ServiceDeps deps, ServiceOptions opts)
    : store(std::move(deps.store)),
      llm(deps.llm ? std::move(deps.llm) : std::shared_ptr<LlmProvider>(make_echo_provider())),
      clock(deps.clock ? std::move(deps.clock) : std::shared_ptr<Clock>(make_system_clock())),
      logger(std::move(deps.logger)),
      tokens(deps.tokens ? std::move(deps.tokens) : std::shared_ptr<TokenCounter>(make_estimating_token_counter())),
      options(std::move(opts)),
      calls(llm, options.model_calls) {
  store->set_change_listener([this](const ExternalChange& change) { on_external_change(change); });
}

ServiceCore::~ServiceCore() {
  // Before the hub goes: once this returns the listener never runs again.
  store->set_change_listener({});
}

void ServiceCore::on_external_change(const ExternalChange& change) noexcept {
  try {
    if (!change.ephemeral.empty()) {
      if (change.conversation_id <= 0) return;
      auto event = decode_typing_notice(change.conversation_id, change.ephemeral);
      if (!event) {
        log(LogLevel::kDebug, "dropped an ephemeral notice that is not a typing notice");
        return;
      }
      hub.publish_ephemeral(change.conversation_id, *event);
    } else if (change.conversation_id == 0) {
      hub.publish_all();
    } else {
      hub.publish(change.conversation_id);
    }
  } catch (...) {  // NOLINT: the store's thread must go on; a watcher re-reads on its deadline
  }
}

void ServiceCore::log(LogLevel level, const std::string& message) const {
  if (logger && logger->enabled(level)) logger->log(level, message);
}

void ServiceCore::publish(std::int64_t conversation_id, std::string_view kind, std::int64_t message_id) {
  hub.publish(conversation_id, kind, message_id);
  trim_events_if_due();
}

void ServiceCore::trim_events_if_due() {
  // A batch small enough that the writer it holds is never held long.
  constexpr std::int64_t kTrimBatch = 1000;
  constexpr std::int64_t kTrimEveryMs = 60'000;
  if (options.event_retention.count() <= 0) return;
  const Timestamp at = now();
  const std::int64_t at_ms = to_millis(at);
  std::int64_t due = next_trim_ms.load();
  if (at_ms < due) return;
  // One writer trims; the others go on.
  if (!next_trim_ms.compare_exchange_strong(due, at_ms + kTrimEveryMs)) return;
  auto removed = store->trim_events(at - options.event_retention, kTrimBatch);
  if (!removed) {
    log(LogLevel::kWarn, "trimming the change log failed: " + removed.error().message);
    return;
  }
  if (*removed >= kTrimBatch) next_trim_ms.store(at_ms);  // more is due: the next write goes on
}

AuditContext ServiceCore::audit(const Principal& who) const {
  return AuditContext{who.is_anonymous() ? std::string() : who.user_id, now()};
}

std::optional<TokenCount> ServiceCore::context_tokens(Role role, MessageStatus status, std::string_view content,
                                                      std::optional<std::int64_t> counted) const {
  const std::string_view id = tokens->counter_id();
  if (id.empty() || id.size() > kMaxCounterIdBytes || content.empty() || status == MessageStatus::kFailed ||
      role == Role::kSystem)
    return std::nullopt;
  return TokenCount{counted ? *counted : tokens->count(content), std::string(id)};
}

}  // namespace chat::detail
