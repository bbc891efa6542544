// AI replies: usage accounting, streaming, cancellation, provider failures
// and idempotent retries.
#include <nlohmann/json.hpp>

#include "service/service_fixture.hpp"

using namespace svc_test;

namespace {

std::vector<Message> all_messages(Fixture& f, const Conversation& c) {
  MessageQuery q;
  auto r = f.svc->list_messages(kAdmin, key(c), q);
  REQUIRE(r.ok());
  return r->items;
}

}  // namespace

TEST_CASE("service: reply stores the user and assistant messages with usage", "[service]") {
  ServiceOptions o;
  o.prices = {{"echo", 1.0, 2.0}};
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = "hello big world";
  auto out = f.svc->reply(kAlice, key(c), r);
  REQUIRE(out.ok());
  REQUIRE(out->user_message.has_value());
  CHECK(out->user_message->role == Role::kUser);
  CHECK(out->user_message->content == "hello big world");
  const Message& a = out->assistant_message;
  CHECK(a.role == Role::kAssistant);
  CHECK(a.status == MessageStatus::kComplete);
  CHECK(a.content == "Echo: hello big world");
  // The echo provider reports words as tokens: completion = 4 words.
  CHECK(out->usage.completion_tokens == 4);
  CHECK(a.tokens_used == 4);
  // Prompt = default system prompt (5 words) + the message (3 words).
  CHECK(out->usage.prompt_tokens == 8);
  CHECK(out->usage.total_tokens == 12);
  REQUIRE(a.processing_time.has_value());
  CHECK(*a.processing_time >= 0);
  CHECK(out->usage.cost == Approx(8 / 1000.0 * 1.0 + 4 / 1000.0 * 2.0));
  REQUIRE(a.cost.has_value());
  CHECK(*a.cost == Approx(out->usage.cost));
  auto meta = nlohmann::json::parse(a.metadata);
  CHECK(meta["model"] == "echo");
  CHECK(meta["prompt_tokens"] == 8);
  CHECK(meta["completion_tokens"] == 4);
  CHECK(meta["reply_to"] == out->user_message->id);
  CHECK(out->conversation.total_messages == 2);
  CHECK(out->conversation.total_tokens == 4);

  auto stored = all_messages(f, c);
  REQUIRE(stored.size() == 2);
  CHECK(stored[1].id == a.id);
  CHECK(stored[1].content == a.content);
  CHECK(stored[1].tokens_used == 4);
}

TEST_CASE("service: reply builds the context from the agent, initial context and history", "[service]") {
  auto provider = std::make_shared<ScriptedProvider>();
  ServiceOptions o;
  o.default_model = "default-model";
  Fixture f(o, provider);
  Agent agent;
  agent.name = "Coach";
  agent.system_prompt = "You coach resumes.";
  agent.model = "coach-model";
  auto a = f.svc->put_agent(kAdmin, agent);
  REQUIRE(a.ok());

  NewConversation nc;
  nc.kind = ConversationKind::kSupport;
  nc.initial_context = "RESUME: ten years of C++";
  nc.agent_id = a->id;
  auto c = f.svc->create_conversation(kAlice, nc);
  REQUIRE(c.ok());
  f.post(kAlice, *c, "first question");
  f.post(kAgent, *c, "an agent answer", Role::kAgent);
  f.post(kAdmin, *c, "system note", Role::kSystem);

  ReplyRequest r;
  r.content = "second question";
  auto out = f.svc->reply(kAlice, key(*c), r);
  REQUIRE(out.ok());
  auto req = provider->last_request();
  CHECK(req.model == "coach-model");
  REQUIRE(req.messages.size() == 5);
  CHECK(req.messages[0].role == Role::kSystem);
  CHECK(req.messages[0].content == "You coach resumes.");
  CHECK(req.messages[1].role == Role::kSystem);
  CHECK(req.messages[1].content == "RESUME: ten years of C++");
  CHECK(req.messages[2].content == "first question");
  CHECK(req.messages[3].role == Role::kAgent);
  CHECK(req.messages[4].content == "second question");

  // Usage not reported by the provider: the token counter estimates it.
  auto counter = make_estimating_token_counter();
  std::int64_t prompt = 0;
  for (const auto& t : req.messages) prompt += counter->count(t.content);
  CHECK(out->usage.prompt_tokens == prompt);
  CHECK(out->usage.completion_tokens == counter->count("Hello there friend"));

  // Request model wins; include_context=false sends only the system prompt and the message.
  ReplyRequest bare;
  bare.content = "just this";
  bare.model = "override-model";
  bare.include_context = false;
  REQUIRE(f.svc->reply(kAlice, key(*c), bare).ok());
  req = provider->last_request();
  CHECK(req.model == "override-model");
  REQUIRE(req.messages.size() == 2);
  CHECK(req.messages[0].content == "You coach resumes.");
  CHECK(req.messages[1].content == "just this");

  // Without an agent: the default prompt and model.
  const Conversation plain = f.create(kAlice);
  bare.model.clear();
  REQUIRE(f.svc->reply(kAlice, key(plain), bare).ok());
  req = provider->last_request();
  CHECK(req.model == "default-model");
  CHECK(req.messages[0].content == "You are a helpful assistant.");

  // An unknown agent_id: not found, nothing stored, provider not called.
  const int calls = provider->calls();
  const std::int64_t last = f.last_message_id();
  ReplyRequest unknown;
  unknown.content = "x";
  unknown.agent_id = a->id + 100;
  auto nf = f.svc->reply(kAlice, key(plain), unknown);
  REQUIRE_FALSE(nf.ok());
  CHECK(nf.error().code == ErrorCode::kNotFound);
  CHECK(provider->calls() == calls);
  CHECK(f.last_message_id() == last);
}

