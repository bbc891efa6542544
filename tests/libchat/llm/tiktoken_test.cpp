// tiktoken BPE against a small rank file made here: every single byte (rank =
// byte value) and a handful of merges, with hand-computed expectations.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "chat/token_counter.hpp"
#include "llm/tiktoken.hpp"

namespace {

std::string b64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto u = [&](std::size_t j) { return static_cast<unsigned>(static_cast<unsigned char>(in[j])); };
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = u(i) << 16 | u(i + 1) << 8 | u(i + 2);
    out += k[v >> 18 & 63];
    out += k[v >> 12 & 63];
    out += k[v >> 6 & 63];
    out += k[v & 63];
  }
  if (in.size() - i == 1) {
    unsigned v = u(i) << 16;
    out += k[v >> 18 & 63];
    out += k[v >> 12 & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    unsigned v = u(i) << 16 | u(i + 1) << 8;
    out += k[v >> 18 & 63];
    out += k[v >> 12 & 63];
    out += k[v >> 6 & 63];
    out += '=';
  }
  return out;
}

// Merges, in rank order from 256.
const std::vector<std::string> kMerges = {
    "ab",      // 256
    "bc",      // 257
    "abc",     // 258: reachable from ab + c
    "cd",      // 259: loses to bc in "bcd"
    "he",      // 260
    "ll",      // 261
    "hell",    // 262: he + ll
    "hello",   // 263
    " w",      // 264
    " wo",     // 265
    "or",      // 266
    "ld",      // 267
    " world",  // 268: reachable through " wo" + "rld"
    "rld",     // 269
    "12",      // 270
    "123",     // 271
};

std::string rank_file_text() {
  std::string t;
  for (int b = 0; b < 256; ++b) t += b64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  for (std::size_t i = 0; i < kMerges.size(); ++i) t += b64(kMerges[i]) + " " + std::to_string(256 + i) + "\n";
  return t;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/chat_tiktoken_XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::shared_ptr<const chat::detail::TiktokenBpe> bpe(chat::TiktokenEncoding e = chat::TiktokenEncoding::kCl100kBase) {
  auto b = chat::detail::TiktokenBpe::from_text(rank_file_text(), e);
  REQUIRE(b.ok());
  return *b;
}

using Pieces = std::vector<std::string>;
using Ids = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("tiktoken: merges follow rank order", "[tokens]") {
  auto b = bpe();
  CHECK(b->vocabulary_size() == 256 + kMerges.size());
  CHECK(b->encode("abc") == Ids{258});        // ab (256) before bc (257), then abc
  CHECK(b->encode("bcd") == Ids{257, 'd'});   // bc (257) beats cd (259); "bcd" has no rank
  CHECK(b->encode("abcd") == Ids{258, 'd'});  // ab, abc; then "abcd" has no rank
  CHECK(b->encode("cd") == Ids{259});
  CHECK(b->encode("hello") == Ids{263});      // a whole piece with a rank is one token
  CHECK(b->encode("hellx") == Ids{262, 'x'});  // he + ll -> hell
  CHECK(b->encode("xyz") == Ids{'x', 'y', 'z'});
  // " worlds" has no rank of its own: " w" (264), " wo" (265; "or" can no
  // longer form), "ld" (267), "rld" (269), " world" (268), then "s" stays.
  CHECK(b->encode(" worlds") == Ids{268, 's'});
  CHECK(b->encode("") == Ids{});
}

TEST_CASE("tiktoken: cl100k pre-tokenizer splits", "[tokens]") {
  auto b = bpe();
  CHECK(b->split("I'm here") == Pieces{"I", "'m", " here"});
  CHECK(b->split("don't YOU'LL") == Pieces{"don", "'t", " YOU", "'LL"});
  CHECK(b->split("12345 6") == Pieces{"123", "45", " ", "6"});  // digits in groups of 1-3, no leading space
  CHECK(b->split("hello  world") == Pieces{"hello", " ", " world"});
  CHECK(b->split("a\n\nb") == Pieces{"a", "\n\n", "b"});
  CHECK(b->split("end.  \n") == Pieces{"end", ".", "  \n"});
  CHECK(b->split("Hello, world!") == Pieces{"Hello", ",", " world", "!"});
  CHECK(b->split("naïve café 日本語") == Pieces{"naïve", " café", " 日本語"});
  CHECK(b->split("x   ") == Pieces{"x", "   "});  // trailing whitespace is one piece
  CHECK(b->split("HelloWorld") == Pieces{"HelloWorld"});
  // Counts: "12345" is "123" (271) + "45" (2 bytes) = 3 tokens.
  CHECK(b->count("12345") == 3);
  // "hello" is one token; " hello" merges he, ll, hell, hello and stays " " + "hello".
  CHECK(b->encode("hello hello") == Ids{263, ' ', 263});
}

TEST_CASE("tiktoken: o200k pre-tokenizer splits", "[tokens]") {
  auto b = bpe(chat::TiktokenEncoding::kO200kBase);
  CHECK(b->split("HelloWorld") == Pieces{"Hello", "World"});  // case changes split words
  CHECK(b->split("I'm here") == Pieces{"I'm", " here"});      // contractions stay attached
  CHECK(b->split("12345") == Pieces{"123", "45"});
  CHECK(b->split("a/b\n\n") == Pieces{"a", "/b", "\n\n"});
}

TEST_CASE("tiktoken counter: loads a rank file, exact and named", "[tokens]") {
  TempFile f(rank_file_text());
  auto c = chat::make_tiktoken_counter(f.path, chat::TiktokenEncoding::kCl100kBase);
  REQUIRE(c.ok());
  CHECK((*c)->exact());
  CHECK((*c)->name() == "cl100k_base");
  CHECK((*c)->count("abc") == 1);
  CHECK((*c)->count("hello") == 1);
  CHECK((*c)->count("") == 0);
  CHECK((*c)->count(std::string("ab\xff")) > 0);  // invalid UTF-8 is counted, not rejected
  CHECK(chat::parse_tiktoken_encoding("o200k_base") == chat::TiktokenEncoding::kO200kBase);
  CHECK_FALSE(chat::parse_tiktoken_encoding("p50k_base"));
}

TEST_CASE("tiktoken counter: clear errors for missing and malformed files", "[tokens]") {
  auto missing = chat::make_tiktoken_counter("/nonexistent/cl100k_base.tiktoken", chat::TiktokenEncoding::kCl100kBase);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == chat::ErrorCode::kNotFound);
  CHECK(missing.error().field == "path");

  auto with_line3 = [](const std::string& bad) {
    std::string t = b64("a") + " 97\n" + b64("b") + " 98\n" + bad + "\n";
    return chat::detail::TiktokenBpe::from_text(t, chat::TiktokenEncoding::kCl100kBase);
  };
  for (const std::string& bad : std::vector<std::string>{"YWI=", "YWI= x", "!!!! 300", b64("a") + " 301", b64("zz") + " 97"}) {
    auto r = with_line3(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == chat::ErrorCode::kInvalidArgument);
    CHECK(r.error().message.find("line 3") != std::string::npos);
  }
  auto empty = chat::detail::TiktokenBpe::from_text("", chat::TiktokenEncoding::kCl100kBase);
  REQUIRE_FALSE(empty.ok());
  auto no_bytes = chat::detail::TiktokenBpe::from_text(b64("a") + " 0\n", chat::TiktokenEncoding::kCl100kBase);
  REQUIRE_FALSE(no_bytes.ok());
  CHECK(no_bytes.error().message.find("byte") != std::string::npos);
}

