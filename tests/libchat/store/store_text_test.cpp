// The Store contract for text in filters (issue 10), on every factory of
// store_factories(): every search or filter text follows chat::check_filter_text
// (a NUL or other control character is kInvalidArgument naming the field,
// never a pattern cut short or a storage error), substring filters compare
// without case by chat::fold_case (Unicode, not ASCII only), and full-text
// search folds case across scripts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "chat/store.hpp"
#include "chat/text.hpp"
#include "store/store_fixture.hpp"

using namespace chat;
using namespace std::string_literals;
using chat::testing::open_test_store;
using chat::testing::store_factories;
using chat::testing::TempDir;

namespace {

Timestamp at(std::int64_t seconds) { return from_millis(1'700'000'000'000LL + seconds * 1000); }

template <typename T>
void check_refused(const Result<T>& r, const std::string& field) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
  CHECK(r.error().field == field);
}

// Texts in several scripts, each once in upper and once in lower case where it matters.
const std::vector<std::string> kTexts{
    "alpha beta",                 // 0
    "beta max",                   // 1
    "Über die Straße",            // 2
    "U\u0308BER ALLES",           // 3 decomposed Ü
    "ПРИВЕТ мир",                 // 4 Cyrillic
    "ΣΊΣΥΦΟΣ και Νέμεσις",        // 5 Greek, final sigma
    "Ärztin-Termin am Montag",    // 6
    "ÉCOLE normale",              // 7
    "100% sure_thing",            // 8
};

}  // namespace

TEST_CASE("store text: list_messages search refuses NUL and controls, folds Unicode case", "[store][text]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  NewConversation nc;
  nc.user_id = "u1";
  auto conv = store->create_conversation(nc, at(0))->id;
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < kTexts.size(); ++i) {
    NewMessage m;
    m.role = Role::kUser;
    m.content = kTexts[i];
    ids.push_back(store->append_message(conv, m, at(static_cast<std::int64_t>(i) + 1))->message.id);
  }
  auto found = [&](std::string search) {
    MessageQuery q;
    q.search = std::move(search);
    auto p = store->list_messages(conv, q);
    REQUIRE(p.ok());
    std::vector<std::int64_t> out;
    for (const auto& m : p->items) out.push_back(m.id);
    CHECK(p->total == static_cast<std::int64_t>(out.size()));
    return out;
  };
  auto refused = [&](std::string search) {
    MessageQuery q;
    q.search = std::move(search);
    check_refused(store->list_messages(conv, q), "search");
  };

  SECTION("NUL and other control characters are refused, not cut") {
    refused("beta\0"s);  // was: matched "beta" (the pattern ended at the NUL)
    refused("\0"s);      // was: matched everything
    refused("a\x01"s);
    refused("\x7f"s);
    refused("\xFF");  // not UTF-8
    refused(std::string(kMaxFilterTextBytes + 1, 'a'));
    CHECK(found("beta") == std::vector<std::int64_t>{ids[0], ids[1]});
  }
  SECTION("case folds across scripts, with full folding and NFC") {
    CHECK(found("über") == std::vector<std::int64_t>{ids[2], ids[3]});
    CHECK(found("ÜBER") == std::vector<std::int64_t>{ids[2], ids[3]});
    CHECK(found("u\u0308ber") == std::vector<std::int64_t>{ids[2], ids[3]});
    CHECK(found("STRASSE") == std::vector<std::int64_t>{ids[2]});
    CHECK(found("straße") == std::vector<std::int64_t>{ids[2]});
    CHECK(found("привет") == std::vector<std::int64_t>{ids[4]});
    CHECK(found("σίσυφος") == std::vector<std::int64_t>{ids[5]});
    CHECK(found("ärztin") == std::vector<std::int64_t>{ids[6]});
    CHECK(found("école") == std::vector<std::int64_t>{ids[7]});
  }
  SECTION("the needle is literal: no wildcard, quote or operator means anything") {
    CHECK(found("%") == std::vector<std::int64_t>{ids[8]});
    CHECK(found("_") == std::vector<std::int64_t>{ids[8]});
    CHECK(found("' OR 1=1 --").empty());
    CHECK(found("a%b").empty());
  }
}

TEST_CASE("store text: list_conversations search refuses NUL, folds Unicode case, exact filters are literal",
          "[store][text]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  auto make = [&](std::string title, std::string external = {}) {
    NewConversation nc;
    nc.kind = ConversationKind::kSession;
    nc.user_id = "u1";
    nc.title = std::move(title);
    nc.external_user_id = std::move(external);
    return store->create_conversation(nc, at(1))->id;
  };
  auto a = make("Ärztin-Sprechstunde");
  auto b = make("Straße", "MÜLLER");
  auto c = make("ΣΊΣΥΦΟΣ");
  auto d = make("alpha beta");
  auto found = [&](std::string search) {
    ConversationQuery q;
    q.search = std::move(search);
    auto p = store->list_conversations(q);
    REQUIRE(p.ok());
    std::vector<std::int64_t> out;
    for (const auto& conv : p->items) out.push_back(conv.id);
    std::sort(out.begin(), out.end());
    return out;
  };
  for (const std::string& bad : {"beta\0"s, "\0"s, "\x1b[0m"s, "\xC3"s}) {
    ConversationQuery q;
    q.search = bad;
    check_refused(store->list_conversations(q), "search");
  }
  CHECK(found("ärztin") == std::vector<std::int64_t>{a});
  CHECK(found("STRASSE") == std::vector<std::int64_t>{b});
  CHECK(found("müller") == std::vector<std::int64_t>{b});  // external_user_id
  CHECK(found("σίσυφος") == std::vector<std::int64_t>{c});
  CHECK(found("BETA") == std::vector<std::int64_t>{d});
  // Exact-match filters compare bytes, NUL included: nothing matches, nothing fails.
  ConversationQuery q;
  q.external_user_id = "MÜLLER\0x"s;
  auto p = store->list_conversations(q);
  REQUIRE(p.ok());
  CHECK(p->total == 0);
  q.external_user_id = "MÜLLER";
  CHECK(store->list_conversations(q)->total == 1);
}

