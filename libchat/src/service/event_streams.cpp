#include "service/event_streams.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include "service/access.hpp"
#include "service/event_hub.hpp"
#include "service/typing_notice.hpp"

namespace chat::detail {

namespace {

constexpr std::int64_t kMaxEventPage = 1000;

class Stream final : public EventStream {
 public:
  Stream(ServiceCore& core, Principal who, ConversationKey key, ResolvedConversation found)
      : core_(core),
        who_(std::move(who)),
        key_(std::move(key)),
        by_integer_id_(found.by_integer_id),
        conversation_(std::move(found.conversation)) {}

  // The listener runs on the publisher's thread, after its commit: an
  // exception from it must not turn that caller's committed write into an error.
  void subscribe(EventListener listener) {
    subscription_ = core_.hub.subscribe(conversation_.id, [l = std::move(listener)](const HubEvent& e) {
      try {
        if (e.ephemeral != nullptr) {
          if (l.ephemeral) l.ephemeral(*e.ephemeral);
        } else if (l.changed) {
          l.changed();
        }
      } catch (...) {  // NOLINT: a listener's failure is its own
      }
    });
  }
  void start_at(std::int64_t cursor) { cursor_ = cursor; }

  const Conversation& conversation() const noexcept override { return conversation_; }
  std::int64_t cursor() const noexcept override { return cursor_; }

  Result<EventPage> read(std::int64_t limit, std::size_t max_bytes) override {
    return core_.guard("event_stream.read", who_, [&] { return next(limit, max_bytes); });
  }
  // The cursor named no event of this log (beyond its head at open): the
  // stream starts at the head and its first read answers reset.
  void start_with_reset(std::int64_t head) {
    cursor_ = head;
    pending_reset_ = true;
  }

 private:
  Result<EventPage> next(std::int64_t limit, std::size_t max_bytes) {
    if (limit < 1 || limit > kMaxEventPage) return Error::invalid("limit", "limit must be between 1 and 1000");
    if (ended_) return conversation_not_found(key_.kind);
    if (pending_reset_) {
      pending_reset_ = false;
      EventPage page;
      page.reset = true;
      page.last_id = cursor_;
      return page;
    }
    // Deleted rows are read too: the events up to conversation.deleted are
    // still delivered. Any other loss of visibility ends the stream at once.
    auto row = core_.store->get_conversation(conversation_.id, /*include_deleted=*/true);
    if (!row) return not_found_as(std::move(row).error(), conversation_not_found(key_.kind));
    if (!key_admits(who_, key_, *row, by_integer_id_)) return end();
    CHAT_ASSIGN_OR_RETURN(EventPage page,
                          core_.store->list_events(conversation_.id, cursor_, limit, ByteBudget{max_bytes, 0}));
    if (page.reset) {
      cursor_ = page.last_id;
      return page;
    }
    auto deleted = std::find_if(page.events.begin(), page.events.end(),
                                [](const Event& e) { return e.type == EventType::kConversationDeleted; });
    if (deleted != page.events.end()) {
      page.events.erase(deleted + 1, page.events.end());
      page.has_more = false;
      ended_ = true;
    } else if (row->deleted_at && !page.has_more) {
      // Deleted before this stream's cursor (between open's check and its
      // head): what is left is delivered, then the stream ends.
      if (page.events.empty()) return end();
      ended_ = true;
    }
    if (!page.events.empty()) cursor_ = page.events.back().id;
    // Everything of this conversation up to the head was read in this
    // snapshot: the ids between belong to other conversations.
    if (!page.has_more && !ended_) cursor_ = std::max(cursor_, page.last_id);
    return page;
  }

  Error end() {
    ended_ = true;
    return conversation_not_found(key_.kind);
  }

  ServiceCore& core_;
  const Principal who_;
  const ConversationKey key_;
  const bool by_integer_id_;
  const Conversation conversation_;
  std::int64_t cursor_ = 0;
  bool ended_ = false;
  bool pending_reset_ = false;
  // Last: destroyed first, so the listener is gone before anything it could reach.
  EventHub::Subscription subscription_;
};

}  // namespace

Result<std::unique_ptr<EventStream>> EventStreams::open(const Principal& who, const ConversationKey& key,
                                                        std::optional<std::int64_t> after_id, EventListener listener) {
  if (after_id && *after_id < 0) return Error::invalid("after_id", "after_id must not be negative");
  CHAT_ASSIGN_OR_RETURN(auto found, keys_.resolve(who, key));
  auto stream = std::make_unique<Stream>(core_, who, key, std::move(found));
  // Subscribed before the head is read: a change committed after the read
  // publishes to this stream's listener.
  stream->subscribe(std::move(listener));
  CHAT_ASSIGN_OR_RETURN(const std::int64_t head, core_.store->last_event_id());
  if (!after_id) {
    stream->start_at(head);
  } else if (*after_id > head) {
    stream->start_with_reset(head);
  } else {
    stream->start_at(*after_id);
  }
  return std::unique_ptr<EventStream>(std::move(stream));
}

Status EventStreams::typing(const Principal& who, const ConversationKey& key, bool active) {
  CHAT_ASSIGN_OR_RETURN(const Conversation c, keys_.conversation(who, key));
  const Timestamp now = core_.now();
  CHAT_RETURN_IF_ERROR(check_writable(c, now));
  Event e;
  e.conversation_id = c.id;
  e.type = EventType::kTyping;
  e.at = now;
  e.typing = Typing{who.is_anonymous() ? std::string() : who.user_id, is_staff(who) ? Role::kAgent : Role::kUser,
                    active};
  core_.hub.publish_ephemeral(c.id, e);
  // The other chatd instances on the same database (issue 13). Best effort,
  // like typing itself: a failure is logged, the call succeeds.
  try {
    if (auto sent = core_.store->publish_ephemeral(c.id, encode_typing_notice(e)); !sent)
      core_.log(LogLevel::kWarn, "typing: not sent to the other instances: " + sent.error().message);
  } catch (const std::exception& ex) {
    core_.log(LogLevel::kWarn, std::string("typing: not sent to the other instances: ") + ex.what());
  }
  return {};
}

}  // namespace chat::detail
