// Changes made through other stores on the same database (issue 13): the
// service registers a change listener on its store, wakes long-polls and
// event streams on an ExternalChange, wakes everything on conversation 0,
// delivers typing from other instances, sends its own typing through
// Store::publish_ephemeral (best effort) and removes its listener when it
// is destroyed. The store here is a fake standing for PostgreSQL: writes go
// straight into the inner store (as another chatd would commit them), then
// the test fires the notice the real store would deliver.
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "service/event_hub.hpp"
#include "service/service_fixture.hpp"
#include "service/typing_notice.hpp"
#include "store/forwarding_store.hpp"

using namespace svc_test;
using chat::testing::ForwardingStore;
using namespace std::chrono_literals;

namespace {

// A store on a "shared database": keeps the service's listener, lets the test
// fire notices, and hands what the service publishes to `peer` (another
// instance's store), or fails it.
class SharedDbStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  void set_change_listener(ChangeListener listener) override {
    std::lock_guard lock(mu_);
    listener_ = std::move(listener);
    ++listener_sets_;
  }
  Status publish_ephemeral(std::int64_t conversation_id, std::string_view payload) override {
    if (fail_publish) return Error::unavailable("the database is gone");
    {
      std::lock_guard lock(mu_);
      published_.emplace_back(conversation_id, std::string(payload));
    }
    if (peer != nullptr) peer->fire(ExternalChange{conversation_id, std::string(payload)});
    return {};
  }
  Result<Page<Message>> list_messages(std::int64_t id, const MessageQuery& q) override {
    ++message_reads;
    return ForwardingStore::list_messages(id, q);
  }

  // What the real store's notice thread does.
  void fire(const ExternalChange& change) {
    std::lock_guard lock(mu_);
    if (listener_) listener_(change);
  }
  bool has_listener() {
    std::lock_guard lock(mu_);
    return static_cast<bool>(listener_);
  }
  int listener_sets() {
    std::lock_guard lock(mu_);
    return listener_sets_;
  }
  std::vector<std::pair<std::int64_t, std::string>> published() {
    std::lock_guard lock(mu_);
    return published_;
  }

  SharedDbStore* peer = nullptr;
  std::atomic<bool> fail_publish{false};
  std::atomic<int> message_reads{0};

 private:
  std::mutex mu_;
  ChangeListener listener_;
  int listener_sets_ = 0;
  std::vector<std::pair<std::int64_t, std::string>> published_;
};

// One "instance": a service over a SharedDbStore around a store it may share
// with another instance.
struct Instance {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(from_millis(kStartMs));
  std::shared_ptr<SharedDbStore> store;
  std::unique_ptr<ChatService> svc;

  explicit Instance(std::shared_ptr<Store> database) : store(std::make_shared<SharedDbStore>(std::move(database))) {
    ServiceDeps deps;
    deps.store = store;
    deps.clock = clock;
    auto made = make_chat_service(deps);
    REQUIRE(made.ok());
    svc = std::move(made).value();
  }

  Conversation create(const Principal& who) {
    NewConversation c;
    c.kind = ConversationKind::kSupport;
    c.title = "t";
    auto r = svc->create_conversation(who, c);
    REQUIRE(r.ok());
    return *r;
  }
  // A message committed by "another instance": straight into the database,
  // no publish on this service's hub.
  Message commit_elsewhere(const Conversation& c, std::string content) {
    NewMessage m;
    m.role = Role::kUser;
    m.content = std::move(content);
    auto r = store->inner().append_message(c.id, m, clock->now());
    REQUIRE(r.ok());
    return r->message;
  }
  // Waits (generously) until a long-poll has read the store at least `n` times.
  void wait_reads(int n) {
    for (int i = 0; i < 2000 && store->message_reads.load() < n; ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(store->message_reads.load() >= n);
  }
};

// The run's store stands for the shared database.
std::shared_ptr<Store> memory_database() { return open_service_store(); }

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
  bool wait_for(const std::function<bool()>& done) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 20s, done);
  }
};

using Waited = Result<std::vector<Message>>;

std::future<Waited> long_poll(Instance& in, const Conversation& c, std::int64_t after) {
  return std::async(std::launch::async,
                    [&in, c, after] { return in.svc->wait_for_messages(kAnon, cap(c), after, 60s); });
}

}  // namespace