namespace {

// The scan merge of tiktoken's byte_pair_merge, written plainly: the
// reference the heap merge must equal.
Ids scan_merge(const std::string& piece, const std::map<std::string, std::uint32_t>& ranks) {
  if (auto it = ranks.find(piece); it != ranks.end()) return {it->second};
  std::vector<std::string> parts;
  for (char c : piece) parts.emplace_back(1, c);
  for (;;) {
    std::size_t best = 0;
    std::uint32_t best_rank = UINT32_MAX;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = ranks.find(parts[i] + parts[i + 1]);
      if (it != ranks.end() && it->second < best_rank) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank == UINT32_MAX) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  Ids out;
  for (const auto& p : parts) out.push_back(ranks.at(p));
  return out;
}

std::map<std::string, std::uint32_t> rank_map(const std::vector<std::string>& merges) {
  std::map<std::string, std::uint32_t> m;
  for (int b = 0; b < 256; ++b) m[std::string(1, static_cast<char>(b))] = static_cast<std::uint32_t>(b);
  for (std::size_t i = 0; i < merges.size(); ++i) m[merges[i]] = static_cast<std::uint32_t>(256 + i);
  return m;
}

}  // namespace

TEST_CASE("tiktoken: the heap merge equals the scan merge on random text", "[tokens]") {
  auto b = bpe();
  const auto ranks = rank_map(kMerges);
  const std::string alphabet = "abcdhelowr123 ";
  std::uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  for (int round = 0; round < 500; ++round) {
    std::string text;
    const std::size_t len = next() % 40;
    for (std::size_t i = 0; i < len; ++i) text += alphabet[next() % alphabet.size()];
    Ids expected;
    for (const auto& piece : b->split(text)) {
      const Ids ids = scan_merge(piece, ranks);
      expected.insert(expected.end(), ids.begin(), ids.end());
    }
    INFO("text: '" << text << "'");
    CHECK(b->encode(text) == expected);
  }
}

TEST_CASE("tiktoken: one long run of a letter merges in near-linear time", "[tokens]") {
  // Issue 11: 256 KiB of one letter is one piece; the scan merge took 26.6 s.
  // Ranks for runs of 2, 4, ..., 64 'a's: 2^18 letters become 4096 tokens of 64.
  std::vector<std::string> merges;
  for (std::size_t n = 2; n <= 64; n *= 2) merges.push_back(std::string(n, 'a'));
  std::string text;
  for (int b = 0; b < 256; ++b) text += b64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  for (std::size_t i = 0; i < merges.size(); ++i) text += b64(merges[i]) + " " + std::to_string(256 + i) + "\n";
  auto b = chat::detail::TiktokenBpe::from_text(text, chat::TiktokenEncoding::kCl100kBase);
  REQUIRE(b.ok());
  const auto ids = (*b)->encode(std::string(256 * 1024, 'a'));
  REQUIRE(ids.size() == 4096);
  CHECK(ids.front() == 256 + merges.size() - 1);
  CHECK(ids.back() == 256 + merges.size() - 1);
  const auto odd = (*b)->encode(std::string(67, 'a'));  // 64 + 2 + 1
  CHECK(odd == Ids{261, 256, 'a'});
}
