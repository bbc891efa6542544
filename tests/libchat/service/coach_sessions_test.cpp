// Seed 004 in the service: start_coach_session (get-or-create, race-free, budgets, ownership).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "service/service_fixture.hpp"

using namespace svc_test;

namespace {

Subject job(Fixture& f, const Principal& who, std::string id, std::string description = "Write C++.") {
  Subject s;
  s.id = std::move(id);
  s.title = "Job " + s.id;
  s.description = std::move(description);
  auto r = f.svc->put_subject(who, s);
  REQUIRE(r.ok());
  return *r;
}

CoachStartResult start(Fixture& f, const Principal& who, const std::string& job_id, std::string q = "How?") {
  auto r = f.svc->start_coach_session(who, CoachStart{job_id, std::move(q)});
  if (!r.ok()) FAIL("start failed: " << r.error().message);
  return *r;
}

}  // namespace

TEST_CASE("start_coach_session: creates once, then continues the same session", "[service][seed004]") {
  Fixture f;
  job(f, kAlice, "7", "Senior C++ role. Needs SQLite.");
  Profile p;
  p.skills = R"(["C++"])";
  REQUIRE(f.svc->put_profile(kAlice, p).ok());

  auto first = start(f, kAlice, "7", "How do I start?");
  CHECK(first.created);
  const Conversation& c = first.reply.conversation;
  CHECK(c.kind == ConversationKind::kCoach);
  CHECK(c.subject == "7");
  CHECK(c.user_id == "alice");
  CHECK(c.title == "Job 7");
  CHECK(c.total_messages == 2);
  CHECK(c.initial_context.find("### Skills\nC++") != std::string::npos);
  CHECK(c.initial_context.find("## Job: Job 7\nSenior C++ role. Needs SQLite.") != std::string::npos);
  CHECK(first.reply.assistant_message.content == "Echo: How do I start?");
  auto meta = nlohmann::json::parse(c.metadata);
  CHECK(meta["job_id"] == "7");
  CHECK(meta["resume_truncated"] == false);

  auto second = start(f, kAlice, "7", "And then?");
  CHECK_FALSE(second.created);
  CHECK(second.reply.conversation.id == c.id);
  CHECK(second.reply.conversation.total_messages == 4);

  // The model saw the initial context as a system turn.
  auto scripted = std::make_shared<ScriptedProvider>();
  Fixture g({}, scripted);
  job(g, kAlice, "7");
  start(g, kAlice, "7");
  auto req = scripted->last_request();
  REQUIRE(req.messages.size() == 3);
  CHECK(req.messages[1].role == Role::kSystem);
  CHECK(req.messages[1].content.find("## Resume") != std::string::npos);
}

TEST_CASE("start_coach_session: errors, ownership, deactivation", "[service][seed004]") {
  Fixture f;
  job(f, kAlice, "7");
  CHECK(f.svc->start_coach_session(kAnon, CoachStart{"7", "q"}).error().code == ErrorCode::kUnauthenticated);
  auto unknown = f.svc->start_coach_session(kAlice, CoachStart{"nope", "q"});
  CHECK(unknown.error().code == ErrorCode::kNotFound);
  CHECK(unknown.error().field == "job_id");
  CHECK(f.svc->start_coach_session(kAlice, CoachStart{"7", "  "}).error().field == "question");
  CHECK(f.svc->start_coach_session(kAlice, CoachStart{"", "q"}).error().field == "job_id");
  CHECK(f.conversation_count() == 0);

  auto a = start(f, kAlice, "7");
  auto b = start(f, kBob, "7");  // jobs are shared; sessions are not
  CHECK(a.reply.conversation.id != b.reply.conversation.id);
  CHECK_FALSE(f.svc->get_conversation(kBob, ConversationKey::of_id(a.reply.conversation.id)).ok());

  // Deactivate (soft delete): the next start opens a new session.
  REQUIRE(f.svc->delete_conversation(kAlice, ConversationKey::of_id(a.reply.conversation.id)).ok());
  auto again = start(f, kAlice, "7");
  CHECK(again.created);
  CHECK(again.reply.conversation.id != a.reply.conversation.id);
  CHECK(again.reply.conversation.total_messages == 2);
  CHECK(start(f, kAlice, "7").reply.conversation.id == again.reply.conversation.id);
}

