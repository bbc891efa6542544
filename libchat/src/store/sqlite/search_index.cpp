#include "store/sqlite/search_index.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/text.hpp"
#include "store/sqlite/messages.hpp"
#include "store/sqlite/paging.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/scoped_tokenizer.hpp"

namespace chat::sqlite {

namespace {

// A message's index text (schema step 9, store/sqlite/scoped_tokenizer.hpp):
// its scopes (conversation "c<id>", owner "u<HEX(owner)>"), the separator,
// then its folded content; over messages m JOIN conversations c. The
// indexer and SearchIndex::search build the same scope names.
constexpr const char* kIndexTextSql = "'c' || c.id || ' u' || hex(c.user_id) || char(31) || chat_fold(m.content)";

std::string hex_of(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

// Newest in-scope matches that search ranks; see SearchIndex::search.
constexpr std::int64_t kSearchWindow = 1000;
// How often the indexer looks for a partial batch.
constexpr auto kIndexerPeriod = std::chrono::milliseconds(200);

// The length of the UTF-8 character starting at text[i] and whether it is
// White_Space (chat/text.hpp). The text is valid UTF-8 (checked before).
std::pair<std::size_t, bool> next_char(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (len == 1) return {1, is_white_space(c)};
  char32_t cp = c & (0x3F >> (len - 1));
  for (std::size_t k = 1; k < len && i + k < text.size(); ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  return {len, is_white_space(cp)};
}

// Plain words to FTS5 phrases: every token between White_Space characters
// becomes an FTS5 string ("" doubled inside), prefixed by `scope` (a scope
// name and the separator: the word's scoped form, or "" for the plain word);
// the query ANDs them. Operators,
// column filters, NEAR, '*' and quotes are thereby just text; a token with
// no indexable characters is an empty phrase, which FTS5 ignores. The text
// has passed check_filter_text: no NUL can end FTS5's reading of a string.
std::vector<std::string> fts_phrases(std::string_view text, std::string_view scope = {}) {
  std::vector<std::string> out;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto [len, space] = next_char(text, i);
    if (space) {
      if (in_word) out.back().push_back('"');
      in_word = false;
    } else {
      if (!in_word) out.emplace_back("content : \"").append(scope);
      in_word = true;
      if (text[i] == '"') out.back().push_back('"');
      out.back().append(text.substr(i, len));
    }
    i += len;
  }
  if (in_word) out.back().push_back('"');
  return out;
}

std::string join_phrases(const std::vector<std::string>& phrases) {
  std::string out;
  for (const auto& p : phrases) {
    if (!out.empty()) out.push_back(' ');
    out += p;
  }
  return out;
}

// chat_bm25(messages_fts, n_1, ..., n_k): FTS5's bm25 (k1 = 1.2, b = 0.75,
// over the content column: the phrases 1..k, the words), negated like bm25() so that smaller ranks first, with the
// number of rows matching each phrase passed in (n_i) instead of counted:
// bm25() counts them by visiting every match of every phrase once per query,
// which is the whole cost of a search for a common word. Without a count for
// every phrase, every IDF is 1 (ranking by term frequency and length).
void chat_bm25(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* out, int n_val, sqlite3_value** val) {
  constexpr double kK1 = 1.2;
  constexpr double kB = 0.75;
  constexpr int kMaxPhrases = 64;
  // Every phrase is a word (plain or in its scoped form, which counts the
  // same instances).
  const int all = std::min(api->xPhraseCount(fts), kMaxPhrases);
  const int phrases = std::min(all, n_val);
  sqlite3_int64 rows = 0;
  sqlite3_int64 tokens = 0;
  int dl = 0;
  int inst = 0;
  int rc = api->xRowCount(fts, &rows);
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, 0, &tokens);
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, 0, &dl);
  if (rc == SQLITE_OK) rc = api->xInstCount(fts, &inst);
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(out, rc);
    return;
  }
  int tf[kMaxPhrases] = {};
  for (int i = 0; i < inst; ++i) {
    int phrase = 0, col = 0, off = 0;
    if (api->xInst(fts, i, &phrase, &col, &off) == SQLITE_OK && col == 0 && phrase >= 0 && phrase < phrases)
      ++tf[phrase];
  }
  const double avgdl = rows > 0 && tokens > 0 ? static_cast<double>(tokens) / static_cast<double>(rows) : 1.0;
  const bool counted = n_val > 0 && n_val == phrases;
  double score = 0;
  for (int p = 0; p < phrases; ++p) {
    double idf = 1.0;
    if (counted) {
      const double hits = sqlite3_value_double(val[p]);
      idf = std::log((static_cast<double>(rows) - hits + 0.5) / (hits + 0.5));
      if (idf <= 0.0) idf = 1e-6;
    }
    score += idf * (tf[p] * (kK1 + 1.0)) / (tf[p] + kK1 * (1.0 - kB + kB * dl / avgdl));
  }
  sqlite3_result_double(out, -score);
}

}  // namespace

