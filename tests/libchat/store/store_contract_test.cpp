// The Store contract: every test here runs against every factory of
// store_factories() (a file-backed SQLite store in a fresh directory and the
// in-memory store), so another implementation can join by adding its name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "chat/store.hpp"
#include "chat/uuid.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using chat::testing::open_test_store;
using chat::testing::store_factories;
using chat::testing::TempDir;

namespace {

Timestamp at(std::int64_t seconds) { return from_millis(1'700'000'000'000LL + seconds * 1000); }

NewConversation new_conv(ConversationKind kind = ConversationKind::kSupport, std::string user = "u1") {
  NewConversation c;
  c.kind = kind;
  c.user_id = std::move(user);
  c.title = "a conversation";
  return c;
}

NewMessage new_msg(Role role, std::string content, std::string client_id = {},
                   std::optional<std::int64_t> tokens = {}) {
  NewMessage m;
  m.role = role;
  m.content = std::move(content);
  m.client_id = std::move(client_id);
  m.tokens_used = tokens;
  return m;
}

AuditContext who(std::int64_t seconds = 100) { return AuditContext{"admin-1", at(seconds)}; }

std::vector<std::int64_t> ids_of(const std::vector<Message>& ms) {
  std::vector<std::int64_t> out;
  for (const auto& m : ms) out.push_back(m.id);
  return out;
}
std::vector<std::int64_t> ids_of(const std::vector<Conversation>& cs) {
  std::vector<std::int64_t> out;
  for (const auto& c : cs) out.push_back(c.id);
  return out;
}
std::vector<std::int64_t> ids_of(const std::vector<SearchHit>& hs) {
  std::vector<std::int64_t> out;
  for (const auto& h : hs) out.push_back(h.message.id);
  return out;
}
bool contains(const std::vector<std::int64_t>& v, std::int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::int64_t conv_count(Store& s, bool include_deleted = false) {
  ConversationQuery q;
  q.include_deleted = include_deleted;
  auto p = s.list_conversations(q);
  REQUIRE(p.ok());
  return p->total;
}

// Counters recomputed from the live rows, to compare with the maintained ones.
struct Counts {
  std::int64_t total = 0, unread = 0, tokens = 0;
  std::optional<Timestamp> last;
};
Counts real_counts(Store& s, std::int64_t conv) {
  auto c = s.get_conversation(conv);
  REQUIRE(c.ok());
  MessageQuery q;
  q.limit = 1'000'000;
  q.role = std::nullopt;
  q.include_system = true;
  q.after_id = 0;
  // A filtered query (before_id) forces a real COUNT rather than the counter.
  q.before_id = std::numeric_limits<std::int64_t>::max();
  auto p = s.list_messages(conv, q);
  REQUIRE(p.ok());
  Counts r;
  for (const auto& m : p->items) {
    ++r.total;
    r.tokens += m.tokens_used.value_or(0);
    if (m.role != Role::kUser && m.id > c->last_read_message_id) ++r.unread;
    r.last = m.created_at;
  }
  CHECK(p->total == r.total);
  return r;
}
void check_counters(Store& s, std::int64_t conv) {
  auto r = real_counts(s, conv);
  auto c = s.get_conversation(conv);
  REQUIRE(c.ok());
  CHECK(c->total_messages == r.total);
  CHECK(c->unread_count == r.unread);
  CHECK(c->total_tokens == r.tokens);
  CHECK(c->last_message_at == r.last);
}

}  // namespace

TEST_CASE("store: conversations are created, found and unique", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);

  auto nc = new_conv(ConversationKind::kSession, "u1");
  nc.handle = "sess-1";
  nc.external_user_id = "ext-1";
  nc.metadata = R"({ "a" : 1 })";
  nc.agent_id = 7;
  nc.expires_at = at(3600);
  nc.initial_context = "resume";
  auto c = store->create_conversation(nc, at(0));
  REQUIRE(c.ok());
  CHECK(c->id > 0);
  CHECK(is_uuid(c->uuid));
  CHECK(c->metadata == R"({"a":1})");
  CHECK(c->created_at == at(0));
  CHECK(c->is_active);

  auto g = store->get_conversation(c->id);
  REQUIRE(g.ok());
  CHECK(g->uuid == c->uuid);
  CHECK(g->handle == "sess-1");
  CHECK(g->kind == ConversationKind::kSession);
  CHECK(g->external_user_id == "ext-1");
  CHECK(g->agent_id == 7);
  CHECK(g->expires_at == at(3600));
  CHECK(g->initial_context == "resume");
  CHECK(g->metadata == R"({"a":1})");
  CHECK(g->total_messages == 0);
  CHECK_FALSE(g->last_message_at.has_value());
  CHECK(store->find_conversation_by_uuid(c->uuid)->id == c->id);
  CHECK(store->find_conversation_by_handle("sess-1")->id == c->id);

