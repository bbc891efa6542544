// ChatService::open_event_stream and send_typing (chat/events.hpp, issue 14):
// visibility, replay then live with no gap and no duplicate, replay from any
// point, typing, the end of a stream, trims and resets.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "service/event_hub.hpp"
#include "service/service_fixture.hpp"

using namespace svc_test;
using namespace std::chrono_literals;

namespace {

// Records what a stream's listener is told (on writers' threads).
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  int changes = 0;
  std::vector<Event> ephemeral;

  EventListener listener() {
    return EventListener{[this] {
                           std::lock_guard lock(mu);
                           ++changes;
                           cv.notify_all();
                         },
                         [this](const Event& e) {
                           std::lock_guard lock(mu);
                           ephemeral.push_back(e);
                           cv.notify_all();
                         }};
  }
  bool wait_changes(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 20s, [&] { return changes >= n; });
  }
  int change_count() {
    std::lock_guard lock(mu);
    return changes;
  }
};

std::unique_ptr<EventStream> open(Fixture& f, const Principal& who, const ConversationKey& k,
                                  std::optional<std::int64_t> after = 0, EventListener l = {}) {
  auto s = f.svc->open_event_stream(who, k, after, std::move(l));
  if (!s.ok()) FAIL("open_event_stream failed: " << s.error().message);
  return std::move(s).value();
}

// Every event readable now, in pages of `page`.
std::vector<Event> drain(EventStream& s, std::int64_t page = 1000) {
  std::vector<Event> out;
  for (;;) {
    auto p = s.read(page);
    REQUIRE(p.ok());
    REQUIRE_FALSE(p->reset);
    out.insert(out.end(), p->events.begin(), p->events.end());
    if (!p->has_more) return out;
  }
}

std::vector<EventType> types(const std::vector<Event>& es) {
  std::vector<EventType> out;
  for (const auto& e : es) out.push_back(e.type);
  return out;
}

// The same event, data included.
void check_same(const Event& a, const Event& b) {
  CHECK(a.id == b.id);
  CHECK(a.type == b.type);
  CHECK(a.at == b.at);
  CHECK(a.redacted == b.redacted);
  REQUIRE(a.message.has_value() == b.message.has_value());
  REQUIRE(a.conversation.has_value() == b.conversation.has_value());
  if (a.message) {
    CHECK(a.message->id == b.message->id);
    CHECK(a.message->content == b.message->content);
    CHECK(a.message->status == b.message->status);
    CHECK(a.message->metadata == b.message->metadata);
    CHECK(a.message->updated_at == b.message->updated_at);
  }
  if (a.conversation) {
    CHECK(a.conversation->title == b.conversation->title);
    CHECK(a.conversation->total_messages == b.conversation->total_messages);
    CHECK(a.conversation->updated_at == b.conversation->updated_at);
  }
}

}  // namespace

TEST_CASE("event stream: only who sees the conversation may open it", "[events][service]") {
  Fixture f;
  const Conversation mine = f.create(kAlice);
  const Conversation open_chat = f.create(kAnon);
  CHECK(f.svc->open_event_stream(kBob, key(mine), 0, {}).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->open_event_stream(kAlice, key(mine), 0, {}).ok());
  CHECK(f.svc->open_event_stream(kAdmin, key(mine), 0, {}).ok());
  // Ownerless: by its capability, anyone; by its guessable integer id, staff only.
  CHECK(f.svc->open_event_stream(kAnon, cap(open_chat), 0, {}).ok());
  CHECK(f.svc->open_event_stream(kAnon, key(open_chat), 0, {}).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->open_event_stream(kAgent, key(open_chat), 0, {}).ok());
  CHECK(f.svc->open_event_stream(kAlice, key(mine), -1, {}).error().field == "after_id");
  // Streams show live rows: a deleted conversation is nobody's, an admin's neither.
  REQUIRE(f.svc->delete_conversation(kAlice, key(mine)).ok());
  CHECK(f.svc->open_event_stream(kAlice, key(mine), 0, {}).error().code == ErrorCode::kNotFound);
  CHECK(f.svc->open_event_stream(kAdmin, key(mine), 0, {}).error().code == ErrorCode::kNotFound);
}