// ---- the indexer ----------------------------------------------------------------

Status SearchIndex::start() {
  return db_.with_writer<void>([&](Conn& w) -> Status {
    last_id_ = last_assigned_message_id(w);
    {
      auto s = w.prepare_static("SELECT last_indexed_id FROM fts_state WHERE id = 1");
      indexed_id_ = s->executeStep() ? s->getColumn(0).getInt64() : 0;
    }
    {
      auto s = w.prepare_static("SELECT EXISTS (SELECT 1 FROM fts_pending)");
      pending_edits_ = s->executeStep() && s->getColumn(0).getInt64() != 0;
    }
    thread_ = std::thread([this] { run(); });
    return {};
  });
}

void SearchIndex::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SearchIndex::appended(std::int64_t id) {
  // The hooks of a group run in commit order, so ids only grow; max() keeps
  // that true whatever the order.
  if (id > last_id_.load()) last_id_ = id;
  if (id - indexed_id_.load() >= db_.options().index_batch) cv_.notify_one();
}

bool SearchIndex::queue_edit(Conn& w, std::int64_t message_id) {
  auto s = w.prepare_static(
      "INSERT OR IGNORE INTO fts_pending (message_id) SELECT ?1 FROM fts_state "
      "WHERE id = 1 AND last_indexed_id >= ?1");
  s->bind(1, message_id);
  return s->exec() > 0;
}

Result<std::int64_t> SearchIndex::flush() {
  std::int64_t total = 0;
  for (;;) {
    CHAT_ASSIGN_OR_RETURN(const std::int64_t n, index_batch(db_.options().index_batch));
    if (n == 0) break;
    total += n;
  }
  return total;
}

Status SearchIndex::catch_up() {
  if (!behind()) return {};
  CHAT_RETURN_IF_ERROR(flush());
  return {};
}

// Indexes up to `limit` new messages and up to `limit` edited ones in one
// write transaction; returns how many rows it (re)indexed.
Result<std::int64_t> SearchIndex::index_batch(std::int64_t limit) {
  // Not Database::write(): the watermark is published after the commit but
  // still under the writer lock, so no append or edit can slip in between.
  return db_.with_writer<std::int64_t>([&](Conn& w) -> Result<std::int64_t> {
    Tx tx(w, "BEGIN IMMEDIATE");
    std::int64_t mark = 0;
    {
      auto s = w.prepare_static("SELECT last_indexed_id FROM fts_state WHERE id = 1");
      if (s->executeStep()) mark = s->getColumn(0).getInt64();
    }
    std::int64_t done = 0;
    std::int64_t seen = mark;
    std::vector<std::int64_t> ids;
    {
      // The index holds folded text (chat::fold_case, via chat_fold) and queries are
      // folded alike, so full-text search is case-insensitive by the same Unicode
      // rule as every other filter ("STRASSE" finds "Straße"; FTS5's unicode61
      // alone folds only simple case).
      static const std::string kSelect = fmt::format(
          "SELECT m.id, {} FROM messages m JOIN conversations c ON c.id = m.conversation_id "
          "WHERE m.id > ? ORDER BY m.id LIMIT ?",
          kIndexTextSql);
      auto sel = w.prepare_static(kSelect.c_str());
      sel->bind(1, mark);
      sel->bind(2, limit);
      auto ins = w.prepare_static("INSERT INTO messages_fts (rowid, content) VALUES (?, ?)");
      while (sel->executeStep()) {
        seen = sel->getColumn(0).getInt64();
        ins->bind(1, seen);
        ins->bind(2, sel->getColumn(1).getString());
        ins->exec();
        ins->reset();
        ++done;
      }
    }
    // A short batch reached the end: every id assigned so far was looked
    // at (purged ids leave gaps), so the mark can move to the sequence.
    if (done < limit) seen = std::max(seen, last_assigned_message_id(w));
    {
      auto sel = w.prepare_static("SELECT message_id FROM fts_pending ORDER BY message_id LIMIT ?");
      sel->bind(1, limit);
      while (sel->executeStep()) ids.push_back(sel->getColumn(0).getInt64());
      sel->tryReset();
      for (auto id : ids) {
        {
          auto del = w.prepare_static("DELETE FROM messages_fts WHERE rowid = ?");
          del->bind(1, id);
          del->exec();
        }
        {
          static const std::string kReindex = fmt::format(
              "INSERT INTO messages_fts (rowid, content) SELECT m.id, {} FROM messages m "
              "JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?",
              kIndexTextSql);
          auto ins = w.prepare_static(kReindex.c_str());
          ins->bind(1, id);
          ins->exec();
        }
        {
          auto del = w.prepare_static("DELETE FROM fts_pending WHERE message_id = ?");
          del->bind(1, id);
          del->exec();
        }
        ++done;
      }
    }
    if (seen != mark) {
      auto s = w.prepare_static("UPDATE fts_state SET last_indexed_id = ? WHERE id = 1");
      s->bind(1, seen);
      s->exec();
    }
    tx.commit();
    indexed_id_ = seen;
    pending_edits_ = static_cast<std::int64_t>(ids.size()) == limit;
    return done;
  });
}

