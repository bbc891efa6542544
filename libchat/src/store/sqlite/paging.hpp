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
#include "store/page_budget.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/rows.hpp"

namespace chat::sqlite {

// check_window and PageBytes are shared by every store: store/page_budget.hpp.
using detail::check_window;
using detail::PageBytes;

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
