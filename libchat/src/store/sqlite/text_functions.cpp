#include "store/sqlite/text_functions.hpp"

#include <sqlite3.h>

#include <exception>
#include <new>
#include <string>

#include "chat/text.hpp"

namespace chat::sqlite {

namespace {

void fold_function(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  // Text of a value: the bytes first, then their length (the documented order).
  const auto* bytes = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int n = sqlite3_value_bytes(argv[0]);
  if (bytes == nullptr) {
    if (n == 0) {
      sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
    } else {
      sqlite3_result_error_nomem(ctx);
    }
    return;
  }
  try {
    const std::string folded = fold_case(std::string_view(bytes, static_cast<std::size_t>(n)));
    sqlite3_result_text64(ctx, folded.data(), folded.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

}  // namespace

void register_text_functions(SQLite::Database& db) {
  const int rc = sqlite3_create_function_v2(db.getHandle(), "chat_fold", 1,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                            &fold_function, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw SQLite::Exception(db.getHandle(), rc);
}

std::string contains_folded_sql(std::string_view column) {
  return "instr(chat_fold(" + std::string(column) + "), ?) > 0";
}

}  // namespace chat::sqlite
