// The FTS5 tokenizer of the search index (schema step 9, issue 11):
// "chat_scoped <inner tokenizer and its arguments>", e.g.
// 'chat_scoped unicode61 remove_diacritics 2'. Private to libchat.
//
// Why: a caller-scoped search of a common word must not walk the word's
// whole doclist. FTS5 walks an AND of a word and a scope token in rowid
// order, stepping through every entry of the common word down to the
// scope's oldest match (10-80 ms for a word in 500k of 1M messages, whatever
// the scope). So each word is indexed once per scope as well: a scoped
// search looks up one term whose doclist holds the scope's matches only.
//
// The text: "<scope> <scope>...\x1F<text>". The part before the first unit
// separator (U+001F) names the scopes, separated by spaces; the rest is
// tokenized by the inner tokenizer. A document emits every inner token T,
// then "<scope>\x1FT" for each scope, colocated with T (FTS5_TOKEN_COLOCATED:
// same position, not counted in the column's size, so bm25's document
// lengths are those of the words alone). A query emits only "<scope>\x1FT"
// (of its one scope), so a query phrase "c12\x1Fhello" matches the
// scope's rows holding "hello". Text without a separator is the inner
// tokenizer's alone (plain words; the scope names themselves are never
// indexed as words).
#pragma once

#include <sqlite3.h>

namespace chat::sqlite {

inline constexpr char kScopeSeparator = '\x1F';

// Registers "chat_scoped" with `api`. Returns an SQLite result code.
int register_scoped_tokenizer(fts5_api* api);

}  // namespace chat::sqlite