void SearchIndex::run() {
  const std::int64_t batch = db_.options().index_batch;
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, kIndexerPeriod, [&] { return stop_ || last_id_.load() - indexed_id_.load() >= batch; });
    if (stop_) break;
    if (!behind()) continue;
    lk.unlock();
    // One batch per transaction, releasing the writer between batches so
    // appends interleave with a long catch-up. Only full batches go on at
    // once: chasing every new row would shrink batches to a row or two,
    // and a small FTS5 transaction costs nearly what a large one does.
    while (!stopping()) {
      auto r = index_batch(batch);
      if (!r) {
        db_.log(LogLevel::kError, "sqlite store: background indexing failed: " + r.error().message);
        break;
      }
      if (*r < batch) break;
    }
    lk.lock();
  }
}

bool SearchIndex::stopping() {
  std::lock_guard lk(mu_);
  return stop_;
}

// ---- ranking ----------------------------------------------------------------------

void register_search_functions(SQLite::Database& db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db.getHandle(), "SELECT fts5(?1)", -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (api == nullptr) throw SQLite::Exception("sqlite store: FTS5 is not available", SQLITE_ERROR);
  rc = api->xCreateFunction(api, "chat_bm25", nullptr, &chat_bm25, nullptr);
  if (rc != SQLITE_OK) throw SQLite::Exception("sqlite store: cannot register chat_bm25", rc);
  rc = register_scoped_tokenizer(api);
  if (rc != SQLITE_OK) throw SQLite::Exception("sqlite store: cannot register chat_scoped", rc);
}

// Rows matching `phrase`, from the cache while the index has grown by less
// than kDocCountDrift of its size since the count (bm25's IDF moves by
// about that fraction), else counted on `r` (one pass over its matches).
std::int64_t SearchIndex::doc_count(Conn& r, const std::string& phrase) {
  const std::int64_t now = indexed_id_.load();
  {
    std::lock_guard lk(counts_mu_);
    auto it = doc_counts_.find(phrase);
    if (it != doc_counts_.end() && now - it->second.at_id <= std::max<std::int64_t>(1000, it->second.at_id / kDocCountDrift))
      return it->second.rows;
  }
  auto s = r.prepare("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?");
  s->bind(1, phrase);
  const std::int64_t n = s->executeStep() ? s->getColumn(0).getInt64() : 0;
  s->tryReset();
  std::lock_guard lk(counts_mu_);
  if (doc_counts_.size() >= kDocCountEntries) doc_counts_.clear();
  doc_counts_[phrase] = DocCount{n, now};
  return n;
}

// ---- the query ------------------------------------------------------------------

namespace {
Result<Page<SearchHit>> fetch_hits(Conn& r, const PageQuery& page, const SearchQuery& q);
}  // namespace

