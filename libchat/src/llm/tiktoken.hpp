// tiktoken BPE (see chat/token_counter.hpp). Private to libchat; tests use it
// to check token ids and pre-tokenizer pieces, not only counts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/result.hpp"
#include "chat/token_counter.hpp"

namespace chat::detail {

// The pre-tokenizer pattern of an encoding (PCRE2 syntax, UTF + UCP).
std::string_view tiktoken_pattern(TiktokenEncoding e) noexcept;

class TiktokenBpe {
 public:
  // From "<base64> <rank>" lines (the content of a rank file).
  static Result<std::shared_ptr<const TiktokenBpe>> from_text(std::string_view text, TiktokenEncoding e);
  static Result<std::shared_ptr<const TiktokenBpe>> from_file(const std::string& path, TiktokenEncoding e);
  ~TiktokenBpe();

  // The pieces the pre-tokenizer cuts `text` into (text must be valid UTF-8).
  std::vector<std::string> split(std::string_view text) const;
  std::vector<std::uint32_t> encode(std::string_view text) const;
  std::int64_t count(std::string_view text) const;
  TiktokenEncoding encoding() const noexcept { return encoding_; }
  std::size_t vocabulary_size() const noexcept { return ranks_.size(); }
  // The byte length of the longest token (>= 1).
  std::size_t max_token_bytes() const noexcept { return max_token_bytes_; }
  // FNV-1a (32 bits) of the rank file's text: tells rank files apart.
  std::uint32_t fingerprint() const noexcept { return fingerprint_; }

  struct Regex;  // PCRE2 state, defined in the .cpp

 private:
  TiktokenBpe() = default;
  template <typename F>
  void for_each_piece(std::string_view text, F&& f) const;
  void encode_piece(std::string_view piece, std::vector<std::uint32_t>& out) const;

  std::unordered_map<std::string, std::uint32_t> ranks_;
  TiktokenEncoding encoding_ = TiktokenEncoding::kCl100kBase;
  std::size_t max_token_bytes_ = 1;
  std::uint32_t fingerprint_ = 0;
  std::unique_ptr<Regex> regex_;
};

}  // namespace chat::detail
