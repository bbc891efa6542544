// The page window and ByteBudget rules every Store implementation applies
// to its listings (chat/store.hpp: "Listings ... end a page at the query's
// budget"), shared so that the SQLite and PostgreSQL stores cut pages alike.
// Private.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "chat/result.hpp"
#include "chat/types.hpp"

namespace chat::detail {

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

}  // namespace chat::detail