  SECTION("unknown ids") {
    CHECK(store->get_conversation(999).error().code == ErrorCode::kNotFound);
    CHECK(store->find_conversation_by_uuid(generate_uuid_v4()).error().code == ErrorCode::kNotFound);
    CHECK(store->find_conversation_by_handle("nope").error().code == ErrorCode::kNotFound);
    CHECK(store->find_conversation_by_handle("").error().code == ErrorCode::kNotFound);
  }
  SECTION("duplicate handle and uuid conflict and write nothing") {
    auto dup = new_conv();
    dup.handle = "sess-1";
    auto r = store->create_conversation(dup, at(1));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kConflict);
    CHECK(r.error().field == "handle");
    CHECK(r.error().message.find("INSERT") == std::string::npos);
    auto dup2 = new_conv();
    dup2.uuid = c->uuid;
    auto r2 = store->create_conversation(dup2, at(1));
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().code == ErrorCode::kConflict);
    CHECK(r2.error().field == "uuid");
    CHECK(conv_count(*store) == 1);
    // Conversations without a handle do not collide with each other.
    CHECK(store->create_conversation(new_conv(), at(2)).ok());
    CHECK(store->create_conversation(new_conv(), at(3)).ok());
    CHECK(conv_count(*store) == 3);
  }
  SECTION("bad input is refused and writes nothing") {
    auto bad = new_conv();
    bad.metadata = "{not json";
    auto r = store->create_conversation(bad, at(1));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
    CHECK(r.error().field == "metadata");
    bad.metadata = "[1,2]";
    CHECK(store->create_conversation(bad, at(1)).error().field == "metadata");
    auto bad_uuid = new_conv();
    bad_uuid.uuid = "not-a-uuid";
    CHECK(store->create_conversation(bad_uuid, at(1)).error().field == "uuid");
    CHECK(conv_count(*store) == 1);
  }
  SECTION("update patches only the given fields") {
    ConversationPatch p;
    p.title = "new title";
    p.is_pinned = true;
    p.metadata = R"({"b":2})";
    auto u = store->update_conversation(c->id, p, at(10));
    REQUIRE(u.ok());
    CHECK(u->title == "new title");
    CHECK(u->is_pinned);
    CHECK(u->metadata == R"({"b":2})");
    CHECK(u->handle == "sess-1");
    CHECK(u->updated_at == at(10));
    CHECK(u->created_at == at(0));
    ConversationPatch bad;
    bad.metadata = "nope";
    bad.title = "must not land";
    CHECK(store->update_conversation(c->id, bad, at(11)).error().field == "metadata");
    CHECK(store->get_conversation(c->id)->title == "new title");
    CHECK(store->update_conversation(999, p, at(12)).error().code == ErrorCode::kNotFound);
  }
  SECTION("soft delete hides the conversation from every read path") {
    REQUIRE(store->soft_delete_conversation(c->id, who(50)).ok());
    CHECK(store->get_conversation(c->id).error().code == ErrorCode::kNotFound);
    CHECK(store->find_conversation_by_uuid(c->uuid).error().code == ErrorCode::kNotFound);
    CHECK(store->find_conversation_by_handle("sess-1").error().code == ErrorCode::kNotFound);
    CHECK(conv_count(*store) == 0);
    CHECK(conv_count(*store, true) == 1);
    auto d = store->get_conversation(c->id, true);
    REQUIRE(d.ok());
    CHECK(d->deleted_at == at(50));
    CHECK(store->find_conversation_by_uuid(c->uuid, true).ok());
    CHECK(store->find_conversation_by_handle("sess-1", true).ok());
    CHECK(store->update_conversation(c->id, ConversationPatch{}, at(51)).error().code == ErrorCode::kNotFound);
    // Twice: not found.
    CHECK(store->soft_delete_conversation(c->id, who(52)).error().code == ErrorCode::kNotFound);
    // Its handle stays taken while it can be restored.
    auto again = new_conv();
    again.handle = "sess-1";
    CHECK(store->create_conversation(again, at(53)).error().code == ErrorCode::kConflict);

    auto r = store->restore_conversation(c->id, who(60));
    REQUIRE(r.ok());
    CHECK_FALSE(r->deleted_at.has_value());
    CHECK(store->get_conversation(c->id).ok());
    CHECK(store->restore_conversation(c->id, who(61)).error().code == ErrorCode::kNotFound);

    AuditQuery aq;
    aq.conversation_id = c->id;
    auto audit = store->list_audit(aq);
    REQUIRE(audit.ok());
    REQUIRE(audit->size() == 2);
    CHECK((*audit)[0].action == "conversation.restore");
    CHECK((*audit)[1].action == "conversation.delete");
    CHECK((*audit)[1].actor == "admin-1");
    CHECK((*audit)[1].at == at(50));
    CHECK((*audit)[1].target_type == "conversation");
    CHECK((*audit)[1].target_id == c->id);
  }
}

TEST_CASE("store: list_conversations filters, orders and pages", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);

  auto make = [&](ConversationKind kind, std::string user, std::string title, std::int64_t t,
                  std::string handle = {}) {
    auto nc = new_conv(kind, std::move(user));
    nc.title = std::move(title);
    nc.handle = std::move(handle);
    auto c = store->create_conversation(nc, at(t));
    REQUIRE(c.ok());
    return c->id;
  };
  auto a = make(ConversationKind::kSupport, "u1", "Billing question", 1);
  auto b = make(ConversationKind::kSession, "u2", "100% sure_thing", 2, "H-b");
  auto c = make(ConversationKind::kSupport, "u1", "Shipping", 3);
  auto d = make(ConversationKind::kCoach, "u3", "career", 4);
  {
    auto nc = new_conv(ConversationKind::kQuote, "u1");
    nc.subject = "job-9";
    nc.external_user_id = "visitor-42";
    nc.agent_id = 5;
    nc.title = "quote";
    nc.is_archived = true;
    REQUIRE(store->create_conversation(nc, at(5)).ok());
  }
  auto e = store->list_conversations(ConversationQuery{})->items.front().id;

  auto list = [&](ConversationQuery q) {
    auto p = store->list_conversations(q);
    REQUIRE(p.ok());
    return p.value();
  };
  ConversationQuery q;
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{e, d, c, b, a});
  CHECK(list(q).total == 5);
  q.kind = ConversationKind::kSupport;
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{c, a});
  q = {};
  q.user_id = "u1";
  CHECK(list(q).total == 3);
  q = {};
  q.subject = "job-9";
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{e});
  q = {};
  q.external_user_id = "visitor-42";
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{e});
  q = {};
  q.agent_id = 5;
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{e});
  q = {};
  q.is_archived = true;
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{e});
  q.is_archived = false;
  CHECK(list(q).total == 4);
  q = {};
  q.since_id = c;
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{e, d});

  SECTION("search is a case-insensitive substring, wildcards matched literally") {
    q = {};
    q.search = "BILLING";
    CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{a});
    q.search = "%";
    CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{b});
    q.search = "_";
    CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{b});
    q.search = "h-B";  // handle
    CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{b});
    q.search = "visitor";  // external_user_id
    CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{e});
    q.search = "' OR 1=1 --";
    CHECK(list(q).total == 0);
  }
  SECTION("limit, offset, total and has_more") {
    q = {};
    q.limit = 2;
    auto p1 = list(q);
    CHECK(ids_of(p1.items) == std::vector<std::int64_t>{e, d});
    CHECK(p1.total == 5);
    CHECK(p1.has_more);
    q.offset = 4;
    auto p3 = list(q);
    CHECK(ids_of(p3.items) == std::vector<std::int64_t>{a});
    CHECK_FALSE(p3.has_more);
    q.limit = -1;
    CHECK(store->list_conversations(q).error().field == "limit");
  }
  SECTION("recent activity: pinned first, then last activity") {
    REQUIRE(store->append_message(a, new_msg(Role::kUser, "hi"), at(100)).ok());
    ConversationPatch pin;
    pin.is_pinned = true;
    REQUIRE(store->update_conversation(c, pin, at(101)).ok());
    q = {};
    q.order = ConversationOrder::kRecentActivity;
    CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{c, a, e, d, b});
  }
  SECTION("is_active filter and soft-deleted rows in every filter") {
    ConversationPatch off;
    off.is_active = false;
    REQUIRE(store->update_conversation(d, off, at(10)).ok());
    q = {};
    q.is_active = false;
    CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{d});
    REQUIRE(store->soft_delete_conversation(a, who()).ok());
    for (auto filter : {0, 1, 2, 3, 4}) {
      INFO(filter);
      q = {};
      if (filter == 1) q.kind = ConversationKind::kSupport;
      if (filter == 2) q.user_id = "u1";
      if (filter == 3) q.search = "billing";
      if (filter == 4) q.order = ConversationOrder::kRecentActivity;
      CHECK_FALSE(contains(ids_of(list(q).items), a));
      q.include_deleted = true;
      CHECK(contains(ids_of(list(q).items), a));
    }
    q = {};
    CHECK(list(q).total == 4);
  }
}

