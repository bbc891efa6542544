// Live updates (chat/events.hpp, issue 14): event streams over the store's
// change log, and typing. Private to libchat.
//
// - Opening resolves the key like every other operation (KeyLookup: the
//   caller's visibility, deleted conversations not visible), subscribes to
//   the conversation on the EventHub, and only then reads the log's head, so
//   that a change committed after the head was read always calls the
//   listener (no lost wakeup between replay and live).
// - A read checks visibility again on the row by id (one primary-key get),
//   then reads the store's log after the stream's cursor. A stream ends
//   after its conversation.deleted event: the page stops there and the next
//   read answers not visible. When a read reaches the end of the log, the
//   cursor moves to the log's newest id (other conversations' ids are
//   skipped), so an idle stream's cursor stays inside the log's retention.
// - Typing goes to the hub's subscribers only (EventHub::publish_ephemeral):
//   not stored, no long-poll woken; and, best effort, to the other stores on
//   the same database (Store::publish_ephemeral, service/typing_notice.hpp),
//   whose services deliver it to their own streams (service_core.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "chat/service.hpp"
#include "service/key_lookup.hpp"
#include "service/service_core.hpp"

namespace chat::detail {

class EventStreams {
 public:
  EventStreams(ServiceCore& core, KeyLookup& keys) : core_(core), keys_(keys) {}

  // ChatService::open_event_stream: the stream refers to `core_`, which must outlive it.
  Result<std::unique_ptr<EventStream>> open(const Principal& who, const ConversationKey& key,
                                            std::optional<std::int64_t> after_id, EventListener listener);
  // ChatService::send_typing.
  Status typing(const Principal& who, const ConversationKey& key, bool active);

 private:
  ServiceCore& core_;
  KeyLookup& keys_;
};

}  // namespace chat::detail