TEST_CASE("external change: the service listens from construction and stops before it is destroyed",
          "[service][external]") {
  auto db = memory_database();
  auto in = std::make_unique<Instance>(db);
  auto store = in->store;
  CHECK(store->has_listener());
  CHECK(store->listener_sets() == 1);
  in.reset();
  CHECK_FALSE(store->has_listener());
  CHECK(store->listener_sets() == 2);
  store->fire(ExternalChange{1, {}});  // nobody there: nothing happens
}

TEST_CASE("external change: a long-poll wakes on another instance's commit", "[service][external][wait]") {
  Instance in(memory_database());
  const Conversation c = in.create(kAnon);
  auto waited = long_poll(in, c, 0);
  in.wait_reads(1);
  const Message m = in.commit_elsewhere(c, "from instance B");
  // The commit alone does not wake it: this hub knows nothing of it.
  CHECK(waited.wait_for(200ms) == std::future_status::timeout);
  in.store->fire(ExternalChange{c.id, {}});
  REQUIRE(waited.wait_for(30s) == std::future_status::ready);
  const Waited r = waited.get();
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK(r->front().id == m.id);
  CHECK(r->front().content == "from instance B");
}

TEST_CASE("external change: an event stream reads the events another instance committed",
          "[service][external][events]") {
  Instance in(memory_database());
  const Conversation c = in.create(kAnon);
  Recorder rec;
  auto opened = in.svc->open_event_stream(kAnon, cap(c), std::nullopt, rec.listener());
  REQUIRE(opened.ok());
  auto stream = std::move(opened).value();
  const Message m = in.commit_elsewhere(c, "hello from B");
  in.store->fire(ExternalChange{c.id, {}});
  REQUIRE(rec.wait_for([&] { return rec.changes >= 1; }));
  auto page = stream->read(100);
  REQUIRE(page.ok());
  REQUIRE(page->events.size() == 1);
  CHECK(page->events[0].type == EventType::kMessageCreated);
  REQUIRE(page->events[0].message);
  CHECK(page->events[0].message->id == m.id);
  // Another conversation's notice is not this stream's.
  const Conversation other = in.create(kAnon);
  in.store->fire(ExternalChange{other.id, {}});
  std::lock_guard lock(rec.mu);
  CHECK(rec.changes == 1);
}

TEST_CASE("external change: conversation 0 wakes every long-poll and stream", "[service][external][events]") {
  Instance in(memory_database());
  const Conversation a = in.create(kAnon);
  const Conversation b = in.create(kAnon);
  const Conversation s = in.create(kAnon);
  Recorder rec;
  auto opened = in.svc->open_event_stream(kAnon, cap(s), std::nullopt, rec.listener());
  REQUIRE(opened.ok());
  auto stream = std::move(opened).value();
  auto wa = long_poll(in, a, 0);
  auto wb = long_poll(in, b, 0);
  in.wait_reads(2);
  const Message ma = in.commit_elsewhere(a, "a");
  const Message mb = in.commit_elsewhere(b, "b");
  const Message ms = in.commit_elsewhere(s, "s");
  in.store->fire(ExternalChange{0, {}});
  REQUIRE(wa.wait_for(30s) == std::future_status::ready);
  REQUIRE(wb.wait_for(30s) == std::future_status::ready);
  const Waited ra = wa.get();
  const Waited rb = wb.get();
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  REQUIRE(ra->size() == 1);
  REQUIRE(rb->size() == 1);
  CHECK(ra->front().id == ma.id);
  CHECK(rb->front().id == mb.id);
  REQUIRE(rec.wait_for([&] { return rec.changes >= 1; }));
  auto page = stream->read(100);
  REQUIRE(page.ok());
  REQUIRE(page->events.size() == 1);
  CHECK(page->events[0].message->id == ms.id);
}