TEST_CASE("event stream: replay from after_id, then live through the listener", "[events][service]") {
  Fixture f;
  const Conversation c = f.create(kAnon);
  const Message m1 = f.post(kAnon, c, "one");
  const Message m2 = f.post(kAnon, c, "two");

  Recorder rec;
  auto s = open(f, kAnon, cap(c), 0, rec.listener());
  CHECK(s->conversation().id == c.id);
  auto replayed = drain(*s, 1);
  REQUIRE(types(replayed) ==
          std::vector{EventType::kConversationCreated, EventType::kMessageCreated, EventType::kMessageCreated});
  CHECK(replayed[1].message->id == m1.id);
  CHECK(replayed[2].message->content == "two");
  CHECK(s->cursor() >= replayed.back().id);
  CHECK(drain(*s).empty());
  CHECK(s->read(0).error().field == "limit");
  CHECK(s->read(1001).error().field == "limit");

  // A post from another thread calls changed(); the read returns it, once.
  const int before = rec.change_count();
  std::thread poster([&] {
    NewMessage m;
    m.role = Role::kAgent;
    m.content = "live";
    (void)f.svc->post_message(kAgent, key(c), m);
  });
  poster.join();
  REQUIRE(rec.wait_changes(before + 1));
  auto live = drain(*s);
  REQUIRE(live.size() == 1);
  CHECK(live[0].type == EventType::kMessageCreated);
  CHECK(live[0].message->content == "live");
  CHECK(live[0].message->id > m2.id);
  CHECK(drain(*s).empty());

  // Opened with no cursor: live only, from the head.
  auto tail = open(f, kAnon, cap(c), std::nullopt);
  CHECK(drain(*tail).empty());
  f.post(kAnon, c, "after the head");
  auto got = drain(*tail);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message->content == "after the head");

  // Destroyed: the listener is not called again.
  s.reset();
  const int after_close = rec.change_count();
  f.post(kAnon, c, "nobody listens");
  CHECK(rec.change_count() == after_close);
}

TEST_CASE("event stream: a replay from every point of a sequence is the suffix of the whole", "[events][service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  auto live_stream = open(f, kAlice, key(c), std::nullopt);
  std::vector<Event> live;
  auto step = [&] {
    f.clock->set(f.clock->now() + 1s);
    auto got = drain(*live_stream);
    live.insert(live.end(), got.begin(), got.end());
  };
  const Message a = f.post(kAlice, c, "a");
  step();
  const Message b = f.post(kAlice, c, "b");
  step();
  MessagePatch patch;
  patch.content = "a, edited";
  REQUIRE(f.svc->edit_message(kAlice, MessageKey::of_id(a.id), patch).ok());
  step();
  REQUIRE(f.svc->delete_message(kAlice, MessageKey::of_id(b.id)).ok());
  step();
  REQUIRE(f.svc->clear_conversation(kAlice, key(c)).ok());
  step();
  REQUIRE(f.svc->restore_message(kAlice, MessageKey::of_id(a.id)).ok());
  step();
  ConversationPatch cp;
  cp.title = "renamed";
  REQUIRE(f.svc->update_conversation(kAlice, key(c), cp).ok());
  step();
  f.post(kAlice, c, "c");
  step();

  auto whole = drain(*open(f, kAlice, key(c), 0), 3);
  REQUIRE(types(whole) == std::vector{EventType::kConversationCreated, EventType::kMessageCreated,
                                      EventType::kMessageCreated, EventType::kMessageUpdated,
                                      EventType::kMessageDeleted, EventType::kConversationCleared,
                                      EventType::kMessageRestored, EventType::kConversationUpdated,
                                      EventType::kMessageCreated});
  // Read after the sequence, b is deleted: its events are redacted; a is back.
  CHECK(whole[2].redacted);
  CHECK_FALSE(whole[1].redacted);
  CHECK(whole[3].message->content == "a, edited");

  // What the live stream saw, in the same order with the same ids.
  REQUIRE(live.size() == whole.size() - 1);
  for (std::size_t i = 0; i < live.size(); ++i) {
    CHECK(live[i].id == whole[i + 1].id);
    CHECK(live[i].type == whole[i + 1].type);
  }

  for (std::size_t k = 0; k < whole.size(); ++k) {
    auto replay = drain(*open(f, kAlice, key(c), whole[k].id), 2);
    REQUIRE(replay.size() == whole.size() - k - 1);
    for (std::size_t i = 0; i < replay.size(); ++i) check_same(replay[i], whole[k + 1 + i]);
  }
}