TEST_CASE("store: messages append, idempotency and lookups", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto conv = store->create_conversation(new_conv(), at(0))->id;
  auto other = store->create_conversation(new_conv(), at(0))->id;

  auto m1 = new_msg(Role::kUser, "hello there", "c-1", 5);
  m1.metadata = R"({"k": "v"})";
  m1.processing_time = 0.25;
  m1.cost = 0.001;
  m1.attachments.push_back(NewAttachment{"a.png", "image/png", 1234, "/files/a.png"});
  auto r1 = store->append_message(conv, m1, at(1));
  REQUIRE(r1.ok());
  CHECK(r1->created);
  const auto& msg = r1->message;
  CHECK(msg.id > 0);
  CHECK(is_uuid(msg.uuid));
  CHECK(msg.metadata == R"({"k":"v"})");
  REQUIRE(msg.attachments.size() == 1);
  CHECK(msg.attachments[0].message_id == msg.id);

  auto g = store->get_message(msg.id);
  REQUIRE(g.ok());
  CHECK(g->content == "hello there");
  CHECK(g->client_id == "c-1");
  CHECK(g->conversation_id == conv);
  CHECK(g->tokens_used == 5);
  CHECK(g->processing_time == 0.25);
  CHECK(g->cost == 0.001);
  CHECK(g->status == MessageStatus::kSent);
  CHECK(g->created_at == at(1));
  REQUIRE(g->attachments.size() == 1);
  CHECK(g->attachments[0].file_name == "a.png");
  CHECK(g->attachments[0].file_size == 1234);
  CHECK(store->find_message_by_uuid(msg.uuid)->id == msg.id);
  CHECK(store->find_message_by_client_id(conv, "c-1")->id == msg.id);
  CHECK(store->find_message_by_client_id(other, "c-1").error().code == ErrorCode::kNotFound);

  SECTION("the same client_id returns the stored message and writes nothing") {
    auto again = store->append_message(conv, new_msg(Role::kUser, "different text", "c-1", 99), at(2));
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    CHECK(again->message.id == msg.id);
    CHECK(again->message.content == "hello there");
    CHECK(again->message.attachments.size() == 1);
    auto c = store->get_conversation(conv);
    CHECK(c->total_messages == 1);
    CHECK(c->total_tokens == 5);
    CHECK(store->last_message_id().value() == msg.id);
    // Another conversation may use the same client_id.
    auto o = store->append_message(other, new_msg(Role::kUser, "x", "c-1"), at(3));
    REQUIRE(o.ok());
    CHECK(o->created);
  }
  SECTION("ids are monotonic across the store") {
    std::int64_t last = msg.id;
    for (int i = 0; i < 10; ++i) {
      auto r = store->append_message(i % 2 ? conv : other, new_msg(Role::kAssistant, "m"), at(10 + i));
      REQUIRE(r.ok());
      CHECK(r->message.id > last);
      last = r->message.id;
    }
    CHECK(store->last_message_id().value() == last);
  }
  SECTION("unknown or deleted conversation, bad input: error and nothing written") {
    CHECK(store->append_message(999, new_msg(Role::kUser, "x"), at(2)).error().code == ErrorCode::kNotFound);
    auto bad = new_msg(Role::kUser, "x");
    bad.metadata = "{oops";
    auto r = store->append_message(conv, bad, at(2));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
    CHECK(r.error().field == "metadata");
    bad = new_msg(Role::kUser, "x");
    bad.uuid = "zzz";
    CHECK(store->append_message(conv, bad, at(2)).error().field == "uuid");
    bad = new_msg(Role::kUser, "x");
    bad.uuid = msg.uuid;
    auto dup = store->append_message(conv, bad, at(2));
    CHECK(dup.error().code == ErrorCode::kConflict);
    CHECK(dup.error().field == "uuid");
    REQUIRE(store->soft_delete_conversation(other, who()).ok());
    CHECK(store->append_message(other, new_msg(Role::kUser, "x"), at(3)).error().code == ErrorCode::kNotFound);
    CHECK(store->get_conversation(conv)->total_messages == 1);
    CHECK(store->last_message_id().value() == msg.id);
    CHECK(store->get_message(msg.id + 100).error().code == ErrorCode::kNotFound);
    CHECK(store->find_message_by_uuid(generate_uuid_v4()).error().code == ErrorCode::kNotFound);
  }
  SECTION("update_message") {
    MessagePatch p;
    p.content = "edited";
    p.status = MessageStatus::kComplete;
    p.tokens_used = 8;
    auto u = store->update_message(msg.id, p, who(5));
    REQUIRE(u.ok());
    CHECK(u->content == "edited");
    CHECK(u->status == MessageStatus::kComplete);
    CHECK(u->tokens_used == 8);
    CHECK(u->metadata == R"({"k":"v"})");
    CHECK(u->updated_at == at(5));
    CHECK(store->get_conversation(conv)->total_tokens == 8);
    MessagePatch bad;
    bad.metadata = "nope";
    bad.content = "must not land";
    CHECK(store->update_message(msg.id, bad, who(6)).error().field == "metadata");
    CHECK(store->get_message(msg.id)->content == "edited");
    CHECK(store->update_message(12345, p, who(6)).error().code == ErrorCode::kNotFound);
  }
  SECTION("a deleted message frees its client_id") {
    REQUIRE(store->soft_delete_message(msg.id, who()).ok());
    CHECK(store->find_message_by_client_id(conv, "c-1").error().code == ErrorCode::kNotFound);
    auto n = store->append_message(conv, new_msg(Role::kUser, "new", "c-1"), at(3));
    REQUIRE(n.ok());
    CHECK(n->created);
    CHECK(n->message.id != msg.id);
    // Restoring the old one would give the conversation two live c-1.
    auto r = store->restore_message(msg.id, who());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kConflict);
    CHECK(r.error().field == "client_id");
    CHECK(store->get_message(msg.id).error().code == ErrorCode::kNotFound);
    check_counters(*store, conv);
  }
}

