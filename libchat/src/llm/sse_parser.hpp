// A Server-Sent Events reader for streamed chat completions. Private to libchat.
//
// feed() takes the body in pieces of any size (a piece may end mid-line,
// mid-"data:" or mid-UTF-8 sequence) and calls on_event with the data of each
// complete event: the "data:" lines of the event (one optional space after the
// colon removed), joined by '\n', dispatched at the blank line that ends it.
// Lines end with LF or CRLF. Comment lines (starting with ':') and other
// fields (event:, id:, retry:) are ignored. on_event returning false stops
// the reader (feed returns false from then on).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chat::detail {

class SseParser {
 public:
  template <typename F>
  bool feed(std::string_view piece, F&& on_event) {
    if (stopped_) return false;
    buffer_.append(piece);
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = buffer_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(buffer_.data() + start, nl - start);
      start = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!take_line(line, on_event)) {
        stopped_ = true;
        buffer_.clear();
        return false;
      }
    }
    buffer_.erase(0, start);
    if (buffer_.size() > kMaxLine) {  // a line this long is not a chat stream
      stopped_ = true;
      return false;
    }
    return true;
  }

  // The end of the body: a last line without its newline, and an event
  // without its blank line, are dispatched.
  template <typename F>
  bool finish(F&& on_event) {
    if (stopped_) return false;
    if (!buffer_.empty()) {
      std::string line = std::move(buffer_);
      buffer_.clear();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!take_line(line, on_event)) return stopped_ = true, false;
    }
    return take_line(std::string_view(), on_event);
  }

  bool saw_data() const noexcept { return saw_data_; }

 private:
  static constexpr std::size_t kMaxLine = 16 << 20;

  template <typename F>
  bool take_line(std::string_view line, F& on_event) {
    if (line.empty()) {
      if (!has_data_) return true;
      has_data_ = false;
      std::string data = std::move(data_);
      data_.clear();
      return on_event(std::string_view(data));
    }
    if (line.front() == ':') return true;  // comment / keep-alive
    std::string_view field = line;
    std::string_view value;
    if (auto colon = line.find(':'); colon != std::string_view::npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field != "data") return true;
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
    saw_data_ = true;
    return true;
  }

  std::string buffer_;
  std::string data_;
  bool has_data_ = false;
  bool saw_data_ = false;
  bool stopped_ = false;
};

}  // namespace chat::detail
