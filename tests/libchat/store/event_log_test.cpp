// The change log of the Store (chat/events.hpp, chat/store.hpp "change log"):
// which method writes which event, in its own transaction; redaction of
// deleted messages; trims, the floor and resets; purge. Runs against every
// factory of store_factories().
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>
#include <vector>

#include "chat/store.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::open_test_store;
using chat::testing::store_factories;
using chat::testing::TempDir;

namespace {

Timestamp at(std::int64_t seconds) { return from_millis(1'700'000'000'000LL + seconds * 1000); }
AuditContext by(std::int64_t seconds) { return AuditContext{"admin-1", at(seconds)}; }

NewConversation new_conv(std::string handle = {}) {
  NewConversation c;
  c.kind = ConversationKind::kQuote;
  c.user_id = "u1";
  c.title = "a conversation";
  c.handle = std::move(handle);
  return c;
}

NewMessage new_msg(std::string content, std::string client_id = {}, Role role = Role::kUser) {
  NewMessage m;
  m.role = role;
  m.content = std::move(content);
  m.client_id = std::move(client_id);
  m.metadata = R"({"k":"v"})";
  m.tokens_used = 3;
  return m;
}

std::int64_t head(Store& s) {
  auto r = s.last_event_id();
  REQUIRE(r.ok());
  return *r;
}

std::vector<Event> events(Store& s, std::int64_t conversation_id, std::int64_t after = 0) {
  auto p = s.list_events(conversation_id, after, 1000);
  REQUIRE(p.ok());
  REQUIRE_FALSE(p->reset);
  return p->events;
}

std::vector<EventType> types(const std::vector<Event>& es) {
  std::vector<EventType> out;
  for (const auto& e : es) out.push_back(e.type);
  return out;
}

// What a write did to the log: its events (the conversation's, after the
// head before it), checked to be the only events written anywhere.
struct Written {
  Store& s;
  std::int64_t conversation_id;
  std::int64_t before;
  Written(Store& store, std::int64_t conv) : s(store), conversation_id(conv), before(head(store)) {}
  std::vector<Event> get() {
    auto es = events(s, conversation_id, before);
    CHECK(head(s) == before + static_cast<std::int64_t>(es.size()));
    return es;
  }
};

void check_redacted(const Event& e) {
  REQUIRE(e.message);
  CHECK(e.redacted);
  CHECK(e.message->content.empty());
  CHECK(e.message->metadata == "{}");
  CHECK(e.message->attachments.empty());
  CHECK_FALSE(e.message->tokens_used);
  CHECK_FALSE(e.message->uuid.empty());
  CHECK(e.message->id > 0);
}

}  // namespace