TEST_CASE("store: append_message runs its precondition in the write and writes nothing when refused",
          "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto conv = store->create_conversation(new_conv(ConversationKind::kSession, "owner-1"), at(0))->id;
  auto first = store->append_message(conv, new_msg(Role::kUser, "first", "c-1", 3), at(1));
  REQUIRE(first.ok());

  int calls = 0;
  std::optional<Conversation> seen;
  auto record = [&](const Conversation& c) -> Status {
    ++calls;
    seen = c;
    return {};
  };
  auto refuse = [&](const Conversation&) -> Status {
    ++calls;
    return Error::gone("closed for the test");
  };
  // What a refusal must leave untouched.
  auto check_nothing_written = [&] {
    auto c = store->get_conversation(conv);
    REQUIRE(c.ok());
    CHECK(c->total_messages == 1);
    CHECK(c->total_tokens == 3);
    CHECK(c->last_message_at == at(1));
    CHECK(c->updated_at == at(1));
    CHECK(store->last_message_id().value() == first->message.id);
    CHECK(store->find_message_by_client_id(conv, "c-2").error().code == ErrorCode::kNotFound);
    check_counters(*store, conv);
  };

  SECTION("an accepting precondition sees the live row before the append") {
    ConversationPatch p;
    p.title = "renamed";
    REQUIRE(store->update_conversation(conv, p, at(2)).ok());
    auto r = store->append_message(conv, new_msg(Role::kAssistant, "second", "c-2", 4), at(3), record);
    REQUIRE(r.ok());
    CHECK(r->created);
    CHECK(calls == 1);
    REQUIRE(seen);
    CHECK(seen->id == conv);
    CHECK(seen->user_id == "owner-1");
    CHECK(seen->kind == ConversationKind::kSession);
    CHECK(seen->title == "renamed");
    CHECK(seen->total_messages == 1);  // this message not counted yet
    CHECK(seen->total_tokens == 3);
    CHECK(store->get_conversation(conv)->total_messages == 2);
    check_counters(*store, conv);
    // An accepted replay: nothing new, the stored message back.
    auto again = store->append_message(conv, new_msg(Role::kAssistant, "second", "c-2", 4), at(4), record);
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    CHECK(again->message.id == r->message.id);
    CHECK(calls == 2);
  }
  SECTION("a refusal is returned as is and nothing is written") {
    auto m = new_msg(Role::kAssistant, "refused", "c-2", 7);
    m.attachments.push_back(NewAttachment{"a.png", "image/png", 10, "/files/a.png"});
    auto r = store->append_message(conv, m, at(5), refuse);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kGone);
    CHECK(r.error().message == "closed for the test");
    CHECK(calls == 1);
    check_nothing_written();
    // The store stays usable: the next append (without a precondition) lands.
    auto next = store->append_message(conv, new_msg(Role::kUser, "next"), at(6));
    REQUIRE(next.ok());
    CHECK(next->message.id > first->message.id);
    check_counters(*store, conv);
  }
  SECTION("a refusal wins over a client_id replay") {
    auto r = store->append_message(conv, new_msg(Role::kUser, "first", "c-1", 3), at(5), refuse);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kGone);
    check_nothing_written();
  }
  SECTION("a precondition sees changes committed before the append") {
    ConversationPatch p;
    p.is_active = false;
    REQUIRE(store->update_conversation(conv, p, at(2)).ok());
    auto closed = [&](const Conversation& c) -> Status {
      ++calls;
      if (!c.is_active) return Error::gone("inactive");
      return {};
    };
    auto r = store->append_message(conv, new_msg(Role::kUser, "x", "c-2"), at(3), closed);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kGone);
    CHECK(calls == 1);
  }
  SECTION("a throwing precondition refuses the append with kInternal") {
    auto boom = [&](const Conversation&) -> Status { throw std::runtime_error("boom"); };
    auto r = store->append_message(conv, new_msg(Role::kUser, "x", "c-2"), at(5), boom);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInternal);
    CHECK(r.error().message.find("boom") == std::string::npos);
    check_nothing_written();
  }
  SECTION("a missing or deleted conversation answers kNotFound without calling it") {
    CHECK(store->append_message(conv + 100, new_msg(Role::kUser, "x"), at(5), record).error().code ==
          ErrorCode::kNotFound);
    REQUIRE(store->soft_delete_conversation(conv, who()).ok());
    CHECK(store->append_message(conv, new_msg(Role::kUser, "x"), at(5), record).error().code ==
          ErrorCode::kNotFound);
    CHECK(calls == 0);
    CHECK(store->last_message_id().value() == first->message.id);
  }
}

