// The one way a SQLite listing answers a Page<T>: its rows, its total and
// has_more, all read in the caller's snapshot so that they agree. Private.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/result.hpp"
#include "chat/types.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/rows.hpp"

namespace chat::sqlite {

// kInvalidArgument ("limit" / "offset") for a negative window.
inline Status check_window(std::int64_t limit, std::int64_t offset) {
  if (limit < 0) return Error::invalid("limit", "limit must not be negative");
  if (offset < 0) return Error::invalid("offset", "offset must not be negative");
  return {};
}

// Applies a query's ByteBudget (chat/types.hpp) while a collector steps its
// rows: the collector asks admit() for each row it read, in order, and stops
// at the first refusal. The refused row is dropped, so the next page (offset
// + items, or the last item's id) starts with it.
class PageBytes {
 public:
  explicit PageBytes(ByteBudget budget) : budget_(budget) {}
  bool admit(std::size_t item_bytes) {
    const std::size_t cost = item_bytes + budget_.per_item_bytes;
    if (budget_.max_bytes != 0 && taken_ > 0 && cost > budget_.max_bytes - std::min(used_, budget_.max_bytes))
      return false;
    used_ += cost;
    ++taken_;
    return true;
  }

 private:
  ByteBudget budget_;
  std::size_t used_ = 0;
  std::size_t taken_ = 0;
};

struct PageQuery {
  std::string rows_sql;            // takes `params`, then LIMIT ?, then OFFSET ?
  std::string count_sql;           // SELECT COUNT(*) taking the same `params`
  std::vector<Param> params;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  std::optional<std::int64_t> total;  // already known (a maintained counter): count_sql is not run
  ByteBudget budget;                  // the query's: the page may end before `limit` rows
};

// Runs inside a read snapshot (Database::read with Snapshot::kTransaction).
// `collect(Stmt&, std::optional<std::int64_t>& total, PageBytes&)` steps the
// rows into a std::vector<T>, stopping when PageBytes::admit refuses one; it
// may set `total` when the rows carry it, which spares count_sql too.
template <typename T, typename Collect>
Page<T> fetch_page(Conn& c, const PageQuery& q, Collect&& collect) {
  Page<T> page;
  std::optional<std::int64_t> total = q.total;
  {
    auto s = c.prepare(q.rows_sql);
    bind_all(*s, q.params);
    s->bind(static_cast<int>(q.params.size()) + 1, q.limit);
    s->bind(static_cast<int>(q.params.size()) + 2, q.offset);
    PageBytes bytes(q.budget);
    page.items = collect(s, total, bytes);
  }
  if (!total) {
    auto s = c.prepare(q.count_sql);
    bind_all(*s, q.params);
    s->executeStep();
    total = s->getColumn(0).getInt64();
  }
  page.total = *total;
  page.has_more = q.offset + static_cast<std::int64_t>(page.items.size()) < page.total;
  return page;
}

}  // namespace chat::sqlite