TEST_CASE("event log: each store write appends exactly its events, with its snapshot", "[events][store]") {
  for (const auto& factory : store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = open_test_store(factory, dir);
      CHECK(head(*s) == 0);

      Written w0(*s, 1);
      auto c = s->create_conversation(new_conv("h-1"), at(1));
      REQUIRE(c.ok());
      auto e = w0.get();
      REQUIRE(types(e) == std::vector{EventType::kConversationCreated});
      CHECK(e[0].id == 1);
      CHECK(e[0].conversation_id == c->id);
      CHECK(e[0].at == at(1));
      REQUIRE(e[0].conversation);
      CHECK(e[0].conversation->uuid == c->uuid);
      CHECK(e[0].conversation->handle == "h-1");
      CHECK(e[0].conversation->title == "a conversation");
      CHECK(e[0].conversation->kind == ConversationKind::kQuote);
      CHECK_FALSE(e[0].message);

      // A failed create (taken handle) writes nothing.
      const std::int64_t h = head(*s);
      CHECK(s->create_conversation(new_conv("h-1"), at(2)).error().code == ErrorCode::kConflict);
      CHECK(head(*s) == h);

      Written w1(*s, c->id);
      NewMessage nm = new_msg("hello \"world\"\n\t\x01 é", "c-1");
      nm.attachments.push_back(NewAttachment{"a.txt", "text/plain", 12, "/f/a.txt"});
      auto m = s->append_message(c->id, nm, at(3));
      REQUIRE(m.ok());
      e = w1.get();
      REQUIRE(types(e) == std::vector{EventType::kMessageCreated});
      REQUIRE(e[0].message);
      const Message& snap = *e[0].message;
      CHECK_FALSE(e[0].redacted);
      CHECK(snap.id == m->message.id);
      CHECK(snap.uuid == m->message.uuid);
      CHECK(snap.conversation_id == c->id);
      CHECK(snap.client_id == "c-1");
      CHECK(snap.content == "hello \"world\"\n\t\x01 é");
      CHECK(snap.metadata == R"({"k":"v"})");
      CHECK(snap.tokens_used == 3);
      CHECK(snap.created_at == at(3));
      REQUIRE(snap.attachments.size() == 1);
      CHECK(snap.attachments[0].file_name == "a.txt");
      CHECK(snap.attachments[0].file_size == 12);

      // A client_id replay, a refused precondition, a deleted conversation: nothing.
      const std::int64_t h2 = head(*s);
      auto replay = s->append_message(c->id, new_msg("hello", "c-1"), at(4));
      REQUIRE(replay.ok());
      CHECK_FALSE(replay->created);
      auto refused = s->append_message(c->id, new_msg("no"), at(4),
                                       [](const Conversation&) -> Status { return Error::gone("closed"); });
      CHECK(refused.error().code == ErrorCode::kGone);
      CHECK(s->append_message(999, new_msg("nowhere"), at(4)).error().code == ErrorCode::kNotFound);
      CHECK(head(*s) == h2);

      Written w2(*s, c->id);
      ConversationPatch p;
      p.title = "renamed";
      REQUIRE(s->update_conversation(c->id, p, at(5)).ok());
      e = w2.get();
      REQUIRE(types(e) == std::vector{EventType::kConversationUpdated});
      CHECK(e[0].conversation->title == "renamed");
      CHECK(e[0].conversation->total_messages == 1);
      CHECK(e[0].at == at(5));

      Written w3(*s, c->id);
      MessagePatch mp;
      mp.content = "edited";
      mp.status = MessageStatus::kComplete;
      REQUIRE(s->update_message(m->message.id, mp, by(6)).ok());
      e = w3.get();
      REQUIRE(types(e) == std::vector{EventType::kMessageUpdated});
      CHECK(e[0].message->content == "edited");
      CHECK(e[0].message->status == MessageStatus::kComplete);
      CHECK(e[0].message->id == m->message.id);

      auto reply = s->append_message(c->id, new_msg("answer", {}, Role::kAssistant), at(7));
      REQUIRE(reply.ok());
      Written w4(*s, c->id);
      auto read = s->mark_read(c->id, reply->message.id, at(8));
      REQUIRE(read.ok());
      e = w4.get();
      REQUIRE(types(e) == std::vector{EventType::kConversationRead});
      CHECK(e[0].conversation->last_read_message_id == reply->message.id);
      CHECK(e[0].conversation->unread_count == 0);
      // A mark that does not move is no change.
      Written w5(*s, c->id);
      REQUIRE(s->mark_read(c->id, reply->message.id, at(9)).ok());
      CHECK(w5.get().empty());

      Written w6(*s, c->id);
      REQUIRE(s->soft_delete_message(m->message.id, by(10)).ok());
      e = w6.get();
      REQUIRE(types(e) == std::vector{EventType::kMessageDeleted});
      check_redacted(e[0]);
      CHECK(e[0].message->deleted_at == at(10));
      CHECK(e[0].message->client_id == "c-1");
      // Deleting it again fails and writes nothing.
      Written w7(*s, c->id);
      CHECK(s->soft_delete_message(m->message.id, by(11)).error().code == ErrorCode::kNotFound);
      CHECK(w7.get().empty());

      // Its client_id taken meanwhile: the restore is refused, nothing written.
      auto taker = s->append_message(c->id, new_msg("taker", "c-1"), at(12));
      REQUIRE(taker.ok());
      Written w8(*s, c->id);
      CHECK(s->restore_message(m->message.id, by(13)).error().code == ErrorCode::kConflict);
      CHECK(w8.get().empty());
      REQUIRE(s->soft_delete_message(taker->message.id, by(14)).ok());

      Written w9(*s, c->id);
      REQUIRE(s->restore_message(m->message.id, by(15)).ok());
      e = w9.get();
      REQUIRE(types(e) == std::vector{EventType::kMessageRestored});
      CHECK_FALSE(e[0].redacted);
      CHECK(e[0].message->content == "edited");
      CHECK_FALSE(e[0].message->deleted_at);

      Written w10(*s, c->id);
      auto cleared = s->clear_conversation(c->id, by(16));
      REQUIRE(cleared.ok());
      CHECK(*cleared == 2);
      e = w10.get();
      REQUIRE(types(e) == std::vector{EventType::kConversationCleared});
      CHECK(e[0].conversation->total_messages == 0);

      Written w11(*s, c->id);
      REQUIRE(s->soft_delete_conversation(c->id, by(17)).ok());
      e = w11.get();
      REQUIRE(types(e) == std::vector{EventType::kConversationDeleted});
      CHECK(e[0].conversation->deleted_at == at(17));
      Written w12(*s, c->id);
      CHECK(s->soft_delete_conversation(c->id, by(18)).error().code == ErrorCode::kNotFound);
      CHECK(s->update_conversation(c->id, p, at(18)).error().code == ErrorCode::kNotFound);
      CHECK(s->clear_conversation(c->id, by(18)).error().code == ErrorCode::kNotFound);
      CHECK(w12.get().empty());

      Written w13(*s, c->id);
      REQUIRE(s->restore_conversation(c->id, by(19)).ok());
      e = w13.get();
      REQUIRE(types(e) == std::vector{EventType::kConversationRestored});
      CHECK_FALSE(e[0].conversation->deleted_at);

      // One transaction, two events, in order.
      const std::int64_t h3 = head(*s);
      auto thread = s->create_conversation_with_message(new_conv(), new_msg("first"), at(20));
      REQUIRE(thread.ok());
      e = events(*s, thread->conversation.id);
      REQUIRE(types(e) == std::vector{EventType::kConversationCreated, EventType::kMessageCreated});
      CHECK(e[0].id == h3 + 1);
      CHECK(e[1].id == h3 + 2);
      CHECK(e[1].message->id == thread->message.id);
      CHECK(e[1].message->content == "first");
      // Its failure (a bad message uuid) writes neither.
      NewMessage bad = new_msg("x");
      bad.uuid = thread->message.uuid;
      CHECK_FALSE(s->create_conversation_with_message(new_conv(), bad, at(21)).ok());
      CHECK(head(*s) == h3 + 2);

      // The whole log of the first conversation: ids strictly increasing.
      auto all = events(*s, c->id);
      CHECK(all.size() == 13);
      for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].id > all[i - 1].id);
    }
  }
}