TEST_CASE("service: a message too long for the context window writes nothing", "[service]") {
  ServiceOptions o;
  o.context_tokens = 40;
  o.reply_tokens = 10;
  auto provider = std::make_shared<ScriptedProvider>();
  Fixture f(o, provider);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = std::string(200, 'x');  // 50 tokens by the estimate
  auto out = f.svc->reply(kAlice, key(c), r);
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().code == ErrorCode::kInvalidArgument);
  CHECK(out.error().field == "content");
  CHECK(provider->calls() == 0);
  CHECK(all_messages(f, c).empty());
}

TEST_CASE("service: reply_stream forwards chunks and stores their concatenation", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAnon, ConversationKind::kSession);
  ReplyRequest r;
  r.content = "tell me a story";
  std::vector<std::string> chunks;
  std::string assistant_uuid;
  std::int64_t user_id = 0;
  auto out = f.svc->reply_stream(kAnon, cap(c), r, [&](const StreamEvent& e) {
    chunks.emplace_back(e.chunk);
    assistant_uuid = std::string(e.assistant_uuid);
    REQUIRE(e.user_message != nullptr);
    user_id = e.user_message->id;
    // While streaming, the assistant row does not exist yet.
    CHECK_FALSE(f.svc->get_message(kAnon, MessageKey::of_uuid(assistant_uuid)).ok());
    return true;
  });
  REQUIRE(out.ok());
  CHECK(chunks == std::vector<std::string>{"Echo:", " tell", " me", " a", " story"});
  std::string joined;
  for (const auto& ch : chunks) joined += ch;
  CHECK(out->assistant_message.content == joined);
  CHECK(out->assistant_message.uuid == assistant_uuid);
  CHECK(out->assistant_message.status == MessageStatus::kComplete);
  CHECK(out->user_message->id == user_id);
  REQUIRE(out->assistant_message.processing_time.has_value());
  CHECK(out->assistant_message.tokens_used == 5);
  auto stored = f.svc->get_message(kAnon, MessageKey::of_uuid(assistant_uuid));
  REQUIRE(stored.ok());
  CHECK(stored->content == joined);
}

TEST_CASE("service: a cancelled stream stores the partial text with status failed", "[service]") {
  auto provider = std::make_shared<ScriptedProvider>();
  provider->chunks = {"one", " two", " three", " four"};
  Fixture f({}, provider);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = "count";
  int n = 0;
  auto out = f.svc->reply_stream(kAlice, key(c), r, [&](const StreamEvent&) { return ++n < 3; });
  REQUIRE(out.ok());
  CHECK(out->assistant_message.status == MessageStatus::kFailed);
  CHECK(out->assistant_message.content == "one two");  // the chunks the client accepted
  auto meta = nlohmann::json::parse(out->assistant_message.metadata);
  CHECK(meta["finish_reason"] == "cancelled");
  auto stored = all_messages(f, c);
  REQUIRE(stored.size() == 2);
  CHECK(stored[1].status == MessageStatus::kFailed);
  CHECK(stored[1].content == "one two");

  // The failed answer is not context for the next reply.
  ReplyRequest next;
  next.content = "again";
  REQUIRE(f.svc->reply(kAlice, key(c), next).ok());
  auto req = provider->last_request();
  for (const auto& t : req.messages) CHECK(t.content != "one two");
}

TEST_CASE("service: a provider error before any output stores no answer, a retry regenerates", "[service]") {
  auto provider = std::make_shared<ScriptedProvider>();
  provider->fail_before = true;
  Fixture f({}, provider);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = "are you there?";
  r.client_id = "q-1";
  for (bool stream : {false, true}) {
    INFO("stream " << stream);
    auto out = stream ? f.svc->reply_stream(kAlice, key(c), r, [](const StreamEvent&) { return true; })
                      : f.svc->reply(kAlice, key(c), r);
    REQUIRE_FALSE(out.ok());
    CHECK(out.error().code == ErrorCode::kUnavailable);
    auto stored = all_messages(f, c);
    REQUIRE(stored.size() == 1);  // the user message, stored once
    CHECK(stored[0].role == Role::kUser);
    CHECK(stored[0].client_id == "q-1");
  }
  provider->fail_before = false;
  auto retry = f.svc->reply(kAlice, key(c), r);
  REQUIRE(retry.ok());
  CHECK(retry->assistant_message.content == "Hello there friend");
  CHECK(provider->calls() == 3);
  auto stored = all_messages(f, c);
  REQUIRE(stored.size() == 2);
  CHECK(retry->user_message->id == stored[0].id);
}