TEST_CASE("store: list_messages filters, orders, totals and hides deleted rows", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto conv = store->create_conversation(new_conv(), at(0))->id;
  std::vector<std::int64_t> ids;
  const std::vector<std::pair<Role, std::string>> rows{
      {Role::kSystem, "you are helpful"}, {Role::kUser, "Hello 100% sure"}, {Role::kAssistant, "hi_there"},
      {Role::kUser, "second question"},   {Role::kAgent, "HELLO from agent"}, {Role::kAssistant, "answer"}};
  for (std::size_t i = 0; i < rows.size(); ++i)
    ids.push_back(store->append_message(conv, new_msg(rows[i].first, rows[i].second), at(i + 1))->message.id);

  auto list = [&](MessageQuery q) {
    auto p = store->list_messages(conv, q);
    REQUIRE(p.ok());
    return p.value();
  };
  MessageQuery q;
  auto all = list(q);
  CHECK(ids_of(all.items) == ids);
  CHECK(all.total == 6);
  CHECK_FALSE(all.has_more);
  q.newest_first = true;
  q.limit = 2;
  auto latest = list(q);
  CHECK(ids_of(latest.items) == std::vector<std::int64_t>{ids[5], ids[4]});
  CHECK(latest.total == 6);
  CHECK(latest.has_more);
  q = {};
  q.role = Role::kUser;
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{ids[1], ids[3]});
  CHECK(list(q).total == 2);
  q = {};
  q.include_system = false;
  CHECK(list(q).total == 5);
  q = {};
  q.after_id = ids[3];
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{ids[4], ids[5]});
  CHECK(list(q).total == 2);
  q = {};
  q.before_id = ids[2];
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{ids[0], ids[1]});
  q = {};
  q.search = "hello";
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{ids[1], ids[4]});
  q.search = "%";
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{ids[1]});
  q.search = "_";
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{ids[2]});
  q = {};
  q.offset = 4;
  q.limit = 10;
  CHECK(ids_of(list(q).items) == std::vector<std::int64_t>{ids[4], ids[5]});
  CHECK(store->list_messages(999, MessageQuery{}).error().code == ErrorCode::kNotFound);

  SECTION("a soft-deleted message is absent from every listing and counter") {
    REQUIRE(store->soft_delete_message(ids[4], who()).ok());
    CHECK(store->soft_delete_message(ids[4], who()).error().code == ErrorCode::kNotFound);
    CHECK(store->get_message(ids[4]).error().code == ErrorCode::kNotFound);
    CHECK(store->get_message(ids[4], true)->deleted_at == who().at);
    auto uuid = store->get_message(ids[4], true)->uuid;
    CHECK(store->find_message_by_uuid(uuid).error().code == ErrorCode::kNotFound);
    CHECK(store->find_message_by_uuid(uuid, true).ok());
    for (int filter = 0; filter < 6; ++filter) {
      INFO(filter);
      q = {};
      if (filter == 1) q.role = Role::kAgent;
      if (filter == 2) q.search = "hello";
      if (filter == 3) q.after_id = ids[3];
      if (filter == 4) q.newest_first = true;
      if (filter == 5) q.include_system = false;
      auto p = list(q);
      CHECK_FALSE(contains(ids_of(p.items), ids[4]));
      q.include_deleted = true;
      auto pd = list(q);
      CHECK(contains(ids_of(pd.items), ids[4]));
      CHECK(pd.total == p.total + 1);
    }
    CHECK(list(MessageQuery{}).total == 5);
    check_counters(*store, conv);
  }
  SECTION("messages of a deleted conversation are hidden") {
    REQUIRE(store->soft_delete_conversation(conv, who()).ok());
    CHECK(store->list_messages(conv, MessageQuery{}).error().code == ErrorCode::kNotFound);
    CHECK(store->get_message(ids[0]).error().code == ErrorCode::kNotFound);
    CHECK(store->get_message(ids[0], true).ok());
    q = {};
    q.include_deleted = true;
    CHECK(list(q).total == 6);
  }
}

TEST_CASE("store: counters stay exact through append, delete, restore, clear, mark_read", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto conv = store->create_conversation(new_conv(), at(0))->id;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    auto role = i % 2 == 0 ? Role::kUser : Role::kAssistant;
    ids.push_back(store->append_message(conv, new_msg(role, std::to_string(i), {}, i + 1), at(i + 1))->message.id);
  }
  auto c = store->get_conversation(conv).value();
  CHECK(c.total_messages == 6);
  CHECK(c.unread_count == 3);
  CHECK(c.total_tokens == 21);
  CHECK(c.last_message_at == at(6));
  check_counters(*store, conv);

  // Delete the newest (assistant, 6 tokens): last_message_at moves back.
  REQUIRE(store->soft_delete_message(ids[5], who()).ok());
  c = store->get_conversation(conv).value();
  CHECK(c.total_messages == 5);
  CHECK(c.unread_count == 2);
  CHECK(c.total_tokens == 15);
  CHECK(c.last_message_at == at(5));
  check_counters(*store, conv);

  // Mark read up to ids[3]: ids[1] and ids[3] are read, statuses too.
  auto mr = store->mark_read(conv, ids[3], at(20));
  REQUIRE(mr.ok());
  CHECK(mr->last_read_message_id == ids[3]);
  CHECK(mr->unread_count == 0);
  CHECK(store->get_message(ids[1])->status == MessageStatus::kRead);
  CHECK(store->get_message(ids[0])->status == MessageStatus::kSent);  // a user message stays sent
  check_counters(*store, conv);
  // Never backwards.
  CHECK(store->mark_read(conv, ids[1], at(21))->last_read_message_id == ids[3]);

  // Restore the assistant message above the mark: unread again.
  REQUIRE(store->restore_message(ids[5], who()).ok());
  CHECK(store->restore_message(ids[5], who()).error().code == ErrorCode::kNotFound);
  c = store->get_conversation(conv).value();
  CHECK(c.total_messages == 6);
  CHECK(c.unread_count == 1);
  CHECK(c.total_tokens == 21);
  CHECK(c.last_message_at == at(6));
  check_counters(*store, conv);

  // Token change through update_message.
  MessagePatch p;
  p.tokens_used = 100;
  REQUIRE(store->update_message(ids[0], p, who(22)).ok());
  CHECK(store->get_conversation(conv)->total_tokens == 120);
  check_counters(*store, conv);

  // Beyond the last id is clamped to it.
  auto all = store->mark_read(conv, 1'000'000, at(23));
  REQUIRE(all.ok());
  CHECK(all->last_read_message_id == ids[5]);
  CHECK(all->unread_count == 0);
  auto later = store->append_message(conv, new_msg(Role::kAgent, "after"), at(24));
  REQUIRE(later.ok());
  CHECK(store->get_conversation(conv)->unread_count == 1);
  check_counters(*store, conv);

  // Clear soft-deletes everything and zeroes the counters.
  auto cleared = store->clear_conversation(conv, who(30));
  REQUIRE(cleared.ok());
  CHECK(*cleared == 7);
  c = store->get_conversation(conv).value();
  CHECK(c.total_messages == 0);
  CHECK(c.unread_count == 0);
  CHECK(c.total_tokens == 0);
  CHECK_FALSE(c.last_message_at.has_value());
  check_counters(*store, conv);
  CHECK(store->list_messages(conv, MessageQuery{})->items.empty());
  MessageQuery qd;
  qd.include_deleted = true;
  CHECK(store->list_messages(conv, qd)->total == 7);
  AuditQuery aq;
  aq.conversation_id = conv;
  auto audit = store->list_audit(aq).value();
  REQUIRE_FALSE(audit.empty());
  CHECK(audit[0].action == "conversation.clear");
  CHECK(audit[0].detail == R"({"deleted_count":7})");
  std::multiset<std::string> actions;
  for (const auto& e : audit) actions.insert(e.action);
  CHECK(actions.count("message.delete") == 1);
  CHECK(actions.count("message.restore") == 1);
  CHECK(store->clear_conversation(999, who()).error().code == ErrorCode::kNotFound);
  CHECK(store->mark_read(999, 1, at(40)).error().code == ErrorCode::kNotFound);
}

