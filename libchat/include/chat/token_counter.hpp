// chat/token_counter.hpp: counting tokens for context budgets.
//
// A TokenCounter says how many model tokens a text costs. Implementations are
// immutable after construction and thread-safe.
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
};

// The documented estimate used when no tokenizer is configured: one token per
// four bytes of UTF-8, rounded up (so any non-empty text costs at least one).
// It overestimates typical English slightly, the safe side for budgets.
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