TEST_CASE("event log: deleted messages read back redacted, restored ones in full", "[events][store]") {
  for (const auto& factory : store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = open_test_store(factory, dir);
      auto c = s->create_conversation(new_conv(), at(1));
      REQUIRE(c.ok());
      auto m1 = s->append_message(c->id, new_msg("secret one"), at(2));
      auto m2 = s->append_message(c->id, new_msg("secret two"), at(3));
      REQUIRE(m1.ok());
      REQUIRE(m2.ok());
      MessagePatch mp;
      mp.content = "secret one, edited";
      REQUIRE(s->update_message(m1->message.id, mp, by(4)).ok());

      REQUIRE(s->soft_delete_message(m1->message.id, by(5)).ok());
      auto e = events(*s, c->id);
      REQUIRE(e.size() == 5);
      check_redacted(e[1]);  // created
      check_redacted(e[3]);  // updated
      check_redacted(e[4]);  // deleted
      CHECK(e[1].type == EventType::kMessageCreated);
      CHECK(e[1].message->id == m1->message.id);
      CHECK(e[2].message->content == "secret two");  // another message: untouched
      CHECK_FALSE(e[2].redacted);

      REQUIRE(s->restore_message(m1->message.id, by(6)).ok());
      e = events(*s, c->id);
      REQUIRE(e.size() == 6);
      // Restored: every event of the message shows it as it is now, so the
      // text the edit replaced is not served again.
      CHECK(e[1].message->content == "secret one, edited");
      CHECK_FALSE(e[1].redacted);
      CHECK(e[3].message->content == "secret one, edited");
      check_redacted(e[4]);  // message.deleted stays redacted
      CHECK(e[5].message->content == "secret one, edited");

      // A clear deletes every message: all their events read redacted.
      REQUIRE(s->clear_conversation(c->id, by(7)).ok());
      e = events(*s, c->id);
      for (const auto& ev : e)
        if (ev.message) check_redacted(ev);

      // So does a deleted conversation's; a restore shows them again (the
      // messages themselves stay cleared, so still redacted here: post anew).
      auto m3 = s->append_message(c->id, new_msg("secret three"), at(8));
      REQUIRE(m3.ok());
      REQUIRE(s->soft_delete_conversation(c->id, by(9)).ok());
      e = events(*s, c->id);
      REQUIRE(e[e.size() - 2].type == EventType::kMessageCreated);
      check_redacted(e[e.size() - 2]);
      REQUIRE(s->restore_conversation(c->id, by(10)).ok());
      e = events(*s, c->id);
      CHECK(e[e.size() - 3].message->content == "secret three");

      if (factory == "sqlite-file") {
        // No text of a deleted message in the stored message.deleted rows.
        s.reset();
        SQLite::Database db(dir.file("chat.db"), SQLite::OPEN_READONLY);
        SQLite::Statement q(db, "SELECT data FROM events WHERE type = 'message.deleted'");
        int n = 0;
        while (q.executeStep()) {
          ++n;
          CHECK(q.getColumn(0).getString().find("secret") == std::string::npos);
          CHECK(q.getColumn(0).getString().find("\"k\"") == std::string::npos);  // metadata neither
        }
        CHECK(n == 1);  // the clear wrote one conversation.cleared, not one per message
      }
    }
  }
}

