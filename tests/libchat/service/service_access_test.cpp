// Ownership, visibility and role rules of ChatService.
#include "service/service_fixture.hpp"

using namespace svc_test;

namespace {

template <typename R>
void check_not_found(const R& r, const char* what) {
  INFO(what);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kNotFound);
}

}  // namespace

TEST_CASE("service: another user's conversation is not found on every operation", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice, ConversationKind::kCoach);
  const Message m = f.post(kAlice, c, "secret plans", Role::kUser, "cid-1");
  const auto k = key(c);

  for (const Principal& who : {kBob, kAnon, kAgent}) {
    INFO(std::string(to_string(who.role)));
    check_not_found(f.svc->get_conversation(who, k), "get_conversation");
    check_not_found(f.svc->get_conversation(who, ConversationKey::of_uuid(c.uuid)), "get by uuid");
    check_not_found(f.svc->list_messages(who, k, {}), "list_messages");
    NewMessage nm;
    nm.content = "hi";
    check_not_found(f.svc->post_message(who, k, nm), "post_message");
    check_not_found(f.svc->update_conversation(who, k, ConversationPatch{}), "update_conversation");
    check_not_found(f.svc->clear_conversation(who, k), "clear_conversation");
    check_not_found(f.svc->mark_read(who, k), "mark_read");
    check_not_found(f.svc->delete_conversation(who, k), "delete_conversation");
    check_not_found(f.svc->restore_conversation(who, k), "restore_conversation");
    check_not_found(f.svc->get_message(who, MessageKey::of_id(m.id)), "get_message id");
    check_not_found(f.svc->get_message(who, MessageKey::of_uuid(m.uuid)), "get_message uuid");
    check_not_found(f.svc->get_message(who, MessageKey::of_client_id(k, "cid-1")), "get_message client_id");
    MessagePatch mp;
    mp.content = "changed";
    check_not_found(f.svc->edit_message(who, MessageKey::of_id(m.id), mp), "edit_message");
    check_not_found(f.svc->delete_message(who, MessageKey::of_id(m.id)), "delete_message");
    check_not_found(f.svc->restore_message(who, MessageKey::of_id(m.id)), "restore_message");
    ReplyRequest rr;
    rr.content = "hello";
    check_not_found(f.svc->reply(who, k, rr), "reply");
    check_not_found(f.svc->reply_stream(who, k, rr, [](const StreamEvent&) { return true; }), "reply_stream");
    check_not_found(f.svc->wait_for_messages(who, k, 0, std::chrono::milliseconds(0)), "wait_for_messages");
    SearchQuery sq;
    sq.text = "secret";
    sq.conversation_id = c.id;
    check_not_found(f.svc->search_messages(who, sq), "search in conversation");
    sq.conversation_id.reset();
    auto hits = f.svc->search_messages(who, sq);
    if (who.is_anonymous()) {  // no search across conversations without a token
      CHECK(hits.error().code == ErrorCode::kUnauthenticated);
      continue;
    }
    REQUIRE(hits.ok());
    CHECK(hits->items.empty());
  }
  // Nothing was changed by all of that.
  auto still = f.svc->get_message(kAlice, MessageKey::of_id(m.id));
  REQUIRE(still.ok());
  CHECK(still->content == "secret plans");
  CHECK(f.last_message_id() == m.id);

  // The not-found answer is the same as for an id that never existed.
  auto missing = f.svc->get_conversation(kBob, ConversationKey::of_id(c.id + 1000));
  auto hidden = f.svc->get_conversation(kBob, k);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == hidden.error().message);
}

