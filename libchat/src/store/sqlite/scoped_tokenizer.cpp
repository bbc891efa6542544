#include "store/sqlite/scoped_tokenizer.hpp"

#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace chat::sqlite {

namespace {

// One "chat_scoped" instance: the inner tokenizer it wraps.
struct ScopedTokenizer {
  fts5_tokenizer inner_api{};
  Fts5Tokenizer* inner = nullptr;
};

using TokenCallback = int (*)(void* ctx, int tflags, const char* token, int n, int start, int end);

// What the inner tokenizer's tokens go through.
struct Emit {
  void* ctx = nullptr;
  TokenCallback out = nullptr;
  std::vector<std::string_view> scopes;
  bool query = false;
  int offset = 0;  // of the text after the separator, in the caller's text
  std::string buf;
};

int emit_token(void* p, int tflags, const char* token, int n, int start, int end) try {
  auto& e = *static_cast<Emit*>(p);
  start += e.offset;
  end += e.offset;
  if (!e.query) {
    if (int rc = e.out(e.ctx, tflags, token, n, start, end); rc != SQLITE_OK) return rc;
  }
  for (std::size_t i = 0; i < e.scopes.size(); ++i) {
    e.buf.assign(e.scopes[i]);
    e.buf.push_back(kScopeSeparator);
    e.buf.append(token, static_cast<std::size_t>(n));
    // A query's first form takes the token's place; every other form is
    // colocated with it.
    const int flags = e.query && i == 0 ? tflags : FTS5_TOKEN_COLOCATED;
    if (int rc = e.out(e.ctx, flags, e.buf.data(), static_cast<int>(e.buf.size()), start, end); rc != SQLITE_OK)
      return rc;
  }
  return SQLITE_OK;
} catch (const std::bad_alloc&) {
  return SQLITE_NOMEM;  // nothing may unwind through SQLite's C frames
}

int scoped_create(void* user, const char** args, int n_args, Fts5Tokenizer** out) {
  auto* api = static_cast<fts5_api*>(user);
  *out = nullptr;
  if (n_args < 1) return SQLITE_ERROR;  // the inner tokenizer must be named
  auto* t = new (std::nothrow) ScopedTokenizer();
  if (t == nullptr) return SQLITE_NOMEM;
  void* inner_user = nullptr;
  int rc = api->xFindTokenizer(api, args[0], &inner_user, &t->inner_api);
  if (rc == SQLITE_OK) rc = t->inner_api.xCreate(inner_user, args + 1, n_args - 1, &t->inner);
  if (rc != SQLITE_OK) {
    delete t;
    return rc;
  }
  *out = reinterpret_cast<Fts5Tokenizer*>(t);
  return SQLITE_OK;
}

void scoped_delete(Fts5Tokenizer* p) {
  auto* t = reinterpret_cast<ScopedTokenizer*>(p);
  if (t->inner) t->inner_api.xDelete(t->inner);
  delete t;
}

int scoped_tokenize(Fts5Tokenizer* p, void* ctx, int flags, const char* text, int n, TokenCallback out) {
  auto* t = reinterpret_cast<ScopedTokenizer*>(p);
  const std::string_view all(text, static_cast<std::size_t>(n));
  const auto sep = all.find(kScopeSeparator);
  if (sep == std::string_view::npos) return t->inner_api.xTokenize(t->inner, ctx, flags, text, n, out);
  try {
    Emit e;
    e.ctx = ctx;
    e.out = out;
    e.query = (flags & FTS5_TOKENIZE_QUERY) != 0;
    e.offset = static_cast<int>(sep + 1);
    std::string_view names = all.substr(0, sep);
    while (!names.empty()) {
      const auto space = names.find(' ');
      const auto name = names.substr(0, space);
      if (!name.empty()) e.scopes.push_back(name);
      if (space == std::string_view::npos) break;
      names.remove_prefix(space + 1);
    }
    return t->inner_api.xTokenize(t->inner, &e, flags, text + e.offset, n - e.offset, &emit_token);
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  }
}

}  // namespace

int register_scoped_tokenizer(fts5_api* api) {
  fts5_tokenizer tokenizer{&scoped_create, &scoped_delete, &scoped_tokenize};
  return api->xCreateTokenizer(api, "chat_scoped", api, &tokenizer, nullptr);
}

}  // namespace chat::sqlite