TEST_CASE("store: full-text search is fresh, literal, unicode-aware and scoped", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto c1 = store->create_conversation(new_conv(ConversationKind::kSupport, "alice"), at(0))->id;
  auto c2 = store->create_conversation(new_conv(ConversationKind::kCoach, "bob"), at(0))->id;

  auto add = [&](std::int64_t conv, std::string text) {
    auto r = store->append_message(conv, new_msg(Role::kUser, std::move(text)), at(1));
    REQUIRE(r.ok());
    return r->message.id;
  };
  auto search = [&](std::string text, std::optional<std::string> user = {}) {
    SearchQuery q;
    q.text = std::move(text);
    q.user_id = std::move(user);
    auto r = store->search_messages(q);
    REQUIRE(r.ok());
    return r.value();
  };
  auto a1 = add(c1, "the invoice for the café is late");
  auto a2 = add(c1, "'; DROP TABLE messages; -- said the attacker");
  auto a3 = add(c1, "he wrote \"unbalanced quotes and NEAR( things * stars");
  auto b1 = add(c2, "cafe invoice from bob");

  SECTION("a message is searchable as soon as append returned") {
    auto h = search("invoice");
    CHECK(h.total == 2);
    CHECK(ids_of(h.items) == std::vector<std::int64_t>{b1, a1});  // equal rank: newest first
    auto n = add(c1, "zebra crossing");
    CHECK(ids_of(search("zebra").items) == std::vector<std::int64_t>{n});
    for (const auto& hit : h.items) CHECK(hit.score > 0);
  }
  SECTION("SQL-ish and FTS-syntax input is just text") {
    CHECK(ids_of(search("'; DROP TABLE messages; --").items) == std::vector<std::int64_t>{a2});
    CHECK(ids_of(search("\"unbalanced").items) == std::vector<std::int64_t>{a3});
    CHECK(ids_of(search("NEAR(").items) == std::vector<std::int64_t>{a3});
    CHECK(search("*").total == 0);
    CHECK(search("invoice OR zebra").total == 0);  // OR is a word here, ANDed
    CHECK(search("content:invoice").total == 0);
    CHECK(store->get_message(a2).ok());  // the table is still there
  }
  SECTION("unicode: diacritics fold") {
    CHECK(search("cafe").total == 2);
    CHECK(search("CAFÉ").total == 2);
  }
  SECTION("scope by owner, kind and conversation") {
    CHECK(ids_of(search("invoice", "alice").items) == std::vector<std::int64_t>{a1});
    CHECK(ids_of(search("invoice", "bob").items) == std::vector<std::int64_t>{b1});
    CHECK(search("invoice", "mallory").total == 0);
    SearchQuery q;
    q.text = "invoice";
    q.kind = ConversationKind::kCoach;
    CHECK(ids_of(store->search_messages(q)->items) == std::vector<std::int64_t>{b1});
    q.kind.reset();
    q.conversation_id = c1;
    CHECK(ids_of(store->search_messages(q)->items) == std::vector<std::int64_t>{a1});
  }
  SECTION("empty query is refused; paging") {
    SearchQuery q;
    q.text = "   ";
    auto r = store->search_messages(q);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
    CHECK(r.error().field == "query");
    q.text = "invoice";
    q.limit = 1;
    auto p = store->search_messages(q).value();
    CHECK(p.items.size() == 1);
    CHECK(p.total == 2);
    CHECK(p.has_more);
    q.offset = 5;
    auto past = store->search_messages(q).value();
    CHECK(past.items.empty());
    CHECK(past.total == 2);
    q.offset = 0;
    q.limit = 0;
    auto none = store->search_messages(q).value();
    CHECK(none.items.empty());
    CHECK(none.total == 2);
    CHECK(none.has_more);
  }
  SECTION("deleted messages and conversations are not found") {
    REQUIRE(store->soft_delete_message(a1, who()).ok());
    CHECK(ids_of(search("invoice").items) == std::vector<std::int64_t>{b1});
    REQUIRE(store->restore_message(a1, who()).ok());
    CHECK(search("invoice").total == 2);
    REQUIRE(store->soft_delete_conversation(c2, who()).ok());
    CHECK(ids_of(search("invoice").items) == std::vector<std::int64_t>{a1});
    REQUIRE(store->clear_conversation(c1, who()).ok());
    CHECK(search("invoice").total == 0);
  }
  SECTION("edits are re-indexed") {
    REQUIRE(store->flush_search_index().ok());
    MessagePatch p;
    p.content = "now about giraffes";
    REQUIRE(store->update_message(a1, p, who(5)).ok());
    CHECK(ids_of(search("giraffes").items) == std::vector<std::int64_t>{a1});
    CHECK(ids_of(search("invoice").items) == std::vector<std::int64_t>{b1});
  }
  SECTION("an edit before the row was indexed is indexed with its new text") {
    auto n = add(c1, "original okapi");
    MessagePatch p;
    p.content = "replaced ocelot";
    REQUIRE(store->update_message(n, p, who(5)).ok());
    CHECK(search("okapi").total == 0);
    CHECK(ids_of(search("ocelot").items) == std::vector<std::int64_t>{n});
  }
  SECTION("ranking prefers better matches") {
    auto strong = add(c1, "llama llama llama");
    auto weak = add(c1, "one llama among many many other words in a long sentence here");
    auto h = search("llama");
    REQUIRE(h.items.size() == 2);
    CHECK(h.items[0].message.id == strong);
    CHECK(h.items[1].message.id == weak);
    CHECK(h.items[0].score > h.items[1].score);
  }
  SECTION("flush_search_index indexes what is pending") {
    auto n = store->flush_search_index();
    REQUIRE(n.ok());
    CHECK(store->flush_search_index().value() == 0);
  }
}

