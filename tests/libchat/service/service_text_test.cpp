// ChatService text rules (issue 10): one blank rule (chat::is_blank, Unicode
// White_Space) for every required text, and one rule for search and filter
// text (chat::check_filter_text), whatever the route that calls.
#include <catch2/catch.hpp>

#include <string>

#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::string_literals;

namespace {

template <typename T>
void check_invalid(const Result<T>& r, const std::string& field) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
  CHECK(r.error().field == field);
}

// The blank inputs of issue 10, each refused where " " was.
const std::vector<std::string> kBlanks{" ", "\u00a0", "\u3000", "\u2003", "\u2028", "\u0085", "\v", "\f", " \u00a0\t"};

}  // namespace

TEST_CASE("service text: blank content, titles and questions are refused, nothing is stored", "[service][text]") {
  auto provider = std::make_shared<ScriptedProvider>();
  Fixture f({}, provider);
  auto c = f.create(kAlice);
  auto kept = f.post(kAlice, c, "kept");
  for (const auto& blank : kBlanks) {
    INFO("blank: " << blank);
    NewMessage m;
    m.role = Role::kUser;
    m.content = blank;
    check_invalid(f.svc->post_message(kAlice, cap(c), m), "content");
    MessagePatch p;
    p.content = blank;
    check_invalid(f.svc->edit_message(kAlice, MessageKey::of_id(kept.id), p), "content");
    ReplyRequest r;
    r.content = blank;
    check_invalid(f.svc->reply(kAlice, cap(c), r), "content");
    NewConversation nc;
    nc.type = blank;
    check_invalid(f.svc->create_conversation(kAlice, nc), "type");
    CoachStart s{"job-1", blank};
    check_invalid(f.svc->start_coach_session(kAlice, s), "question");
    SearchQuery q;
    q.text = blank;
    check_invalid(f.svc->search_messages(kAlice, q), "text");
  }
  CHECK(provider->calls() == 0);
  CHECK(f.last_message_id() == kept.id);
  CHECK(f.svc->get_message(kAlice, MessageKey::of_id(kept.id))->content == "kept");
  // Not blank: text with a visible character around the spaces, a zero-width space.
  CHECK(f.post(kAlice, c, "\u00a0x\u00a0").content == "\u00a0x\u00a0");
  CHECK(f.post(kAlice, c, "\u200b").content == "\u200b");
}

TEST_CASE("service text: search and filter text with control characters is refused, naming the field",
          "[service][text]") {
  Fixture f;
  auto c = f.create(kAlice);
  f.post(kAlice, c, "alpha beta");
  f.post(kAlice, c, "beta max");
  for (const std::string& bad : {"beta\0"s, "\0"s, "\x01"s, "\x7f"s}) {
    MessageQuery mq;
    mq.search = bad;
    check_invalid(f.svc->list_messages(kAlice, cap(c), mq), "search");
    ConversationQuery cq;
    cq.search = bad;
    check_invalid(f.svc->list_conversations(kAlice, cq), "search");
    SearchQuery sq;
    sq.text = "hello" + bad;
    check_invalid(f.svc->search_messages(kAlice, sq), "text");
  }
  MessageQuery mq;
  mq.search = "BETA";
  CHECK(f.svc->list_messages(kAlice, cap(c), mq)->total == 2);
}

TEST_CASE("service text: control characters are refused in stored text, tab and line ends are text",
          "[service][text]") {
  Fixture f;
  auto c = f.create(kAlice);
  for (const std::string& bad : {"a\0b"s, "\x1b[31mred"s, "\x7f"s, "bell\a"s}) {
    NewMessage m;
    m.content = bad;
    check_invalid(f.svc->post_message(kAlice, cap(c), m), "content");
    NewConversation nc;
    nc.title = bad;
    check_invalid(f.svc->create_conversation(kAlice, nc), "title");
    Subject s;
    s.id = "job" + bad;
    s.title = "t";
    check_invalid(f.svc->put_subject(kAlice, s), "id");
  }
  NewMessage fine;
  fine.content = "tab\tand\nlines\r\n";
  CHECK(f.svc->post_message(kAlice, cap(c), fine).ok());
  CHECK(f.svc->list_messages(kAlice, cap(c), {})->total == 1);
}

TEST_CASE("service text: a subject id given must not be blank", "[service][text]") {
  Fixture f;
  for (const auto& blank : kBlanks) {
    Subject s;
    s.id = blank;
    s.title = "t";
    check_invalid(f.svc->put_subject(kAlice, s), "id");
  }
  Subject generated;
  generated.title = "t";
  CHECK(f.svc->put_subject(kAlice, generated).ok());  // no id: one is generated
}

TEST_CASE("service text: a reply without content needs a user message to answer", "[service][text]") {
  Fixture f;
  auto c = f.create(kAlice);
  check_invalid(f.svc->reply(kAlice, cap(c), ReplyRequest{}), "content");
  CHECK(f.svc->list_messages(kAlice, cap(c), {})->total == 0);  // nothing stored
  f.post(kAlice, c, "hello");
  auto answered = f.svc->reply(kAlice, cap(c), ReplyRequest{});
  REQUIRE(answered.ok());
  CHECK(answered->assistant_message.content == "Echo: hello");
}
