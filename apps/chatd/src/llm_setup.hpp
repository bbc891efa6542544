// llm_setup.hpp: the provider, token counter and service options chatd runs
// with, from its Config.
//
// --llm echo (default): the echo provider (pausing --llm-echo-delay-ms before
// each streamed word); --llm-base-url and --llm-model are ignored (with a
// warning from main).
// --llm openai: chat::make_openai_provider with base URL --llm-base-url
// (default https://api.openai.com), model --llm-model (required), the API key
// from the environment variable named by --llm-api-key-env (default
// OPENAI_API_KEY; unset or empty: no Authorization header, as Ollama and
// llama.cpp want), read timeout --llm-timeout, connect timeout 10 s, 2
// retries. The model becomes the service's default model, so every AI
// endpoint of every seed uses it (an agent's own model still wins).
// Every provider runs under the model-call bounds (chat::ModelCallBounds in
// ServiceOptions::model_calls): --llm-max-concurrent, --llm-deadline,
// --llm-first-byte-timeout, --llm-max-reply-bytes and --llm-max-tokens (the
// default max_tokens, applied by the service, not the provider).
// --tokenizer PATH: the exact tiktoken counter (--tokenizer-encoding);
// otherwise the estimating counter.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "chat/llm.hpp"
#include "chat/result.hpp"
#include "chat/service.hpp"
#include "chat/token_counter.hpp"
#include "config.hpp"

namespace chatd {

struct LlmSetup {
  std::shared_ptr<chat::LlmProvider> llm;
  std::shared_ptr<chat::TokenCounter> tokens;
  chat::ServiceOptions service;  // default_model, context budgets and the price table set
  bool has_api_key = false;
};

using GetEnv = std::function<std::optional<std::string>(const std::string& name)>;

// Errors are kInvalidArgument naming the flag (--llm-model, --llm-base-url,
// --tokenizer) with a message for the terminal.
chat::Result<LlmSetup> make_llm_setup(const Config& config, const GetEnv& getenv);

// GetEnv over the process environment.
std::optional<std::string> process_getenv(const std::string& name);

}  // namespace chatd
