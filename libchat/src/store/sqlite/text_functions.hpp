// SQL functions the SQLite store registers on every connection, so that SQL
// compares text by the rules of chat/text.hpp rather than SQLite's own (LIKE
// folds ASCII letters only and reads its pattern as a C string). Private to
// libchat.
//
//   chat_fold(X)  chat::fold_case(X) for text (full Unicode case folding, then
//                 NFC); NULL for NULL. Deterministic: usable in any query.
//
// A case-insensitive substring filter is then
//   instr(chat_fold(column), ?) > 0     bound to chat::fold_case(needle)
// which matches the needle literally (no wildcard exists), NUL included.
#pragma once

#include <SQLiteCpp/Database.h>

#include <string>
#include <string_view>

namespace chat::sqlite {

// Registers chat_fold on `db`. Throws SQLite::Exception when SQLite refuses
// (out of memory), like opening the connection would.
void register_text_functions(SQLite::Database& db);

// The SQL that tests whether `column` contains the bound, folded needle.
std::string contains_folded_sql(std::string_view column);

}  // namespace chat::sqlite