TEST_CASE("store: purge removes old soft-deleted rows for good", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto keep = store->create_conversation(new_conv(), at(0))->id;
  auto gone = store->create_conversation(new_conv(), at(0))->id;
  auto m_keep = store->append_message(keep, new_msg(Role::kUser, "kept walrus"), at(1))->message.id;
  auto with_att = new_msg(Role::kUser, "old walrus");
  with_att.attachments.push_back(NewAttachment{"f", "t", 1, "p"});
  auto m_old = store->append_message(keep, with_att, at(2))->message.id;
  auto m_recent = store->append_message(keep, new_msg(Role::kUser, "recent walrus"), at(3))->message.id;
  auto m_gone = store->append_message(gone, new_msg(Role::kUser, "gone walrus"), at(4))->message.id;
  REQUIRE(store->flush_search_index().ok());

  REQUIRE(store->soft_delete_message(m_old, who(10)).ok());
  REQUIRE(store->soft_delete_conversation(gone, who(11)).ok());
  REQUIRE(store->soft_delete_message(m_recent, who(100)).ok());
  const auto last_before = store->last_message_id().value();

  auto n = store->purge(at(50), AuditContext{"system", at(200)});
  REQUIRE(n.ok());
  CHECK(*n == 3);  // m_old, m_gone and conversation `gone`
  CHECK(store->get_message(m_old, true).error().code == ErrorCode::kNotFound);
  CHECK(store->get_message(m_gone, true).error().code == ErrorCode::kNotFound);
  CHECK(store->get_conversation(gone, true).error().code == ErrorCode::kNotFound);
  CHECK(store->get_message(m_recent, true).ok());
  CHECK(store->get_message(m_keep).ok());
  SearchQuery q;
  q.text = "walrus";
  CHECK(ids_of(store->search_messages(q)->items) == std::vector<std::int64_t>{m_keep});
  check_counters(*store, keep);
  // Ids are never reused.
  CHECK(store->last_message_id().value() == last_before);
  auto next = store->append_message(keep, new_msg(Role::kUser, "next"), at(300));
  CHECK(next->message.id > last_before);
  auto audit = store->list_audit(AuditQuery{}).value();
  REQUIRE_FALSE(audit.empty());
  CHECK(audit[0].action == "purge");
  CHECK(audit[0].actor == "system");
  CHECK(store->purge(at(50), AuditContext{"system", at(201)}).value() == 0);
}

TEST_CASE("store: registries of agents, subjects and profiles", "[store]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);

  auto a = store->put_agent(Agent{0, "helper", "be nice", "gpt", {}, {}}, at(1));
  REQUIRE(a.ok());
  CHECK(a->id > 0);
  CHECK(a->created_at == at(1));
  auto b = store->put_agent(Agent{42, "fixed", "", "", {}, {}}, at(2));
  REQUIRE(b.ok());
  CHECK(b->id == 42);
  auto b2 = store->put_agent(Agent{42, "renamed", "p", "m", {}, {}}, at(3));
  CHECK(b2->name == "renamed");
  CHECK(b2->created_at == at(2));
  CHECK(b2->updated_at == at(3));
  CHECK(store->get_agent(42)->system_prompt == "p");
  CHECK(store->list_agents()->size() == 2);
  CHECK(store->get_agent(7).error().code == ErrorCode::kNotFound);
  CHECK(store->put_agent(Agent{0, "", "", "", {}, {}}, at(4)).error().field == "name");

  Subject s;
  s.id = "job-1";
  s.title = "Fix roof";
  s.description = "leaks";
  s.created_by = "u1";
  REQUIRE(store->put_subject(s, at(1)).ok());
  CHECK(store->get_subject("job-1")->title == "Fix roof");
  s.id.clear();
  auto gen = store->put_subject(s, at(2));
  REQUIRE(gen.ok());
  CHECK(is_uuid(gen->id));
  CHECK(store->get_subject("nope").error().code == ErrorCode::kNotFound);

  Profile p;
  p.user_id = "u1";
  p.skills = R"([ "c++", "sql" ])";
  auto pr = store->put_profile(p, at(1));
  REQUIRE(pr.ok());
  CHECK(store->get_profile("u1")->skills == R"(["c++","sql"])");
  CHECK(store->get_profile("u1")->education == "[]");
  p.education = R"({"not": "an array"})";
  auto bad = store->put_profile(p, at(2));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().field == "education");
  CHECK(store->get_profile("u1")->updated_at == at(1));
  CHECK(store->get_profile("u2").error().code == ErrorCode::kNotFound);
}

TEST_CASE("store: create_conversation_with_message commits both or neither", "[store][safety]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);

  NewConversation nc = new_conv(ConversationKind::kSupport, "");
  nc.handle = "widget-1";
  auto made = store->create_conversation_with_message(nc, new_msg(Role::kUser, "first words", "c-1", 4), at(5));
  REQUIRE(made.ok());
  CHECK(made->conversation.id > 0);
  CHECK(made->conversation.handle == "widget-1");
  CHECK(made->conversation.total_messages == 1);
  CHECK(made->conversation.total_tokens == 4);
  CHECK(made->conversation.last_message_at == at(5));
  CHECK(made->message.id > 0);
  CHECK(made->message.conversation_id == made->conversation.id);
  CHECK(made->message.client_id == "c-1");
  CHECK(store->get_message(made->message.id)->content == "first words");
  check_counters(*store, made->conversation.id);
  CHECK(conv_count(*store, true) == 1);
  const auto last_id = store->last_message_id().value();

  // The message fails (its uuid is taken): no conversation is left behind.
  NewConversation second = new_conv(ConversationKind::kSupport, "");
  second.handle = "widget-2";
  NewMessage dup = new_msg(Role::kUser, "again");
  dup.uuid = made->message.uuid;
  auto refused = store->create_conversation_with_message(second, dup, at(6));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(conv_count(*store, true) == 1);
  CHECK(store->find_conversation_by_handle("widget-2", true).error().code == ErrorCode::kNotFound);

  // The conversation fails (its handle is taken): no message is written.
  auto taken = store->create_conversation_with_message(nc, new_msg(Role::kUser, "orphan"), at(7));
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().code == ErrorCode::kConflict);
  CHECK(store->last_message_id().value() == last_id);
  CHECK(conv_count(*store, true) == 1);

  // Bad input is refused before anything is written.
  NewMessage bad = new_msg(Role::kUser, "x");
  bad.metadata = "[1]";
  CHECK(store->create_conversation_with_message(second, bad, at(8)).error().code == ErrorCode::kInvalidArgument);
  CHECK(conv_count(*store, true) == 1);
}