TEST_CASE("event stream: typing reaches open streams only, stored nowhere, wakes no long-poll", "[events][service]") {
  Fixture f;
  const Conversation c = f.create(kAnon);
  const Message first = f.post(kAnon, c, "hi");
  Recorder rec;
  auto s = open(f, kAnon, cap(c), std::nullopt, rec.listener());
  const std::int64_t head = *f.store->last_event_id();

  // A long-poll waiting for messages keeps waiting through typing.
  std::atomic<bool> done{false};
  Result<std::vector<Message>> waited = std::vector<Message>();
  const auto t0 = std::chrono::steady_clock::now();
  std::thread poller([&] {
    waited = f.svc->wait_for_messages(kAnon, cap(c), first.id, 1500ms);
    done = true;
  });
  REQUIRE(f.svc->send_typing(kAnon, cap(c), true).ok());
  REQUIRE(f.svc->send_typing(kAgent, key(c), true).ok());
  REQUIRE(f.svc->send_typing(kAnon, cap(c), false).ok());
  poller.join();
  CHECK(std::chrono::steady_clock::now() - t0 >= 1000ms);
  REQUIRE(waited.ok());
  CHECK(waited->empty());

  {
    std::lock_guard lock(rec.mu);
    REQUIRE(rec.ephemeral.size() == 3);
    const Event& e = rec.ephemeral[0];
    CHECK(e.id == 0);
    CHECK(e.type == EventType::kTyping);
    CHECK(e.conversation_id == c.id);
    REQUIRE(e.typing);
    CHECK(e.typing->user_id.empty());
    CHECK(e.typing->role == Role::kUser);
    CHECK(e.typing->active);
    CHECK(rec.ephemeral[1].typing->user_id == "agent-1");
    CHECK(rec.ephemeral[1].typing->role == Role::kAgent);
    CHECK_FALSE(rec.ephemeral[2].typing->active);
    CHECK(rec.changes == 0);
  }
  CHECK(*f.store->last_event_id() == head);
  CHECK(drain(*s).empty());

  // Not visible: not found; not writable: gone.
  const Conversation hers = f.create(kAlice);
  CHECK(f.svc->send_typing(kBob, key(hers), true).error().code == ErrorCode::kNotFound);
  ConversationPatch off;
  off.is_active = false;
  REQUIRE(f.svc->update_conversation(kAlice, key(hers), off).ok());
  CHECK(f.svc->send_typing(kAlice, key(hers), true).error().code == ErrorCode::kGone);
}

TEST_CASE("event hub: an ephemeral publish reaches subscribers and moves no version", "[events]") {
  chat::detail::EventHub hub;
  auto w = hub.watch(5);
  const auto v = w.version();
  int calls = 0;
  const Event* seen = nullptr;
  auto sub = hub.subscribe(5, [&](const chat::detail::HubEvent& e) {
    ++calls;
    seen = e.ephemeral;
  });
  Event typing;
  typing.type = EventType::kTyping;
  hub.publish_ephemeral(5, typing);
  hub.publish_ephemeral(6, typing);  // nobody there
  CHECK(calls == 1);
  CHECK(seen == &typing);
  CHECK(w.version() == v);
  CHECK_FALSE(w.wait_for_change(v, std::chrono::steady_clock::now() + 20ms));
  hub.publish(5);
  CHECK(calls == 2);
  CHECK(seen == nullptr);
}

TEST_CASE("event stream: ends after conversation.deleted", "[events][service]") {
  Fixture f;
  const Conversation c = f.create(kAlice);
  auto s = open(f, kAlice, key(c), std::nullopt);
  f.post(kAlice, c, "soon gone");
  REQUIRE(f.svc->delete_conversation(kAlice, key(c)).ok());
  REQUIRE(f.svc->restore_conversation(kAdmin, key(c)).ok());
  auto p = s->read(100);
  REQUIRE(p.ok());
  REQUIRE(types(p->events) == std::vector{EventType::kMessageCreated, EventType::kConversationDeleted});
  CHECK_FALSE(p->has_more);
  CHECK(s->read(100).error().code == ErrorCode::kNotFound);
  // Resumed after it (the conversation is back): the rest follows.
  auto again = open(f, kAlice, key(c), p->events.back().id);
  CHECK(types(drain(*again)) == std::vector{EventType::kConversationRestored});

  // Deleted for good: the stream answers not found, even with nothing left to read.
  REQUIRE(f.svc->delete_conversation(kAlice, key(c)).ok());
  auto d = again->read(100);
  REQUIRE(d.ok());
  CHECK(types(d->events) == std::vector{EventType::kConversationDeleted});
  CHECK(again->read(100).error().code == ErrorCode::kNotFound);
}