// Search: total counts in-scope matches within the ranked window of the
// newest kSearchWindow matches, so it is exact up to that size.
Result<Page<SearchHit>> SearchIndex::search(const SearchQuery& q) {
  // Validation and SQL building can throw too (allocation): nothing escapes.
  return db_.guarded<Page<SearchHit>>([&]() -> Result<Page<SearchHit>> {
    CHAT_RETURN_IF_ERROR(check_filter_text("query", q.text));
    const std::string folded = fold_case(q.text);
    // bm25's document frequencies are the plain words' (over every scope).
    const auto phrases = fts_phrases(folded);
    if (join_phrases(phrases).empty()) return Error::invalid("query", "the search query is empty");
    // The caller's narrowest scope picks the words' scoped forms (schema step
    // 9): FTS5 then walks only in-scope matches. The SQL filters below stay
    // and decide (the kind has no scope name: an owner's conversations are
    // mostly of one kind).
    std::string scope_name;
    if (q.conversation_id)
      scope_name = fmt::format("c{}", *q.conversation_id);
    else if (q.user_id)
      scope_name = fmt::format("u{}", hex_of(*q.user_id));
    if (!scope_name.empty()) scope_name.push_back(kScopeSeparator);
    const std::string match = join_phrases(scope_name.empty() ? phrases : fts_phrases(folded, scope_name));
    CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
    // Freshness: index whatever is pending before querying, so a message is
    // searchable as soon as append_message returned. Two atomic loads when
    // nothing is pending; otherwise one write transaction indexing the few
    // rows appended since the background indexer last ran (<= 200 ms ago).
    CHAT_RETURN_IF_ERROR(catch_up());

    PageQuery page;
    page.limit = q.limit;
    page.offset = q.offset;
    page.budget = q.budget;
    std::string counts;
    // Placeholders of the phrase counts first (they come first in the SQL).
    for (std::size_t i = 0; i < phrases.size(); ++i) counts += ", ?";
    page.params.resize(phrases.size(), std::int64_t{0});
    page.params.emplace_back(match);
    std::string scope;
    if (q.conversation_id) {
      scope += " AND m.conversation_id = ?";
      page.params.emplace_back(*q.conversation_id);
    }
    if (q.kind) {
      scope += " AND c.kind = ?";
      page.params.emplace_back(std::string(to_string(*q.kind)));
    }
    if (q.user_id) {
      scope += " AND c.user_id = ?";
      page.params.emplace_back(*q.user_id);
    }
    // Ranking every match (ORDER BY rank) costs seconds for a common word over
    // a million rows. So: take the newest kSearchWindow in-scope matches
    // (FTS rowid order, CROSS JOIN keeps the FTS table as the outer loop),
    // rank that window by bm25 (chat_bm25: the phrase counts come from a
    // cache, see doc_count) then recency. `total` is the number of in-scope
    // matches in the window: exact up to kSearchWindow.
    const std::string window = fmt::format(
        "SELECT m.id AS id, chat_bm25(messages_fts{}) AS r FROM messages_fts "
        "CROSS JOIN messages m ON m.id = messages_fts.rowid CROSS JOIN conversations c ON c.id = m.conversation_id "
        "WHERE messages_fts MATCH ? AND m.deleted_at IS NULL AND c.deleted_at IS NULL{} "
        "ORDER BY messages_fts.rowid DESC LIMIT {}",
        counts, scope, kSearchWindow);
    // The page is cut from the window before the messages are read: only its
    // rows are joined to their full messages (content included).
    page.rows_sql = fmt::format(
        "WITH w AS ({}), p AS (SELECT id, r, COUNT(*) OVER () AS n FROM w ORDER BY r ASC, id DESC LIMIT ? OFFSET ?) "
        "SELECT {}, -p.r, p.n FROM p JOIN messages m ON m.id = p.id ORDER BY p.r ASC, p.id DESC",
        window, kMsgCols);
    page.count_sql = fmt::format("SELECT COUNT(*) FROM ({})", window);
    return db_.read<Page<SearchHit>>([&](Conn& r) -> Result<Page<SearchHit>> {
      try {
        PageQuery counted = page;
        for (std::size_t i = 0; i < phrases.size(); ++i) counted.params[i] = doc_count(r, phrases[i]);
        return fetch_hits(r, counted, q);
      } catch (const SQLite::Exception& e) {
        // A query FTS5 cannot parse is the client's: SQLITE_ERROR from this
        // statement (whose SQL is fixed and tested) means the MATCH text.
        if (e.getErrorCode() != SQLITE_ERROR) throw;
        db_.log(LogLevel::kDebug, std::string("sqlite store: search query refused: ") + e.what());
        return Error::invalid("query", "query cannot be parsed as search words");
      }
    });
  });
}

namespace {

// One page of hits; `total` counts the in-scope matches in the ranked window.
Result<Page<SearchHit>> fetch_hits(Conn& r, const PageQuery& page, const SearchQuery& q) {
  return fetch_page<SearchHit>(r, page, [&](Stmt& s, std::optional<std::int64_t>& total, PageBytes& bytes) {
    std::vector<double> scores;
    std::int64_t window = 0;
    auto msgs = collect_messages(r, s, &scores, &window, &bytes);
    // Every row carries the window count. When none came back (past the
    // end, or limit 0) the count query runs, unless the window is empty.
    if (!msgs.empty())
      total = window;
    else if (q.offset == 0 && q.limit > 0)
      total = 0;
    std::vector<SearchHit> hits;
    hits.reserve(msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) hits.push_back(SearchHit{std::move(msgs[i]), scores[i]});
    return hits;
  });
}

}  // namespace

}  // namespace chat::sqlite