TEST_CASE("event log: paging, bad arguments, and resets outside the log", "[events][store]") {
  for (const auto& factory : store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = open_test_store(factory, dir);
      auto c = s->create_conversation(new_conv(), at(1));
      auto other = s->create_conversation(new_conv(), at(1));
      REQUIRE(c.ok());
      REQUIRE(other.ok());
      for (int i = 0; i < 5; ++i) {
        REQUIRE(s->append_message(c->id, new_msg(std::to_string(i)), at(10 + i)).ok());
        REQUIRE(s->append_message(other->id, new_msg(std::to_string(-i)), at(10 + i)).ok());
      }
      const std::int64_t last = head(*s);
      CHECK(last == 12);

      auto p = s->list_events(c->id, 0, 4);
      REQUIRE(p.ok());
      CHECK(p->events.size() == 4);
      CHECK(p->has_more);
      CHECK(p->last_id == last);
      auto q = s->list_events(c->id, p->events.back().id, 4);
      REQUIRE(q.ok());
      CHECK(q->events.size() == 2);
      CHECK_FALSE(q->has_more);
      for (const auto& e : q->events) CHECK(e.conversation_id == c->id);

      CHECK(s->list_events(c->id, -1, 10).error().field == "after_id");
      CHECK(s->list_events(c->id, 0, 0).error().field == "limit");
      CHECK(s->list_events(c->id, 0, 1001).error().field == "limit");
      CHECK(s->list_events(c->id, 0, 1000).ok());

      // At the head: nothing, no reset. Past it (another database's cursor): reset.
      auto at_head = s->list_events(c->id, last, 10);
      REQUIRE(at_head.ok());
      CHECK(at_head->events.empty());
      CHECK_FALSE(at_head->reset);
      auto past = s->list_events(c->id, last + 1, 10);
      REQUIRE(past.ok());
      CHECK(past->reset);
      CHECK(past->events.empty());
      CHECK(past->last_id == last);

      // A conversation with no events, or none at all, is an empty page.
      auto none = s->list_events(424242, 0, 10);
      REQUIRE(none.ok());
      CHECK(none->events.empty());
      CHECK_FALSE(none->reset);
    }
  }
}