TEST_CASE("service: owners, agents and admins see what they should", "[service]") {
  Fixture f;
  const Conversation alice_support = f.create(kAlice, ConversationKind::kSupport, "alice support");
  const Conversation alice_coach = f.create(kAlice, ConversationKind::kCoach, "alice coach");
  const Conversation bob_support = f.create(kBob, ConversationKind::kSupport, "bob support");
  const Conversation public_session = f.create(kAnon, ConversationKind::kSession, "public");
  f.post(kAlice, alice_support, "needle alice support");
  f.post(kAlice, alice_coach, "needle alice coach");
  f.post(kBob, bob_support, "needle bob support");
  f.post(kAnon, public_session, "needle public");

  CHECK(alice_support.user_id == "alice");
  CHECK(public_session.user_id.empty());

  // Agents see support conversations, not coach ones.
  CHECK(f.svc->get_conversation(kAgent, key(alice_support)).ok());
  CHECK_FALSE(f.svc->get_conversation(kAgent, key(alice_coach)).ok());
  // Anyone sees ownerless conversations named by a capability (uuid, handle),
  // not by their guessable integer id.
  CHECK(f.svc->get_conversation(kBob, cap(public_session)).ok());
  CHECK(f.svc->get_conversation(kAnon, cap(public_session)).ok());
  CHECK(f.svc->get_conversation(kBob, key(public_session)).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->get_conversation(kAnon, key(public_session)).error().code == ErrorCode::kNotFound);
  // Admin sees all.
  for (const auto& c : {alice_support, alice_coach, bob_support, public_session})
    CHECK(f.svc->get_conversation(kAdmin, key(c)).ok());

  auto ids = [&](const Principal& who, ConversationQuery q) {
    auto r = f.svc->list_conversations(who, q);
    REQUIRE(r.ok());
    std::vector<std::int64_t> out;
    for (const auto& c : r->items) out.push_back(c.id);
    std::sort(out.begin(), out.end());
    CHECK(r->total == static_cast<std::int64_t>(out.size()));
    return out;
  };
  ConversationQuery all;
  CHECK(ids(kAlice, all) == std::vector<std::int64_t>{alice_support.id, alice_coach.id});
  ConversationQuery other = all;
  other.user_id = "bob";  // a user cannot widen the scope
  CHECK(ids(kAlice, other) == std::vector<std::int64_t>{alice_support.id, alice_coach.id});
  CHECK(ids(kBob, all) == std::vector<std::int64_t>{bob_support.id});
  CHECK(ids(kAdmin, all).size() == 4);
  // Anonymous callers reach ownerless conversations by capability only: no listing.
  CHECK(f.svc->list_conversations(kAnon, all).error().code == ErrorCode::kUnauthenticated);
  ConversationQuery support;
  support.kind = ConversationKind::kSupport;
  CHECK(ids(kAgent, support) == std::vector<std::int64_t>{alice_support.id, bob_support.id});
  CHECK(ids(kAgent, all).empty());  // outside support, agents list their own

  auto hit_ids = [&](const Principal& who, SearchQuery q) {
    q.text = "needle";
    auto r = f.svc->search_messages(who, q);
    REQUIRE(r.ok());
    return r->items.size();
  };
  CHECK(hit_ids(kAlice, {}) == 2);
  CHECK(hit_ids(kBob, {}) == 1);
  CHECK(hit_ids(kAdmin, {}) == 4);
  SearchQuery anon_search;  // nor search across them
  anon_search.text = "needle";
  CHECK(f.svc->search_messages(kAnon, anon_search).error().code == ErrorCode::kUnauthenticated);
  SearchQuery in_public;
  in_public.conversation_id = public_session.id;
  CHECK(hit_ids(kAdmin, in_public) == 1);
  in_public.text = "needle";  // by integer id: hidden from users (chat/keys.hpp)
  CHECK(f.svc->search_messages(kAlice, in_public).error().code == ErrorCode::kNotFound);
  // Scoped to one visible conversation, the owner filter does not apply.
  SearchQuery in_alice_support;
  in_alice_support.conversation_id = alice_support.id;
  CHECK(hit_ids(kAgent, in_alice_support) == 1);
  SearchQuery agent_support;
  agent_support.kind = ConversationKind::kSupport;
  CHECK(hit_ids(kAgent, agent_support) == 2);
}