TEST_CASE("event stream: the log is trimmed past event_retention, an old cursor resets", "[events][service]") {
  ServiceOptions o;
  o.event_retention = 1h;
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  const Conversation idle = f.create(kAlice);
  f.post(kAlice, c, "old");
  auto behind = open(f, kAlice, key(c), 0);
  auto idle_stream = open(f, kAlice, key(idle), std::nullopt);
  CHECK(drain(*idle_stream).empty());  // at the head

  f.clock->set(f.clock->now() + 2h);
  f.post(kAlice, c, "new");  // a write: the trim is due
  auto p = behind->read(100);
  REQUIRE(p.ok());
  CHECK(p->reset);
  CHECK(p->events.empty());
  CHECK(behind->cursor() == p->last_id);
  CHECK(drain(*behind).empty());
  f.post(kAlice, c, "newer");
  auto got = drain(*behind);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message->content == "newer");

  // The idle stream's cursor followed the head: nothing of its conversation
  // was trimmed, so no reset.
  CHECK(drain(*idle_stream).empty());
  f.clock->set(f.clock->now() + 2h);
  f.post(kAlice, c, "newest");
  auto q = idle_stream->read(100);
  REQUIRE(q.ok());
  CHECK_FALSE(q->reset);

  // The whole log of c now starts after the trimmed part.
  auto from_start = f.store->list_events(c.id, 0, 100);
  REQUIRE(from_start.ok());
  CHECK(from_start->reset);
}

TEST_CASE("event stream: event_retention 0 never trims, a negative one is refused", "[events][service]") {
  ServiceOptions bad;
  bad.event_retention = -1ms;
  ServiceDeps deps;
  deps.store = std::shared_ptr<Store>(std::move(open_memory_store()).value());
  CHECK(make_chat_service(deps, bad).error().field == "event_retention");

  ServiceOptions o;
  o.event_retention = 0ms;
  Fixture f(o);
  const Conversation c = f.create(kAlice);
  f.post(kAlice, c, "kept");
  f.clock->set(f.clock->now() + 24h * 365);
  f.post(kAlice, c, "a year later");
  auto all = f.store->list_events(c.id, 0, 100);
  REQUIRE(all.ok());
  CHECK_FALSE(all->reset);
  CHECK(all->events.size() == 3);
}

TEST_CASE("event stream: seed 000 quote chats stream their edits (streaming PATCH)", "[events][service]") {
  Fixture f;
  Subject job;
  job.title = "Fix the roof";
  auto subject = f.svc->put_subject(kAlice, job);
  REQUIRE(subject.ok());
  const auto quote = ConversationKey::of_subject(subject->id, ConversationKind::kQuote);
  auto s = open(f, kAlice, quote, std::nullopt);
  NewMessage m;
  m.role = Role::kAssistant;
  m.content = "Draft";
  m.status = MessageStatus::kStreaming;
  auto posted = f.svc->post_message(kAlice, quote, m);
  REQUIRE(posted.ok());
  MessagePatch p;
  p.content = "Draft, complete";
  p.status = MessageStatus::kComplete;
  // Read while streaming: the draft as it is then.
  auto first = drain(*s);
  REQUIRE(types(first) == std::vector{EventType::kMessageCreated});
  CHECK(first[0].message->status == MessageStatus::kStreaming);
  CHECK(first[0].message->content == "Draft");
  REQUIRE(f.svc->edit_message(kAlice, MessageKey::of_id(posted->message.id), p).ok());
  auto got = drain(*s);
  REQUIRE(types(got) == std::vector{EventType::kMessageUpdated});
  CHECK(got[0].message->content == "Draft, complete");
  CHECK(got[0].message->status == MessageStatus::kComplete);
  // A replay shows the message as it is now, in every event.
  auto replay = open(f, kAlice, quote, 0);
  auto all = drain(*replay);
  REQUIRE(all.size() >= 2);
  for (const auto& e : all)
    if (e.message) CHECK(e.message->content == "Draft, complete");
}

TEST_CASE("event stream: a cursor beyond the log opens at its head and reads a reset", "[events][service]") {
  Fixture f;
  const Conversation mine = f.create(kAlice);
  auto head = f.store->last_event_id();
  REQUIRE(head.ok());
  auto s = open(f, kAlice, key(mine), *head + 1'000'000);
  CHECK(s->cursor() == *head);  // never the bogus cursor: ids do not go backwards after it
  auto first = s->read(100);
  REQUIRE(first.ok());
  CHECK(first->reset);
  CHECK(first->events.empty());
  CHECK(s->cursor() == *head);
  // Then live as usual.
  NewMessage m;
  m.content = "after the reset";
  auto sent = f.svc->post_message(kAlice, key(mine), m);
  REQUIRE(sent.ok());
  auto next = drain(*s);
  REQUIRE(next.size() == 1);
  CHECK(next[0].message->content == "after the reset");
}