TEST_CASE("external change: typing travels to the other instance's streams, best effort",
          "[service][external][events]") {
  auto db = memory_database();
  Instance a(db);
  Instance b(db);
  a.store->peer = b.store.get();
  const Conversation c = a.create(kAnon);
  Recorder rec;
  auto opened = b.svc->open_event_stream(kAgent, key(c), std::nullopt, rec.listener());
  REQUIRE(opened.ok());
  auto stream = std::move(opened).value();

  a.clock->set(from_millis(kStartMs + 1234));
  REQUIRE(a.svc->send_typing(kAgent, key(c), true).ok());
  REQUIRE(a.svc->send_typing(kAnon, cap(c), false).ok());
  REQUIRE(rec.wait_for([&] { return rec.ephemeral.size() >= 2; }));
  {
    std::lock_guard lock(rec.mu);
    const Event& e = rec.ephemeral[0];
    CHECK(e.id == 0);
    CHECK(e.type == EventType::kTyping);
    CHECK(e.conversation_id == c.id);
    CHECK(e.at == from_millis(kStartMs + 1234));
    REQUIRE(e.typing);
    CHECK(e.typing->user_id == "agent-1");
    CHECK(e.typing->role == Role::kAgent);
    CHECK(e.typing->active);
    REQUIRE(rec.ephemeral[1].typing);
    CHECK(rec.ephemeral[1].typing->user_id.empty());
    CHECK(rec.ephemeral[1].typing->role == Role::kUser);
    CHECK_FALSE(rec.ephemeral[1].typing->active);
    CHECK(rec.changes == 0);  // typing is no change
  }
  CHECK(a.store->published().size() == 2);

  // A notice that is not a typing notice is dropped, not delivered.
  b.store->fire(ExternalChange{c.id, "not a typing notice"});
  b.store->fire(ExternalChange{c.id, "t1;1;x;5;someone"});
  // A failing publish does not fail the typing call, and the local streams still get it.
  Recorder local;
  auto local_opened = a.svc->open_event_stream(kAgent, key(c), std::nullopt, local.listener());
  REQUIRE(local_opened.ok());
  auto local_stream = std::move(local_opened).value();
  a.store->fail_publish = true;
  CHECK(a.svc->send_typing(kAgent, key(c), true).ok());
  REQUIRE(local.wait_for([&] { return local.ephemeral.size() == 1; }));
  std::lock_guard lock(rec.mu);
  CHECK(rec.ephemeral.size() == 2);
}

TEST_CASE("typing notice: encodes compactly and decodes back, refuses anything else", "[service][external]") {
  using chat::detail::decode_typing_notice;
  using chat::detail::encode_typing_notice;
  Event e;
  e.type = EventType::kTyping;
  e.at = from_millis(kStartMs);
  e.typing = Typing{"user;with;semicolons", Role::kAgent, false};
  const std::string text = encode_typing_notice(e);
  CHECK(text == "t1;0;a;1719655200000;user;with;semicolons");
  auto back = decode_typing_notice(7, text);
  REQUIRE(back);
  CHECK(back->conversation_id == 7);
  CHECK(back->id == 0);
  CHECK(back->at == e.at);
  REQUIRE(back->typing);
  CHECK(back->typing->user_id == "user;with;semicolons");
  CHECK(back->typing->role == Role::kAgent);
  CHECK_FALSE(back->typing->active);
  for (const char* bad : {"", "t1;", "t2;1;u;5;x", "t1;2;u;5;x", "t1;1;u;;x", "t1;1;u;5x;x", "t1;1;u;5"})
    CHECK_FALSE(decode_typing_notice(7, bad));
  CHECK(decode_typing_notice(7, "t1;1;u;5;")->typing->user_id.empty());
}

TEST_CASE("event hub: publish_all moves every version, wakes every waiter, calls every subscriber",
          "[events]") {
  chat::detail::EventHub hub;
  auto w1 = hub.watch(1);
  auto w2 = hub.watch(2);
  const auto v1 = w1.version();
  const auto v2 = w2.version();
  const auto unwatched = hub.version(99);
  std::vector<std::int64_t> called;
  auto sub = hub.subscribe(3, [&](const chat::detail::HubEvent& e) { called.push_back(e.conversation_id); });
  auto waiter = std::async(std::launch::async, [&] {
    return w1.wait_for_change(v1, std::chrono::steady_clock::now() + 30s);
  });
  hub.publish_all();
  REQUIRE(waiter.wait_for(30s) == std::future_status::ready);
  CHECK(waiter.get());
  CHECK(w1.version() != v1);
  CHECK(w2.version() != v2);
  CHECK(hub.version(99) != unwatched);  // no slot: the sequence moved
  CHECK(called == std::vector<std::int64_t>{3});
}