TEST_CASE("service: conversation keys resolve by id, uuid, handle and any", "[service]") {
  Fixture f;
  NewConversation nc;
  nc.kind = ConversationKind::kSession;
  nc.handle = "my-session.1";
  auto created = f.svc->create_conversation(kAnon, nc);
  REQUIRE(created.ok());
  const Conversation c = *created;
  CHECK(c.expires_at == from_millis(kStartMs) + std::chrono::hours(24));

  auto id_of = [&](const ConversationKey& k, const Principal& who = kAnon) -> std::int64_t {
    auto r = f.svc->get_conversation(who, k);
    return r.ok() ? r->id : -1;
  };
  // An ownerless session by integer id: agents and admins only.
  CHECK(id_of(ConversationKey::of_id(c.id)) == -1);
  CHECK(id_of(ConversationKey::of_id(c.id), kAlice) == -1);
  CHECK(id_of(ConversationKey::of_id(c.id), kAgent) == c.id);
  CHECK(id_of(ConversationKey::of_id(c.id), kAdmin) == c.id);
  CHECK(id_of(ConversationKey::of_uuid(c.uuid)) == c.id);
  std::string upper = c.uuid;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(id_of(ConversationKey::of_uuid(upper)) == c.id);
  CHECK(id_of(ConversationKey::of_handle("my-session.1")) == c.id);
  CHECK(id_of(ConversationKey::of_any(c.uuid)) == c.id);
  CHECK(id_of(ConversationKey::of_any("my-session.1")) == c.id);
  CHECK(id_of(ConversationKey::of_any(std::to_string(c.id))) == -1);
  CHECK(id_of(ConversationKey::of_any(std::to_string(c.id)), kAlice) == -1);
  CHECK(id_of(ConversationKey::of_any(std::to_string(c.id)), kAdmin) == c.id);
  CHECK(id_of(ConversationKey::of_any("")) == -1);
  CHECK(id_of(ConversationKey::of_any("nope")) == -1);
  // Kind mismatch: not found.
  CHECK(id_of(ConversationKey::of_id(c.id, ConversationKind::kSession), kAdmin) == c.id);
  CHECK(id_of(ConversationKey::of_id(c.id, ConversationKind::kSupport), kAdmin) == -1);
  CHECK(id_of(ConversationKey::of_any(c.uuid, ConversationKind::kQuote)) == -1);

  // A handle that looks like a number wins over the id (handle before id).
  NewConversation numeric;
  numeric.kind = ConversationKind::kSession;
  numeric.handle = std::to_string(c.id);
  auto n = f.svc->create_conversation(kAnon, numeric);
  REQUIRE(n.ok());
  CHECK(id_of(ConversationKey::of_any(std::to_string(c.id))) == n->id);

  // Generated session handles.
  NewConversation gen;
  gen.kind = ConversationKind::kSession;
  auto g = f.svc->create_conversation(kAnon, gen);
  REQUIRE(g.ok());
  CHECK(g->handle.rfind("sess_", 0) == 0);
  CHECK(g->handle.size() == 5 + 32);  // 128 random bits: the session's capability
  auto g2 = f.svc->create_conversation(kAnon, gen);
  REQUIRE(g2.ok());
  CHECK(g2->handle != g->handle);
  CHECK(is_uuid(g->uuid));
}

