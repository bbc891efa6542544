#include "llm_setup.hpp"

#include <cstdlib>

#include "chat/openai_provider.hpp"

namespace chatd {

std::optional<std::string> process_getenv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

chat::Result<LlmSetup> make_llm_setup(const Config& config, const GetEnv& getenv) {
  LlmSetup s;
  s.service.context_tokens = config.context_tokens;
  // Issue 9: every model call is bounded, whatever the provider.
  s.service.model_calls.max_concurrent = config.llm_max_concurrent;
  s.service.model_calls.deadline = std::chrono::seconds(config.llm_deadline_seconds);
  s.service.model_calls.first_chunk_timeout = std::chrono::seconds(config.llm_first_byte_timeout_seconds);
  s.service.model_calls.max_reply_bytes = config.llm_max_reply_bytes;
  s.service.model_calls.default_max_tokens = config.llm_max_tokens;
  // The price table behind the `cost` of AI replies (seed 003), USD per 1,000
  // tokens (prompt / completion); echo is free and unknown models cost 0.
  s.service.prices = {{"echo", 0.0, 0.0},
                      {"gpt-4o-mini", 0.00015, 0.0006},
                      {"gpt-4o", 0.0025, 0.01},
                      {"gpt-3.5-turbo", 0.0005, 0.0015}};
  if (config.tokenizer.empty()) {
    s.tokens = chat::make_estimating_token_counter();
  } else {
    auto enc = chat::parse_tiktoken_encoding(config.tokenizer_encoding);
    if (!enc) return chat::Error::invalid("--tokenizer-encoding", "--tokenizer-encoding: unknown encoding");
    auto counter = chat::make_tiktoken_counter(config.tokenizer, *enc);
    if (!counter) return chat::Error::invalid("--tokenizer", "--tokenizer: " + counter.error().message);
    s.tokens = std::move(*counter);
  }

  if (config.llm == LlmKind::kEcho) {
    s.llm = chat::make_echo_provider(chat::EchoOptions{config.llm_echo_delay});
    return s;
  }
  if (config.llm_model.empty())
    return chat::Error::invalid("--llm-model", "--llm-model: required with --llm openai (e.g. --llm-model llama3.1)");
  chat::OpenAiOptions o;
  if (!config.llm_base_url.empty()) o.base_url = config.llm_base_url;
  o.model = config.llm_model;
  if (auto key = getenv(config.llm_api_key_env); key && !key->empty()) {
    o.api_key = *key;
    s.has_api_key = true;
  }
  o.temperature = config.llm_temperature;
  o.read_timeout = std::chrono::seconds(config.llm_timeout_seconds);
  auto p = chat::make_openai_provider(std::move(o));
  if (!p) {
    const std::string flag = p.error().field == "base_url" ? "--llm-base-url" : "--llm-model";
    return chat::Error::invalid(flag, flag + ": " + p.error().message);
  }
  s.llm = std::move(*p);
  s.service.default_model = config.llm_model;
  return s;
}

}  // namespace chatd
