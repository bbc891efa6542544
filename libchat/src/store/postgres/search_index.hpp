// Full-text search on PostgreSQL with the SQLite store's matching rules.
// Private.
//
// Indexing happens in the write's transaction: the INSERT or edit of a
// message writes messages.search_tsv (GIN-indexed), so a message is
// searchable as soon as its append committed and flush_search_index has
// nothing to do (returns 0).
//
// Words are made in C++, not by PostgreSQL's text search parser (whose idea
// of a letter depends on the database's LC_CTYPE: under "C" it drops every
// non-ASCII letter): the content is case folded by chat::fold_case (as the
// SQLite index is), combining marks are stripped after canonical
// decomposition (utf8proc STRIPMARK: "Über" -> "uber", like unicode61's
// remove_diacritics; it strips marks of every script, unicode61 those it
// maps), and tokens are the runs of letters, numbers and private-use
// characters (unicode61's token characters); everything else separates. The
// tsvector and the tsquery are then written as literals, so both stores
// agree on what a word is. Ranking is ts_rank with length normalisation
// (flag 1: rank / (1 + log(document length))), then newest first, over the
// newest 1000 in-scope matches; `total` is capped at 1000 as documented.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/result.hpp"
#include "chat/types.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

// The words of already folded text (chat::fold_case), marks stripped, in order.
std::vector<std::string> search_tokens(std::string_view folded);
// A tsvector literal of `folded`'s words with their positions (bounded as
// PostgreSQL requires: positions up to 16383, 255 per word).
std::string search_words(std::string_view folded);

class SearchIndex {
 public:
  explicit SearchIndex(Database& db) : db_(db) {}
  Result<Page<SearchHit>> search(const SearchQuery& q);

 private:
  Database& db_;
};

}  // namespace chat::pg