TEST_CASE("event log: trims remove a prefix in id order, raise the floor, never reuse ids", "[events][store]") {
  for (const auto& factory : store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = open_test_store(factory, dir);
      auto c = s->create_conversation(new_conv(), at(0));  // event 1 at 0 s
      REQUIRE(c.ok());
      for (int i = 1; i <= 9; ++i) REQUIRE(s->append_message(c->id, new_msg("m"), at(i * 10)).ok());  // 2..10
      CHECK(head(*s) == 10);

      CHECK(s->trim_events(at(1000), 0).error().field == "max_rows");
      CHECK(*s->trim_events(at(0)) == 0);  // nothing made before 0 s... but event 1, at 0 s exactly, stays

      // Before 35 s: events 1..4 (0, 10, 20, 30 s); at most 3 per call.
      auto removed = s->trim_events(at(35), 3);
      REQUIRE(removed.ok());
      CHECK(*removed == 3);
      auto reset = s->list_events(c->id, 2, 100);  // below the floor (3)
      REQUIRE(reset.ok());
      CHECK(reset->reset);
      CHECK(reset->events.empty());
      auto ok = s->list_events(c->id, 3, 100);  // at the floor: nothing lost
      REQUIRE(ok.ok());
      CHECK_FALSE(ok->reset);
      REQUIRE_FALSE(ok->events.empty());
      CHECK(ok->events.front().id == 4);
      CHECK(*s->trim_events(at(35), 3) == 1);
      CHECK(s->list_events(c->id, 3, 100)->reset);
      CHECK(s->list_events(c->id, 4, 100)->events.front().id == 5);

      // Everything: the head stays, and the next id follows it.
      CHECK(*s->trim_events(at(10'000), 100) == 6);
      CHECK(head(*s) == 10);
      CHECK(s->list_events(c->id, 0, 100)->reset);
      auto fresh = s->list_events(c->id, 10, 100);
      REQUIRE(fresh.ok());
      CHECK(fresh->events.empty());
      CHECK_FALSE(fresh->reset);
      REQUIRE(s->append_message(c->id, new_msg("after"), at(20'000)).ok());
      auto next = s->list_events(c->id, 10, 100);
      REQUIRE(next->events.size() == 1);
      CHECK(next->events[0].id == 11);
    }
  }
}

TEST_CASE("event log: purge removes the events of the rows it removes", "[events][store]") {
  for (const auto& factory : store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = open_test_store(factory, dir);
      auto doomed = s->create_conversation(new_conv(), at(1));
      auto kept = s->create_conversation(new_conv(), at(1));
      REQUIRE(doomed.ok());
      REQUIRE(kept.ok());
      REQUIRE(s->append_message(doomed->id, new_msg("gone with it"), at(2)).ok());
      auto old_msg = s->append_message(kept->id, new_msg("purged text"), at(3));
      auto live_msg = s->append_message(kept->id, new_msg("stays"), at(4));
      REQUIRE(old_msg.ok());
      REQUIRE(live_msg.ok());
      MessagePatch mp;
      mp.content = "purged text, edited";
      REQUIRE(s->update_message(old_msg->message.id, mp, by(5)).ok());
      REQUIRE(s->soft_delete_message(old_msg->message.id, by(6)).ok());
      REQUIRE(s->soft_delete_conversation(doomed->id, by(7)).ok());
      const std::int64_t last = head(*s);

      auto purged = s->purge(at(100), by(200));
      REQUIRE(purged.ok());
      CHECK(*purged == 3);  // two messages, one conversation

      CHECK(events(*s, doomed->id).empty());
      auto e = events(*s, kept->id);
      // conversation.created, message.created (stays), message.deleted (of the purged one).
      REQUIRE(types(e) ==
              std::vector{EventType::kConversationCreated, EventType::kMessageCreated, EventType::kMessageDeleted});
      CHECK(e[1].message->id == live_msg->message.id);
      CHECK(e[1].message->content == "stays");
      CHECK(e[2].message->id == old_msg->message.id);
      check_redacted(e[2]);
      // Purge is no change of the log's positions: no reset, no reused id.
      CHECK(head(*s) == last);
      CHECK_FALSE(s->list_events(kept->id, 0, 10)->reset);
      REQUIRE(s->append_message(kept->id, new_msg("next"), at(300)).ok());
      CHECK(events(*s, kept->id).back().id == last + 1);
    }
  }
}

TEST_CASE("event log: events show the row as it is now, never text an edit replaced", "[events][store]") {
  for (const auto& factory : store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = open_test_store(factory, dir);
      auto c = s->create_conversation(new_conv(), at(1));
      REQUIRE(c.ok());
      auto m = s->append_message(c->id, new_msg("my ssn is 123-45-6789"), at(2));
      REQUIRE(m.ok());
      MessagePatch mp;
      mp.content = "[removed]";
      mp.metadata = R"({"edited":true})";
      REQUIRE(s->update_message(m->message.id, mp, by(3)).ok());
      ConversationPatch cp;
      cp.title = "renamed";
      REQUIRE(s->update_conversation(c->id, cp, at(4)).ok());
      auto e = events(*s, c->id);
      REQUIRE(e.size() == 4);
      for (const auto& ev : e) {
        if (ev.message) {
          CHECK(ev.message->content == "[removed]");
          CHECK(ev.message->metadata == R"({"edited":true})");
        }
        if (ev.conversation) CHECK(ev.conversation->title == "renamed");
      }
    }
  }
}

TEST_CASE("event log: a page ends at its byte budget, always with at least one event", "[events][store]") {
  for (const auto& factory : store_factories()) {
    DYNAMIC_SECTION(factory) {
      TempDir dir;
      auto s = open_test_store(factory, dir);
      auto c = s->create_conversation(new_conv(), at(1));
      REQUIRE(c.ok());
      const std::string big(64 * 1024, 'x');
      for (int i = 0; i < 10; ++i) REQUIRE(s->append_message(c->id, new_msg(big), at(2 + i)).ok());
      const std::int64_t first = events(*s, c->id).front().id;  // conversation.created
      // 100 KiB: the second 64 KiB message passes it, and the page ends there.
      auto p = s->list_events(c->id, first, 1000, ByteBudget{100 * 1024, 0});
      REQUIRE(p.ok());
      CHECK(p->events.size() == 2);
      CHECK(p->has_more);
      // A bound below one event still takes that event.
      auto one = s->list_events(c->id, first, 1000, ByteBudget{10, 0});
      REQUIRE(one.ok());
      CHECK(one->events.size() == 1);
      CHECK(one->has_more);
      // Pages by budget cover the log exactly once.
      std::int64_t cursor = first;
      std::size_t seen = 0;
      for (;;) {
        auto page = s->list_events(c->id, cursor, 1000, ByteBudget{100 * 1024, 0});
        REQUIRE(page.ok());
        seen += page->events.size();
        if (!page->events.empty()) cursor = page->events.back().id;
        if (!page->has_more) break;
      }
      CHECK(seen == 10);
    }
  }
}