TEST_CASE("service: a provider error mid-stream stores the partial answer as failed", "[service]") {
  auto provider = std::make_shared<ScriptedProvider>();
  provider->chunks = {"alpha", " beta", " gamma"};
  provider->fail_after = 2;
  Fixture f({}, provider);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = "go";
  std::string seen;
  auto out = f.svc->reply_stream(kAlice, key(c), r, [&](const StreamEvent& e) {
    seen += e.chunk;
    return true;
  });
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().code == ErrorCode::kUpstream);
  auto stored = all_messages(f, c);
  REQUIRE(stored.size() == 2);
  CHECK(stored[1].role == Role::kAssistant);
  CHECK(stored[1].status == MessageStatus::kFailed);
  CHECK(stored[1].content == "alpha beta");
  CHECK(stored[1].content == seen);
}

TEST_CASE("service: an idempotent reply retry does not call the provider twice", "[service]") {
  auto provider = std::make_shared<ScriptedProvider>();
  provider->report_usage = true;
  provider->reported_prompt = 11;
  provider->reported_completion = 7;
  Fixture f({}, provider);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = "once only";
  r.client_id = "idem-1";
  auto first = f.svc->reply(kAlice, key(c), r);
  REQUIRE(first.ok());
  CHECK(first->usage.prompt_tokens == 11);
  CHECK(first->usage.completion_tokens == 7);
  auto second = f.svc->reply(kAlice, key(c), r);
  REQUIRE(second.ok());
  std::vector<std::string> replayed_chunks;
  std::string replayed_uuid;
  auto third = f.svc->reply_stream(kAlice, key(c), r, [&](const StreamEvent& e) {
    replayed_chunks.emplace_back(e.chunk);
    replayed_uuid = std::string(e.assistant_uuid);
    return true;
  });
  REQUIRE(third.ok());
  CHECK(replayed_chunks == std::vector<std::string>{"Hello there friend"});
  CHECK(replayed_uuid == first->assistant_message.uuid);
  CHECK(provider->calls() == 1);
  CHECK(second->assistant_message.id == first->assistant_message.id);
  CHECK(third->assistant_message.id == first->assistant_message.id);
  CHECK(second->user_message->id == first->user_message->id);
  CHECK(second->usage.prompt_tokens == 11);
  CHECK(second->usage.completion_tokens == 7);
  CHECK(all_messages(f, c).size() == 2);

  // Same client_id, different content: conflict, nothing stored.
  ReplyRequest other = r;
  other.content = "something else";
  auto conflict = f.svc->reply(kAlice, key(c), other);
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.error().code == ErrorCode::kConflict);
  CHECK(conflict.error().field == "client_id");
  CHECK(all_messages(f, c).size() == 2);
  CHECK(provider->calls() == 1);
}

TEST_CASE("service: reply without content answers the conversation as it stands", "[service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  f.post(kAlice, c, "what time is it");
  ReplyRequest r;
  auto out = f.svc->reply(kAlice, key(c), r);
  REQUIRE(out.ok());
  CHECK_FALSE(out->user_message.has_value());
  CHECK(out->assistant_message.content == "Echo: what time is it");
  CHECK(all_messages(f, c).size() == 2);
}

TEST_CASE("service: unknown models cost nothing, a throwing stream consumer cancels", "[service]") {
  ServiceOptions o;
  o.prices = {{"some-other-model", 100.0, 100.0}};
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = "price check";
  auto out = f.svc->reply(kAlice, key(c), r);
  REQUIRE(out.ok());
  CHECK(out->usage.cost == 0);
  CHECK(out->assistant_message.cost == 0);

  int calls = 0;
  auto thrown = f.svc->reply_stream(kAlice, key(c), r, [&](const StreamEvent&) -> bool {
    if (++calls == 2) throw std::runtime_error("client went away");
    return true;
  });
  REQUIRE(thrown.ok());
  CHECK(thrown->assistant_message.status == MessageStatus::kFailed);
  CHECK(thrown->assistant_message.content == "Echo:");
}

TEST_CASE("service: a provider's broken UTF-8 is stored repaired", "[service]") {
  auto provider = std::make_shared<ScriptedProvider>();
  provider->chunks = {"caf\xC3", "\xA9 ok", " \xFF"};
  Fixture f({}, provider);
  const Conversation c = f.create(kAlice);
  ReplyRequest r;
  r.content = "hi";
  auto out = f.svc->reply_stream(kAlice, key(c), r, [](const StreamEvent&) { return true; });
  REQUIRE(out.ok());
  // A character split across chunks is fine; the stray byte is replaced.
  CHECK(out->assistant_message.content == "caf\xC3\xA9 ok \xEF\xBF\xBD");
}