TEST_CASE("service: message roles need the right principal", "[service]") {
  Fixture f;
  const Conversation support = f.create(kAlice, ConversationKind::kSupport);
  const Conversation session = f.create(kAnon, ConversationKind::kSession);
  NewMessage m;
  m.content = "x";

  m.role = Role::kAgent;
  auto denied = f.svc->post_message(kAlice, key(support), m);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code == ErrorCode::kPermissionDenied);
  CHECK(f.svc->post_message(kAgent, key(support), m).ok());
  CHECK(f.svc->post_message(kAdmin, key(support), m).ok());

  m.role = Role::kSystem;
  auto sys_denied = f.svc->post_message(kAlice, key(support), m);
  REQUIRE_FALSE(sys_denied.ok());
  CHECK(sys_denied.error().code == ErrorCode::kPermissionDenied);
  CHECK(f.svc->post_message(kAdmin, key(support), m).ok());

  // An ownerless session is reached by its capability alone: only staff speak
  // for the service there (no fake assistant or system rows, issue 9).
  for (Role r : {Role::kSystem, Role::kAssistant}) {
    m.role = r;
    for (const Principal& who : {kAnon, kAlice}) {
      auto fake = f.svc->post_message(who, cap(session), m);
      REQUIRE_FALSE(fake.ok());
      CHECK(fake.error().code == ErrorCode::kPermissionDenied);
    }
    CHECK(f.svc->post_message(kAgent, cap(session), m).ok());
    CHECK(f.svc->post_message(kAdmin, cap(session), m).ok());
  }
  m.role = Role::kUser;
  CHECK(f.svc->post_message(kAnon, cap(session), m).ok());

  m.role = Role::kAssistant;  // seed 000: clients store assistant messages themselves
  CHECK(f.svc->post_message(kAlice, key(support), m).ok());
  const Conversation open_support = f.create(kAnon, ConversationKind::kSupport);
  auto anon_assistant = f.svc->post_message(kAnon, cap(open_support), m);  // never an anonymous caller
  REQUIRE_FALSE(anon_assistant.ok());
  CHECK(anon_assistant.error().code == ErrorCode::kPermissionDenied);

  // Editing an agent message needs an agent too.
  auto agent_msg = f.post(kAgent, support, "agent says", Role::kAgent);
  MessagePatch p;
  p.content = "forged";
  auto edit = f.svc->edit_message(kAlice, MessageKey::of_id(agent_msg.id), p);
  REQUIRE_FALSE(edit.ok());
  CHECK(edit.error().code == ErrorCode::kPermissionDenied);
  CHECK(f.svc->edit_message(kAgent, MessageKey::of_id(agent_msg.id), p).ok());
}

TEST_CASE("service: role-reserved operations answer permission denied", "[service]") {
  Fixture f;
  auto purge = f.svc->purge(kAlice);
  REQUIRE_FALSE(purge.ok());
  CHECK(purge.error().code == ErrorCode::kPermissionDenied);
  auto audit = f.svc->list_audit(kAgent, {});
  REQUIRE_FALSE(audit.ok());
  CHECK(audit.error().code == ErrorCode::kPermissionDenied);
  Agent a;
  a.name = "helper";
  auto put = f.svc->put_agent(kAlice, a);
  REQUIRE_FALSE(put.ok());
  CHECK(put.error().code == ErrorCode::kPermissionDenied);
  ConversationQuery q;
  q.include_deleted = true;
  auto list = f.svc->list_conversations(kAlice, q);
  REQUIRE_FALSE(list.ok());
  CHECK(list.error().code == ErrorCode::kPermissionDenied);
  const Conversation c = f.create(kAlice);
  MessageQuery mq;
  mq.include_deleted = true;
  auto msgs = f.svc->list_messages(kAlice, key(c), mq);
  REQUIRE_FALSE(msgs.ok());
  CHECK(msgs.error().code == ErrorCode::kPermissionDenied);

  // Anonymous callers: unauthenticated where an identity is needed.
  Subject s;
  s.title = "job";
  auto subj = f.svc->put_subject(kAnon, s);
  REQUIRE_FALSE(subj.ok());
  CHECK(subj.error().code == ErrorCode::kUnauthenticated);
  auto prof = f.svc->get_profile(kAnon);
  REQUIRE_FALSE(prof.ok());
  CHECK(prof.error().code == ErrorCode::kUnauthenticated);
  NewConversation coach;
  coach.kind = ConversationKind::kCoach;
  auto anon_coach = f.svc->create_conversation(kAnon, coach);
  REQUIRE_FALSE(anon_coach.ok());
  CHECK(anon_coach.error().code == ErrorCode::kUnauthenticated);
  // A "user" without an id is not a user.
  auto no_id = f.svc->list_conversations(Principal{"", PrincipalRole::kUser}, {});
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.error().code == ErrorCode::kUnauthenticated);
}

