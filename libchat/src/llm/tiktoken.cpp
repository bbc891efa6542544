// tiktoken BPE on PCRE2 (UTF + UCP mode: \p{L}, \p{N}, (?!\S) and Unicode \s
// exactly as tiktoken's fancy-regex patterns mean them).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "llm/tiktoken.hpp"

#include <pcre2.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <unordered_set>

#include "utf8.hpp"

namespace chat {

std::string_view to_string(TiktokenEncoding e) noexcept {
  return e == TiktokenEncoding::kO200kBase ? "o200k_base" : "cl100k_base";
}

std::optional<TiktokenEncoding> parse_tiktoken_encoding(std::string_view name) noexcept {
  if (name == "cl100k_base") return TiktokenEncoding::kCl100kBase;
  if (name == "o200k_base") return TiktokenEncoding::kO200kBase;
  return std::nullopt;
}

namespace detail {

namespace {

// tiktoken's patterns (tiktoken_ext/openai_public.py).
constexpr std::string_view kCl100k =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr std::string_view kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool b64_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < in.size() - pad; ++i) {
    const int v = b64_value(in[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return !out.empty();
}

Error bad_line(std::size_t line, const std::string& why) {
  return Error::invalid("path", "tiktoken rank file, line " + std::to_string(line) + ": " + why);
}

}  // namespace

struct TiktokenBpe::Regex {
  pcre2_code* code = nullptr;
  ~Regex() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

TiktokenBpe::~TiktokenBpe() = default;

std::string_view tiktoken_pattern(TiktokenEncoding e) noexcept {
  return e == TiktokenEncoding::kO200kBase ? kO200k : kCl100k;
}

Result<std::shared_ptr<const TiktokenBpe>> TiktokenBpe::from_text(std::string_view text, TiktokenEncoding e) {
  std::shared_ptr<TiktokenBpe> bpe(new TiktokenBpe());
  bpe->encoding_ = e;
  std::uint32_t fnv = 2166136261u;
  for (const char ch : text) fnv = (fnv ^ static_cast<unsigned char>(ch)) * 16777619u;
  bpe->fingerprint_ = fnv;
  std::unordered_set<std::uint32_t> seen_ranks;
  std::size_t line_no = 0;
  std::string token;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) return bad_line(line_no, "expected \"<base64 token> <rank>\"");
    if (!b64_decode(line.substr(0, sp), token)) return bad_line(line_no, "the token is not base64");
    const std::string_view rank_text = line.substr(sp + 1);
    if (rank_text.empty() || rank_text.size() > 10 ||
        !std::all_of(rank_text.begin(), rank_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad_line(line_no, "the rank is not a non-negative integer");
    const auto rank = std::stoull(std::string(rank_text));
    if (rank > std::numeric_limits<std::uint32_t>::max()) return bad_line(line_no, "the rank is too large");
    if (!seen_ranks.insert(static_cast<std::uint32_t>(rank)).second) return bad_line(line_no, "duplicate rank");
    if (!bpe->ranks_.emplace(token, static_cast<std::uint32_t>(rank)).second)
      return bad_line(line_no, "duplicate token");
    bpe->max_token_bytes_ = std::max(bpe->max_token_bytes_, token.size());
  }
  if (bpe->ranks_.empty()) return Error::invalid("path", "tiktoken rank file is empty");
  // Every single byte must have a rank, or some texts cannot be encoded.
  for (int b = 0; b < 256; ++b) {
    if (bpe->ranks_.find(std::string(1, static_cast<char>(b))) == bpe->ranks_.end())
      return Error::invalid("path", "tiktoken rank file has no token for byte " + std::to_string(b));
  }

  const std::string_view pattern = tiktoken_pattern(e);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  bpe->regex_ = std::make_unique<Regex>();
  bpe->regex_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                    PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (bpe->regex_->code == nullptr) return Error::internal("the tokenizer pattern does not compile");
  (void)pcre2_jit_compile(bpe->regex_->code, PCRE2_JIT_COMPLETE);  // optional speed-up
  return std::shared_ptr<const TiktokenBpe>(std::move(bpe));
}

Result<std::shared_ptr<const TiktokenBpe>> TiktokenBpe::from_file(const std::string& path, TiktokenEncoding e) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, "cannot read the tiktoken rank file " + path, "path"};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{ErrorCode::kNotFound, "cannot read the tiktoken rank file " + path, "path"};
  return from_text(ss.str(), e);
}

template <typename F>
void TiktokenBpe::for_each_piece(std::string_view text, F&& f) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex_->code, nullptr);
  if (md == nullptr) throw std::bad_alloc();
  struct Free {
    pcre2_match_data* m;
    ~Free() { pcre2_match_data_free(m); }
  } guard{md};
  std::size_t pos = 0;
  std::uint32_t options = 0;
  while (pos < text.size()) {
    const int rc = pcre2_match(regex_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos,
                               options, md, nullptr);
    options = PCRE2_NO_UTF_CHECK;  // checked once, on the first call
    if (rc < 0) {
      f(text.substr(pos));  // the patterns match everything; never reached in practice
      return;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const std::size_t start = ov[0];
    const std::size_t end = ov[1];
    if (start > pos) f(text.substr(pos, start - pos));
    if (end == start) {  // an empty match: step over one character
      std::size_t next = start + 1;
      while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
      f(text.substr(start, next - start));
      pos = next;
      continue;
    }
    f(text.substr(start, end - start));
    pos = end;
  }
}

std::vector<std::string> TiktokenBpe::split(std::string_view text) const {
  std::vector<std::string> out;
  for_each_piece(text, [&](std::string_view p) { out.emplace_back(p); });
  return out;
}

// tiktoken's byte_pair_merge: repeatedly merge the adjacent pair whose
// concatenation has the lowest rank (the leftmost on ties).
//
// A scan for the best pair per merge is quadratic: 256 KiB of one letter is
// one regex piece and took 26.6 s (issue 11). Here the pairs wait in a
// min-heap ordered by (rank, start offset), which is the same order, and the
// parts form a linked list over their start offsets, so a merge costs
// O(log n). A heap entry goes stale when either of its parts has merged
// since; it is recognised by its recorded end and skipped. Equal to the scan
// merge for merge (tests/libchat/llm/tiktoken_test.cpp).
void TiktokenBpe::encode_piece(std::string_view piece, std::vector<std::uint32_t>& out) const {
  if (auto it = ranks_.find(std::string(piece)); it != ranks_.end()) {
    out.push_back(it->second);
    return;
  }
  // Starts must fit the 32 bits a heap key gives them: a piece of 4 GiB or
  // more (no message comes near) is encoded in halves, whose boundary may
  // split one token.
  constexpr std::size_t kMaxPiece = std::numeric_limits<std::uint32_t>::max();
  if (piece.size() > kMaxPiece) {
    encode_piece(piece.substr(0, kMaxPiece / 2), out);
    encode_piece(piece.substr(kMaxPiece / 2), out);
    return;
  }
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  const std::size_t n = piece.size();
  // Part starting at byte s (when alive) ends at next[s]; prev[s] is the start before it.
  std::vector<std::size_t> next(n + 1);
  std::vector<std::size_t> prev(n + 1);
  std::vector<bool> alive(n + 1, true);
  for (std::size_t i = 0; i <= n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? n + 1 : i - 1;  // n + 1: no previous part
  }
  std::string key;
  auto rank_of = [&](std::size_t from, std::size_t to) -> std::uint32_t {
    key.assign(piece.data() + from, to - from);
    auto it = ranks_.find(key);
    return it == ranks_.end() ? kNone : it->second;
  };
  // A pair as one 64-bit key, rank then start (the merge order), so the heap
  // compares one integer; `end` recognises stale entries. Pieces are far
  // below 4 GiB (a message is bounded long before), so a start fits 32 bits.
  struct Pair {
    std::uint64_t key;
    std::size_t end;  // the end of the right part when the pair was pushed
  };
  const auto later = [](const Pair& a, const Pair& b) { return a.key > b.key; };
  std::vector<Pair> heap;
  heap.reserve(n);
  auto make_pair = [&](std::size_t s, Pair& p) {  // the pair of the part at s and the one after it
    if (s > n || next[s] >= n) return false;
    const std::size_t end = next[next[s]];
    // Nothing longer than the longest token has a rank: no lookup.
    if (end - s > max_token_bytes_) return false;
    const std::uint32_t r = rank_of(s, end);
    if (r == kNone) return false;
    p = Pair{(static_cast<std::uint64_t>(r) << 32) | static_cast<std::uint64_t>(s), end};
    return true;
  };
  auto push_pair = [&](std::size_t s) {
    Pair p{};
    if (!make_pair(s, p)) return;
    heap.push_back(p);
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (std::size_t s = 0; s + 1 < n; ++s) {
    Pair p{};
    if (make_pair(s, p)) heap.push_back(p);
  }
  std::make_heap(heap.begin(), heap.end(), later);  // O(n), not n pushes
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Pair p = heap.back();
    heap.pop_back();
    const auto start = static_cast<std::size_t>(p.key & 0xFFFFFFFFu);
    if (!alive[start] || next[start] >= n || next[next[start]] != p.end) continue;  // stale
    const std::size_t right = next[start];
    alive[right] = false;
    next[start] = next[right];
    if (next[right] <= n) prev[next[right]] = start;
    push_pair(start);
    if (prev[start] <= n) push_pair(prev[start]);
  }
  for (std::size_t s = 0; s < n; s = next[s]) {
    key.assign(piece.data() + s, next[s] - s);
    auto it = ranks_.find(key);
    out.push_back(it == ranks_.end() ? kNone : it->second);  // single bytes always have a rank
  }
}

std::vector<std::uint32_t> TiktokenBpe::encode(std::string_view text) const {
  std::vector<std::uint32_t> out;
  std::string clean;
  if (!is_valid_utf8(text)) {
    clean = sanitize_utf8(text);
    text = clean;
  }
  for_each_piece(text, [&](std::string_view p) { encode_piece(p, out); });
  return out;
}

std::int64_t TiktokenBpe::count(std::string_view text) const {
  return static_cast<std::int64_t>(encode(text).size());
}

namespace {

class TiktokenCounter final : public TokenCounter {
 public:
  explicit TiktokenCounter(std::shared_ptr<const TiktokenBpe> bpe) : bpe_(std::move(bpe)) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(bpe_->fingerprint()));
    id_ = std::string(to_string(bpe_->encoding())) + "/" + hex;
  }
  std::int64_t count(std::string_view text) const override {
    try {
      return bpe_->count(text);
    } catch (const std::exception&) {
      return static_cast<std::int64_t>((text.size() + 3) / 4);  // out of memory: the estimate
    }
  }
  std::string_view name() const override { return to_string(bpe_->encoding()); }
  bool exact() const override { return true; }
  std::string_view counter_id() const override { return id_; }
  std::int64_t max_token_bytes() const override { return static_cast<std::int64_t>(bpe_->max_token_bytes()); }

 private:
  std::shared_ptr<const TiktokenBpe> bpe_;
  std::string id_;
};

}  // namespace
}  // namespace detail

Result<std::unique_ptr<TokenCounter>> make_tiktoken_counter(const std::string& path, TiktokenEncoding encoding) {
  try {
    auto bpe = detail::TiktokenBpe::from_file(path, encoding);
    if (!bpe) return std::move(bpe).error();
    return std::unique_ptr<TokenCounter>(std::make_unique<detail::TiktokenCounter>(std::move(*bpe)));
  } catch (const std::exception&) {
    return Error::internal("could not load the tiktoken rank file");
  }
}

}  // namespace chat
