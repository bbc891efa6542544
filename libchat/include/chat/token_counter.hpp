// chat/token_counter.hpp: counting tokens for context budgets.
//
// A TokenCounter says how many model tokens a text costs. Implementations are
// immutable after construction and thread-safe.
//
// Counts are cached (issue 11): ChatService counts a message's content when it
// is written and the Store keeps the count together with the counter's
// counter_id() (NewMessage::content_tokens), so that a reply's context window
// reads counts instead of counting its whole history on every request. A
// cached count is used only by a counter with the same id; any other counter
// counts again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "chat/result.hpp"

namespace chat {

class TokenCounter {
 public:
  virtual ~TokenCounter() = default;
  virtual std::int64_t count(std::string_view text) const = 0;
  virtual std::string_view name() const = 0;
  // True when counts match the model's tokenizer; false for an estimate.
  virtual bool exact() const = 0;
  // A short, stable identity of the counting rule (printable ASCII, at most
  // kMaxCounterIdBytes), stored beside cached counts: two counters with the
  // same id count every text alike, and a counter whose counts change
  // (another rank file, a fixed bug) must change its id, which makes every
  // cached count stale. Default "": this counter's counts are never cached.
  virtual std::string_view counter_id() const { return {}; }
  // The most bytes of text one token stands for; 0 when no bound is known
  // (the default). With a bound L, count(text) >= ceil(text.size() / L) for
  // every text, so a text of more than L * budget bytes cannot fit a budget
  // of `budget` tokens and may be refused by its length before any count.
  // (The other direction is not safe: a text of at most `budget` bytes costs
  // at most `budget` tokens for the counters here, but a text longer than
  // the budget in bytes may still fit, e.g. words of several bytes each.)
  virtual std::int64_t max_token_bytes() const { return 0; }
};

inline constexpr std::size_t kMaxCounterIdBytes = 32;

// The documented estimate used when no tokenizer is configured: one token per
// four bytes of UTF-8, rounded up (so any non-empty text costs at least one).
// It overestimates typical English slightly, the safe side for budgets.
// counter_id() "bytes/4"; max_token_bytes() 4.
std::unique_ptr<TokenCounter> make_estimating_token_counter();

// ---- exact counts: tiktoken BPE ---------------------------------------------
//
// The byte-pair encodings of OpenAI models, exactly as tiktoken computes them:
// the text is split by the encoding's pre-tokenizer pattern (contractions,
// runs of letters, digits in groups of 1 to 3, punctuation, whitespace), and
// each piece is merged pairwise by lowest rank until no adjacent pair has a
// rank. Special tokens ("<|endoftext|>") are not recognised: they count as the
// plain text they are. Text that is not valid UTF-8 is counted after invalid
// sequences are replaced by U+FFFD.
//
// The ranks come from a tiktoken rank file (e.g. cl100k_base.tiktoken, as
// tiktoken caches it): one "<base64 of the token bytes> <rank>" per line.
// libchat ships none and downloads none; point it at a file you have.
//
// counter_id() is the encoding's name and a fingerprint of the rank file's
// bytes ("cl100k_base/1f2e3d4c": FNV-1a, 32 bits), so that another rank file
// under the same name does not reuse counts. max_token_bytes() is the longest
// token of the rank file (every token stands for at least one byte of text).
enum class TiktokenEncoding {
  kCl100kBase,  // gpt-4, gpt-3.5-turbo, text-embedding-3-*
  kO200kBase,   // gpt-4o, gpt-4.1, o1, o3
};
// "cl100k_base" / "o200k_base" and back.
std::string_view to_string(TiktokenEncoding e) noexcept;
std::optional<TiktokenEncoding> parse_tiktoken_encoding(std::string_view name) noexcept;

// Loads a rank file. Fails with kNotFound (field "path") when the file cannot
// be read, and kInvalidArgument (field "path") naming the line of a line that
// is not "<base64> <rank>", a duplicate token or rank, or an empty file.
Result<std::unique_ptr<TokenCounter>> make_tiktoken_counter(const std::string& path, TiktokenEncoding encoding);

}  // namespace chat