TEST_CASE("store: every update_message keeps the replaced content as a version and audits it",
          "[store][safety]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto conv = store->create_conversation(new_conv(), at(0))->id;
  NewMessage m = new_msg(Role::kUser, "first draft");
  m.metadata = R"({"v":1})";
  auto msg = store->append_message(conv, m, at(1))->message;
  CHECK(store->list_message_versions(msg.id)->empty());

  MessagePatch p1;
  p1.content = "second draft";
  REQUIRE(store->update_message(msg.id, p1, AuditContext{"alice", at(5)}).ok());
  MessagePatch p2;
  p2.metadata = R"({"v":2})";
  REQUIRE(store->update_message(msg.id, p2, AuditContext{"", at(9)}).ok());
  CHECK(store->get_message(msg.id)->content == "second draft");

  auto v = store->list_message_versions(msg.id);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 2);
  CHECK((*v)[0].message_id == msg.id);
  CHECK((*v)[0].version == 1);
  CHECK((*v)[0].content == "first draft");
  CHECK((*v)[0].metadata == R"({"v":1})");
  CHECK((*v)[0].written_at == at(1));
  CHECK((*v)[0].replaced_at == at(5));
  CHECK((*v)[0].replaced_by == "alice");
  CHECK((*v)[1].version == 2);
  CHECK((*v)[1].content == "second draft");
  CHECK((*v)[1].written_at == at(5));
  CHECK((*v)[1].replaced_at == at(9));
  CHECK((*v)[1].replaced_by.empty());

  AuditQuery q;
  q.conversation_id = conv;
  auto audit = store->list_audit(q);
  REQUIRE(audit.ok());
  std::vector<AuditEntry> edits;
  for (const auto& e : *audit)
    if (e.action == "message.edit") edits.push_back(e);
  REQUIRE(edits.size() == 2);
  std::sort(edits.begin(), edits.end(), [](const AuditEntry& a, const AuditEntry& b) { return a.id < b.id; });
  CHECK(edits[0].actor == "alice");
  CHECK(edits[0].at == at(5));
  CHECK(edits[0].target_type == "message");
  CHECK(edits[0].target_id == msg.id);
  CHECK(edits[0].detail == R"({"version":1})");
  CHECK(edits[1].detail == R"({"version":2})");

  // A refused update writes neither a version nor an audit entry.
  MessagePatch bad;
  bad.metadata = "[1]";
  REQUIRE_FALSE(store->update_message(msg.id, bad, AuditContext{"alice", at(10)}).ok());
  CHECK(store->list_message_versions(msg.id)->size() == 2);
  CHECK(store->list_message_versions(987654).error().code == ErrorCode::kNotFound);

  // The record outlives a soft delete; a purge removes both.
  REQUIRE(store->soft_delete_message(msg.id, who(20)).ok());
  CHECK(store->list_message_versions(msg.id)->size() == 2);
  REQUIRE(store->purge(at(30), who(31)).ok());
  CHECK(store->list_message_versions(msg.id).error().code == ErrorCode::kNotFound);
}

TEST_CASE("store: list_context reads history newest first, with counts of the asked counter only", "[store][window]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto conv = store->create_conversation(new_conv(), at(0))->id;
  auto append = [&](Role role, std::string content, std::optional<TokenCount> tokens = std::nullopt,
                    MessageStatus status = MessageStatus::kSent) {
    NewMessage m = new_msg(role, std::move(content));
    m.content_tokens = std::move(tokens);
    m.status = status;
    auto r = store->append_message(conv, m, at(1));
    REQUIRE(r.ok());
    return r->message.id;
  };
  const auto u1 = append(Role::kUser, "one", TokenCount{1, "bytes/4"});
  append(Role::kSystem, "system row", TokenCount{3, "bytes/4"});
  const auto a1 = append(Role::kAssistant, "two", TokenCount{9, "other/1"});
  append(Role::kAssistant, "failed", TokenCount{2, "bytes/4"}, MessageStatus::kFailed);
  append(Role::kAssistant, "");
  const auto gone = append(Role::kUser, "deleted", TokenCount{2, "bytes/4"});
  const auto g1 = append(Role::kAgent, "three");
  const auto u2 = append(Role::kUser, "four", TokenCount{1, "bytes/4"});
  REQUIRE(store->soft_delete_message(gone, who()).ok());

  ContextQuery q;
  q.counter = "bytes/4";
  q.limit = 100;
  auto all = store->list_context(conv, q);
  REQUIRE(all.ok());
  std::vector<std::int64_t> ids;
  for (const auto& m : *all) ids.push_back(m.id);
  CHECK(ids == std::vector<std::int64_t>{u2, g1, a1, u1});
  CHECK((*all)[0].tokens == 1);
  CHECK((*all)[0].content == "four");
  CHECK((*all)[0].role == Role::kUser);
  CHECK_FALSE((*all)[1].tokens.has_value());  // never counted
  CHECK((*all)[1].role == Role::kAgent);
  CHECK_FALSE((*all)[2].tokens.has_value());  // another counter's count
  CHECK((*all)[3].tokens == 1);

  // Batches by cursor and limit.
  q.limit = 2;
  q.before_id = g1;
  auto older = store->list_context(conv, q);
  REQUIRE(older.ok());
  REQUIRE(older->size() == 2);
  CHECK((*older)[0].id == a1);
  CHECK((*older)[1].id == u1);

  // A byte bound ends a batch after the message that passes it.
  q.limit = 100;
  q.before_id = 0;
  q.max_bytes = 4;  // "four" (4 bytes) does not pass it, "three" does
  auto cut = store->list_context(conv, q);
  REQUIRE(cut.ok());
  REQUIRE(cut->size() == 2);
  CHECK((*cut)[1].id == g1);
  q.max_bytes = 0;

  // An edit drops the count unless it brings one.
  MessagePatch p;
  p.content = "four, edited";
  REQUIRE(store->update_message(u2, p, who()).ok());
  q.before_id = 0;
  q.limit = 1;
  CHECK_FALSE(store->list_context(conv, q)->front().tokens.has_value());
  p.content = "four, edited again";
  p.content_tokens = TokenCount{5, "bytes/4"};
  REQUIRE(store->update_message(u2, p, who()).ok());
  CHECK(store->list_context(conv, q)->front().tokens == 5);

  // A cleared conversation has no history; a deleted one is not found.
  REQUIRE(store->clear_conversation(conv, who()).ok());
  q.limit = 100;
  CHECK(store->list_context(conv, q)->empty());
  REQUIRE(store->soft_delete_conversation(conv, who()).ok());
  CHECK(store->list_context(conv, q).error().code == ErrorCode::kNotFound);
  CHECK(store->list_context(conv + 1000, q).error().code == ErrorCode::kNotFound);
}
