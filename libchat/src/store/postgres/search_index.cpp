#include "store/postgres/search_index.hpp"

#include <utf8proc.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <utility>

#include "chat/text.hpp"
#include "store/postgres/rows.hpp"

namespace chat::pg {

namespace {

// Newest in-scope matches that search ranks (as the SQLite store).
constexpr std::int64_t kSearchWindow = 1000;
// PostgreSQL's tsvector bounds: a position is at most 16383, a lexeme keeps
// at most 256 positions and 2047 bytes.
constexpr int kMaxPosition = 16383;
constexpr std::size_t kMaxPositionsPerWord = 255;
constexpr std::size_t kMaxWordBytes = 2000;

bool token_char(utf8proc_int32_t cp) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_CO:
      return true;
    default:
      return false;
  }
}

// `text` without combining marks (canonical decomposition, marks dropped,
// recomposed). Invalid UTF-8 is returned as is (the service stores none).
std::string strip_marks(std::string_view text) {
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &out,
                              static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STRIPMARK));
  if (n < 0) return std::string(text);
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

// A lexeme quoted for tsvector / tsquery input: '...' with ' doubled and \ escaped.
void append_quoted(std::string& out, std::string_view word) {
  out.push_back('\'');
  for (char ch : word) {
    if (ch == '\'') out.push_back('\'');
    if (ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('\'');
}

}  // namespace

std::vector<std::string> search_tokens(std::string_view folded) {
  const std::string text = strip_marks(folded);
  std::vector<std::string> out;
  std::string word;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t len = utf8proc_iterate(p, left, &cp);
    if (len <= 0) {  // not UTF-8: a separator
      len = 1;
      cp = ' ';
    }
    if (token_char(cp)) {
      word.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
    p += len;
    left -= len;
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

std::string search_words(std::string_view folded) {
  std::map<std::string, std::vector<int>> positions;
  int pos = 0;
  for (auto& w : search_tokens(folded)) {
    if (w.size() > kMaxWordBytes) continue;
    pos = pos < kMaxPosition ? pos + 1 : kMaxPosition;
    auto& v = positions[std::move(w)];
    if (v.size() < kMaxPositionsPerWord && (v.empty() || v.back() != pos)) v.push_back(pos);
  }
  std::string out;
  for (const auto& [word, at] : positions) {
    if (!out.empty()) out.push_back(' ');
    append_quoted(out, word);
    for (std::size_t i = 0; i < at.size(); ++i) {
      out.push_back(i == 0 ? ':' : ',');
      out += std::to_string(at[i]);
    }
  }
  return out;
}

Result<Page<SearchHit>> SearchIndex::search(const SearchQuery& q) {
  return db_.guarded<Page<SearchHit>>([&]() -> Result<Page<SearchHit>> {
    CHAT_RETURN_IF_ERROR(check_filter_text("query", q.text));
    bool any_word = false;
    for (std::size_t i = 0; i < q.text.size();) {
      // A query of White_Space only has no words.
      const auto c = static_cast<unsigned char>(q.text[i]);
      if (c >= 0x80 || !is_white_space(c)) {
        any_word = true;
        break;
      }
      ++i;
    }
    if (!any_word) return Error::invalid("query", "the search query is empty");
    CHAT_RETURN_IF_ERROR(check_window(q.limit, q.offset));
    const auto words = search_tokens(fold_case(q.text));
    Page<SearchHit> empty;
    if (words.empty()) return empty;  // only separators: nothing can match
    std::string tsquery;
    for (const auto& w : words) {
      if (!tsquery.empty()) tsquery += " & ";
      append_quoted(tsquery, w);
    }
    PageQuery page;
    page.limit = q.limit;
    page.offset = q.offset;
    page.budget = q.budget;
    auto& params = page.params;
    const std::string query = arg(params, tsquery);
    std::string scope;
    if (q.conversation_id) scope += " AND m.conversation_id = " + arg(params, *q.conversation_id);
    if (q.kind) scope += " AND c.kind = " + arg(params, std::string(to_string(*q.kind)));
    if (q.user_id) scope += " AND " + text_equals(params, "c.user_id", *q.user_id);
    // The newest kSearchWindow in-scope matches, ranked; the page is cut from
    // the window before the full messages are read.
    const std::string window =
        "SELECT m.id AS id, ts_rank(m.search_tsv, " + query + "::tsquery, 1) AS r FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id WHERE m.search_tsv @@ " + query +
        "::tsquery AND m.deleted_at IS NULL AND c.deleted_at IS NULL" + scope + " ORDER BY m.id DESC LIMIT " +
        std::to_string(kSearchWindow);
    page.rows_sql = "WITH w AS (" + window +
                    "), p AS (SELECT id, r FROM w ORDER BY r DESC, id DESC{page}) "
                    "SELECT " CHAT_PG_MSG_COLS ", p.r FROM p JOIN messages m ON m.id = p.id ORDER BY p.r DESC, p.id DESC";
    page.count_sql = "SELECT COUNT(*) FROM (" + window + ") w";
    return db_.read<Page<SearchHit>>([&](Conn& r) -> Result<Page<SearchHit>> {
      std::vector<std::int64_t> counts;
      auto out = fetch_page<SearchHit>(r, page, [&](const Rows& rows, int i) {
        std::int64_t n = 0;
        SearchHit h;
        h.message = read_message(rows, i, n);
        h.score = rows.f64(i, kMsgColCount);
        counts.push_back(n);
        return h;
      });
      for (std::size_t i = 0; i < out.items.size(); ++i)
        if (counts[i] > 0) load_attachments(r, out.items[i].message);
      return out;
    });
  });
}

}  // namespace chat::pg