TEST_CASE("start_coach_session: concurrent first starts share one session", "[service][seed004]") {
  Fixture f;
  job(f, kAlice, "9");
  constexpr int kThreads = 8;
  std::vector<std::int64_t> ids(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = f.svc->start_coach_session(kAlice, CoachStart{"9", std::string("q") + std::to_string(i)});
      if (r.ok()) {
        ids[static_cast<std::size_t>(i)] = r->reply.conversation.id;
        if (r->created) ++created;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(std::set<std::int64_t>(ids.begin(), ids.end()).size() == 1);
  CHECK(ids[0] != 0);
  CHECK(created == 1);
  CHECK(f.conversation_count() == 1);
  auto c = f.svc->get_conversation(kAlice, ConversationKey::of_id(ids[0]));
  REQUIRE(c.ok());
  CHECK(c->total_messages == 2 * kThreads);
}

TEST_CASE("coach sessions: structured figures, the caller's own list, context sections", "[service][seed004]") {
  Fixture f;
  job(f, kAlice, "9", "Build a chat backend.");
  Profile p;
  p.skills = R"(["C++", "SQL"])";
  REQUIRE(f.svc->put_profile(kAlice, p).ok());
  auto started = start(f, kAlice, "9");
  const CoachSession& s = started.session;
  CHECK(s.conversation.id == started.reply.conversation.id);
  CHECK(s.job_id == "9");
  CHECK(s.resume_tokens > 0);
  CHECK(s.job_tokens > 0);
  CHECK_FALSE(s.resume_truncated);
  CHECK_FALSE(s.job_truncated);

  // get: by uuid or integer id; another user's session is not found.
  for (const auto& k : {ConversationKey::of_any(s.conversation.uuid), ConversationKey::of_any(std::to_string(s.conversation.id))}) {
    auto got = f.svc->get_coach_session(kAlice, k);
    REQUIRE(got.ok());
    CHECK(got->resume_tokens == s.resume_tokens);
    CHECK(got->job_tokens == s.job_tokens);
    CHECK(f.svc->get_coach_session(kBob, k).error().code == ErrorCode::kNotFound);
  }
  CHECK(f.svc->get_coach_session(kAnon, ConversationKey::of_any(s.conversation.uuid)).error().code ==
        ErrorCode::kUnauthenticated);
  // The key's kind is forced: a support conversation is no coach session.
  auto support = f.create(kAlice);
  CHECK(f.svc->get_coach_session(kAlice, ConversationKey::of_id(support.id)).error().code == ErrorCode::kNotFound);

  // context: the two parts of the initial_context.
  auto ctx = f.svc->get_coach_context(kAlice, ConversationKey::of_uuid(s.conversation.uuid));
  REQUIRE(ctx.ok());
  CHECK(ctx->initial_context == s.conversation.initial_context);
  CHECK(ctx->resume.rfind("## Resume", 0) == 0);
  CHECK(ctx->resume.find("C++, SQL") != std::string::npos);
  CHECK(ctx->resume.find("## Job:") == std::string::npos);
  CHECK(ctx->job_description == "## Job: Job 9\nBuild a chat backend.");
  CHECK(ctx->session.job_id == "9");

  // list: the caller's own active sessions, admins included.
  job(f, kAdmin, "10");
  start(f, kAdmin, "10");
  CoachSessionQuery q;
  auto alice_list = f.svc->list_coach_sessions(kAlice, q);
  REQUIRE(alice_list.ok());
  REQUIRE(alice_list->items.size() == 1);
  CHECK(alice_list->total == 1);
  CHECK(alice_list->items[0].job_id == "9");
  CHECK(alice_list->items[0].resume_tokens == s.resume_tokens);
  auto admin_list = f.svc->list_coach_sessions(kAdmin, q);
  REQUIRE(admin_list.ok());
  REQUIRE(admin_list->items.size() == 1);
  CHECK(admin_list->items[0].job_id == "10");
  q.limit = 0;
  CHECK(f.svc->list_coach_sessions(kAlice, q).error().field == "limit");
  CHECK(f.svc->list_coach_sessions(kAnon, CoachSessionQuery{}).error().code == ErrorCode::kUnauthenticated);

  // A deactivated session leaves the list and is not found.
  REQUIRE(f.svc->delete_conversation(kAlice, ConversationKey::of_uuid(s.conversation.uuid)).ok());
  CHECK(f.svc->list_coach_sessions(kAlice, CoachSessionQuery{})->items.empty());
  CHECK(f.svc->get_coach_context(kAlice, ConversationKey::of_uuid(s.conversation.uuid)).error().code ==
        ErrorCode::kNotFound);
}
