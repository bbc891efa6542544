// Shared set-up of the service tests: the run's store (an in-memory SQLite
// store, or a fresh PostgreSQL database under CHAT_TEST_STORE=postgres:
// store/store_fixture.hpp), a manual clock, the echo provider (or a scripted
// fake) and a handful of principals.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chat/chat.hpp"
#include "store/store_fixture.hpp"

namespace svc_test {

using namespace chat;

inline const Principal kAlice = Principal::user("alice");
inline const Principal kBob = Principal::user("bob");
inline const Principal kAgent = Principal::agent("agent-1");
inline const Principal kAdmin = Principal::admin("root");
inline const Principal kAnon = Principal::anonymous();

// The run's store (see the header comment).
inline std::shared_ptr<Store> open_service_store() {
  return std::shared_ptr<Store>(chat::testing::open_default_test_store());
}

inline constexpr std::int64_t kStartMs = 1'719'655'200'000;  // 2024-06-29T10:00:00Z

// A provider whose behaviour each test scripts: the chunks it streams (and
// whose concatenation it completes with), and whether it fails, before any
// output or after `fail_after` chunks. Records calls and the last request.
class ScriptedProvider final : public LlmProvider {
 public:
  std::vector<std::string> chunks{"Hello", " there", " friend"};
  bool fail_before = false;
  int fail_after = -1;  // >= 0: fail after streaming this many chunks
  bool report_usage = false;
  std::int64_t reported_prompt = 0;
  std::int64_t reported_completion = 0;

  std::string_view name() const override { return "scripted"; }

  Result<Completion> complete(const CompletionRequest& request) override {
    record(request);
    if (fail_before) return Error{ErrorCode::kUnavailable, "provider down", {}};
    Completion c;
    for (const auto& ch : chunks) c.content += ch;
    fill(c, request);
    return c;
  }

  Result<Completion> stream(const CompletionRequest& request, const ChunkCallback& on_chunk) override {
    record(request);
    if (fail_before) return Error{ErrorCode::kUnavailable, "provider down", {}};
    Completion c;
    int sent = 0;
    for (const auto& ch : chunks) {
      if (fail_after >= 0 && sent == fail_after) return Error{ErrorCode::kUpstream, "provider broke", {}};
      if (!on_chunk(ch)) {
        c.finish_reason = "cancelled";
        break;
      }
      c.content += ch;
      ++sent;
    }
    if (fail_after >= 0 && sent == fail_after) return Error{ErrorCode::kUpstream, "provider broke", {}};
    fill(c, request);
    return c;
  }

  int calls() const { return calls_.load(); }
  CompletionRequest last_request() const {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  void record(const CompletionRequest& r) {
    ++calls_;
    std::lock_guard lock(mu_);
    last_ = r;
  }
  void fill(Completion& c, const CompletionRequest& r) const {
    c.model = r.model;
    if (c.finish_reason.empty()) c.finish_reason = "stop";
    c.usage_reported = report_usage;
    c.prompt_tokens = reported_prompt;
    c.completion_tokens = reported_completion;
  }

  std::atomic<int> calls_{0};
  mutable std::mutex mu_;
  CompletionRequest last_;
};

struct Fixture {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(from_millis(kStartMs));
  std::shared_ptr<Store> store;
  std::shared_ptr<LlmProvider> llm;
  std::unique_ptr<ChatService> svc;

  explicit Fixture(ServiceOptions options = {}, std::shared_ptr<LlmProvider> provider = nullptr) {
    store = std::shared_ptr<Store>(chat::testing::open_default_test_store());
    llm = provider ? provider : std::shared_ptr<LlmProvider>(make_echo_provider());
    ServiceDeps deps;
    deps.store = store;
    deps.llm = llm;
    deps.clock = clock;
    auto made = make_chat_service(deps, std::move(options));
    REQUIRE(made.ok());
    svc = std::move(made).value();
  }

  Conversation create(const Principal& who, ConversationKind kind = ConversationKind::kSupport,
                      std::string title = "t") {
    NewConversation c;
    c.kind = kind;
    c.title = std::move(title);
    auto r = svc->create_conversation(who, c);
    REQUIRE(r.ok());
    return *r;
  }

  Message post(const Principal& who, const Conversation& c, std::string content, Role role = Role::kUser,
               std::string client_id = {}) {
    NewMessage m;
    m.role = role;
    m.content = std::move(content);
    m.client_id = std::move(client_id);
    auto r = svc->post_message(who, ConversationKey::of_uuid(c.uuid), m);
    if (!r.ok()) FAIL("post failed: " << r.error().message);
    return r->message;
  }

  std::int64_t last_message_id() {
    auto r = store->last_message_id();
    REQUIRE(r.ok());
    return *r;
  }

  std::int64_t conversation_count() {
    ConversationQuery q;
    q.limit = 1;  // only the total matters
    auto r = svc->list_conversations(kAdmin, q);
    REQUIRE(r.ok());
    return r->total;
  }
};

// By integer id: reaches ownerless conversations for agents and admins only (chat/keys.hpp).
inline ConversationKey key(const Conversation& c) { return ConversationKey::of_id(c.id); }
// By uuid, a capability: reaches ownerless conversations for anyone.
inline ConversationKey cap(const Conversation& c) { return ConversationKey::of_uuid(c.uuid); }

}  // namespace svc_test
