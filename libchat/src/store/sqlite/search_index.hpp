// Full-text search: the background indexer, its watermark, the catch-up that
// keeps searches fresh, and the search query itself. Private.
//
// Messages are NOT indexed inside append (a per-row FTS insert costs about 4x
// on every append). A background thread indexes new rows in batches behind a
// watermark (fts_state.last_indexed_id); edits of indexed rows are queued in
// fts_pending. search() catches the index up before it queries, so search
// results are always fresh. Ranking is bm25 over the newest in-scope matches
// with document frequencies cached per phrase (doc_count): FTS5's own bm25()
// recounts them on every query, O(matches). Each word is indexed plain and
// in one scoped form per scope (store/sqlite/scoped_tokenizer.hpp), so a
// scoped search walks only in-scope matches.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "chat/result.hpp"
#include "chat/types.hpp"
#include "store/sqlite/database.hpp"

namespace chat::sqlite {

// Registers chat_bm25, the search ranking (search_index.cpp), on a
// connection. Throws SQLite::Exception when SQLite refuses.
void register_search_functions(SQLite::Database& db);

class SearchIndex {
 public:
  explicit SearchIndex(Database& db) : db_(db) {}
  ~SearchIndex() { stop(); }
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // Reads the watermark and starts the background indexer (after migration).
  Status start();
  // Stops and joins the indexer; idempotent.
  void stop();

  // An append assigned `id` and committed: called from the append's
  // Database::on_commit hook, under the writer lock and before the append is
  // acknowledged (a search that starts after the acknowledgement sees it
  // behind and catches up). Not before the commit: an append rolled back in
  // its group (group commit, issue 11) must not leave last_id_ above every
  // row, which would make every search attempt an empty catch-up. Wakes the
  // indexer once a batch is pending.
  void appended(std::int64_t id);
  // Queues an already-indexed message whose content changed for re-indexing,
  // inside the edit's write transaction; returns whether it was queued. Rows
  // above the watermark get indexed with their newest content anyway.
  bool queue_edit(Conn& w, std::int64_t message_id);
  // After the commit of an edit queue_edit queued.
  void edited() { pending_edits_ = true; }

  // Indexes every message not yet indexed; returns how many rows.
  Result<std::int64_t> flush();
  Result<Page<SearchHit>> search(const SearchQuery& q);

 private:
  bool behind() const { return last_id_.load() > indexed_id_.load() || pending_edits_.load(); }
  Status catch_up();
  Result<std::int64_t> index_batch(std::int64_t limit);
  void run();
  bool stopping();
  std::int64_t doc_count(Conn& r, const std::string& phrase);

  // Rows matching a phrase, counted when the index watermark was `at_id`:
  // bm25's document frequencies, reused until the index grows by
  // 1/kDocCountDrift (2%), at most kDocCountEntries phrases (then cleared).
  struct DocCount {
    std::int64_t rows = 0;
    std::int64_t at_id = 0;
  };
  static constexpr std::int64_t kDocCountDrift = 50;
  static constexpr std::size_t kDocCountEntries = 10'000;
  std::mutex counts_mu_;
  std::unordered_map<std::string, DocCount> doc_counts_;

  Database& db_;

  // Largest message id assigned, and the index watermark; both move under
  // the writer lock and are read without it as a fast "anything to index?".
  std::atomic<std::int64_t> last_id_{0};
  std::atomic<std::int64_t> indexed_id_{0};
  std::atomic<bool> pending_edits_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace chat::sqlite