TEST_CASE("store text: full-text search refuses NUL (never internal) and folds case across scripts",
          "[store][text]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  NewConversation nc;
  nc.user_id = "u1";
  auto conv = store->create_conversation(nc, at(0))->id;
  std::vector<std::int64_t> ids;
  for (const auto& text : kTexts) {
    NewMessage m;
    m.role = Role::kUser;
    m.content = text;
    ids.push_back(store->append_message(conv, m, at(1))->message.id);
  }
  auto found = [&](std::string text) {
    SearchQuery q;
    q.text = std::move(text);
    auto p = store->search_messages(q);
    REQUIRE(p.ok());
    std::vector<std::int64_t> out;
    for (const auto& h : p->items) out.push_back(h.message.id);
    std::sort(out.begin(), out.end());
    return out;
  };
  for (const std::string& bad : {"hello\0"s, "\0"s, "beta\x01"s, "\"\0\""s, "\xFF"s}) {
    SearchQuery q;
    q.text = bad;
    check_refused(store->search_messages(q), "query");
  }
  CHECK(found("über") == std::vector<std::int64_t>{ids[2], ids[3]});
  CHECK(found("ÜBER") == std::vector<std::int64_t>{ids[2], ids[3]});
  CHECK(found("ärztin") == std::vector<std::int64_t>{ids[6]});
  CHECK(found("ÄRZTIN") == std::vector<std::int64_t>{ids[6]});
  CHECK(found("привет") == std::vector<std::int64_t>{ids[4]});
  CHECK(found("МИР") == std::vector<std::int64_t>{ids[4]});
  CHECK(found("νέμεσις") == std::vector<std::int64_t>{ids[5]});
  CHECK(found("école") == std::vector<std::int64_t>{ids[7]});
  // Full case folding, not only simple case: the index holds chat::fold_case text.
  CHECK(found("STRASSE") == std::vector<std::int64_t>{ids[2]});
  CHECK(found("straße") == std::vector<std::int64_t>{ids[2]});
  CHECK(found("σίσυφος") == std::vector<std::int64_t>{ids[5]});
  // An edit is reindexed folded too.
  MessagePatch patch;
  patch.content = "Grüße aus GIESSEN";
  REQUIRE(store->update_message(ids[8], patch, AuditContext{"u1", at(2)}).ok());
  CHECK(found("grüsse") == std::vector<std::int64_t>{ids[8]});
  CHECK(found("Gießen") == std::vector<std::int64_t>{ids[8]});
  CHECK(found("sure_thing").empty());
  // Words split at any White_Space, as at a space: U+00A0 and U+3000 separate words.
  CHECK(found("alpha\u00a0beta") == std::vector<std::int64_t>{ids[0]});
  CHECK(found("beta\u3000max") == std::vector<std::int64_t>{ids[1]});
}

// Issue 13 (a black-box test): a lookup by text that no stored value can
// equal, NUL or bytes that are not UTF-8 (a path segment "%ff"), answers
// kNotFound on every store; the PostgreSQL store once answered its
// database's refusal (400) where SQLite answered 404.
TEST_CASE("store text: lookups by text no row can hold answer not found", "[store][text]") {
  auto factory = GENERATE(from_range(store_factories()));
  INFO(factory);
  TempDir dir;
  auto store = open_test_store(factory, dir);
  NewConversation nc;
  nc.handle = "h";
  auto conv = store->create_conversation(nc, at(0));
  REQUIRE(conv.ok());
  for (const std::string& text : {"\xff"s, "a\xc3"s, "\xed\xa0\x80"s, "h\0"s, "\0"s}) {
    INFO(text.size());
    CHECK(store->find_conversation_by_uuid(text, true).error().code == ErrorCode::kNotFound);
    CHECK(store->find_conversation_by_handle(text, true).error().code == ErrorCode::kNotFound);
    CHECK(store->find_message_by_uuid(text, true).error().code == ErrorCode::kNotFound);
    CHECK(store->find_message_by_client_id(conv->id, text).error().code == ErrorCode::kNotFound);
    CHECK(store->get_subject(text).error().code == ErrorCode::kNotFound);
    CHECK(store->get_profile(text).error().code == ErrorCode::kNotFound);
  }
}