TEST_CASE("service: admins may create conversations for another user", "[service]") {
  Fixture f;
  NewConversation c;
  c.user_id = "bob";
  auto by_admin = f.svc->create_conversation(kAdmin, c);
  REQUIRE(by_admin.ok());
  CHECK(by_admin->user_id == "bob");
  CHECK(f.svc->get_conversation(kBob, key(*by_admin)).ok());
  auto by_alice = f.svc->create_conversation(kAlice, c);
  REQUIRE(by_alice.ok());
  CHECK(by_alice->user_id == "alice");  // non-admins always own what they create
}

TEST_CASE("service: anonymous callers list conversations only where the service allows it", "[service][safety]") {
  Fixture f;
  const Conversation session = f.create(kAnon, ConversationKind::kSession);
  ConversationQuery q;
  q.kind = ConversationKind::kSession;
  auto anon = f.svc->list_conversations(kAnon, q);
  REQUIRE_FALSE(anon.ok());
  CHECK(anon.error().code == ErrorCode::kUnauthenticated);
  q.search = session.handle;
  CHECK(f.svc->list_conversations(kAnon, q).error().code == ErrorCode::kUnauthenticated);
  q.search.clear();
  auto by_agent = f.svc->list_conversations(kAgent, q);  // staff see the public sessions
  REQUIRE(by_agent.ok());
  REQUIRE(by_agent->items.size() == 1);
  CHECK(by_agent->items[0].id == session.id);
  CHECK(f.svc->list_conversations(kAdmin, q)->items.size() == 1);
  CHECK(f.svc->list_conversations(kAlice, q)->items.empty());  // a user: their own

  ServiceOptions open;
  open.anonymous_listing = true;
  Fixture trusted(open);
  trusted.create(kAnon, ConversationKind::kSession);
  auto listed = trusted.svc->list_conversations(kAnon, q);
  REQUIRE(listed.ok());
  CHECK(listed->items.size() == 1);
}

TEST_CASE("service: seed 001's client roles open assistant and system in ownerless sessions only when asked",
          "[service][safety]") {
  NewMessage m;
  m.content = "the model said this";
  {
    Fixture f;  // the default: only staff speak for the service there
    const Conversation session = f.create(kAnon, ConversationKind::kSession);
    m.role = Role::kAssistant;
    auto refused = f.svc->post_message(kAnon, cap(session), m);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::kPermissionDenied);
  }
  ServiceOptions seed001;
  seed001.session_client_roles = true;
  Fixture f(seed001);
  const Conversation session = f.create(kAnon, ConversationKind::kSession);
  for (Role r : {Role::kAssistant, Role::kSystem}) {
    m.role = r;
    for (const Principal& who : {kAnon, kAlice, kAgent}) {
      auto posted = f.svc->post_message(who, cap(session), m);
      REQUIRE(posted.ok());
      CHECK(posted->message.role == r);
    }
  }
  // The role agent stays staff-only, and nothing changes outside ownerless sessions.
  m.role = Role::kAgent;
  auto agent = f.svc->post_message(kAnon, cap(session), m);
  REQUIRE_FALSE(agent.ok());
  CHECK(agent.error().code == ErrorCode::kPermissionDenied);
  const Conversation open_support = f.create(kAnon, ConversationKind::kSupport);
  m.role = Role::kAssistant;
  auto support = f.svc->post_message(kAnon, cap(open_support), m);
  REQUIRE_FALSE(support.ok());
  CHECK(support.error().code == ErrorCode::kPermissionDenied);
  const Conversation alices = f.create(kAlice, ConversationKind::kSession);
  m.role = Role::kSystem;
  auto owned = f.svc->post_message(kAlice, key(alices), m);
  REQUIRE_FALSE(owned.ok());
  CHECK(owned.error().code == ErrorCode::kPermissionDenied);
}
