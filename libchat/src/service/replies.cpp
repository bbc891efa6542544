#include "service/replies.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/text.hpp"
#include "chat/uuid.hpp"
#include "json_text.hpp"
#include "service/access.hpp"
#include "service/service_validate.hpp"

namespace chat::detail {

namespace {

constexpr std::int64_t kContextHistoryLimit = 1000;
constexpr std::int64_t kReplayScanLimit = 50;

Usage usage_of_stored(const Message& m) {
  Usage u;
  u.completion_tokens = m.tokens_used.value_or(0);
  u.processing_time = m.processing_time.value_or(0);
  u.cost = m.cost.value_or(0);
  auto meta = nlohmann::json::parse(m.metadata, nullptr, false);
  if (meta.is_object()) {
    auto it = meta.find("prompt_tokens");
    if (it != meta.end() && it->is_number_integer()) u.prompt_tokens = it->get<std::int64_t>();
  }
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

// Delivers one chunk; a consumer that throws is a consumer gone.
bool deliver(const StreamCallback& on_chunk, const StreamEvent& event) noexcept {
  try {
    return on_chunk(event);
  } catch (...) {
    return false;
  }
}

}  // namespace

Status Replies::validate(ReplyRequest& r) const {
  const ServiceOptions& o = core_.options;
  CHAT_RETURN_IF_ERROR(check_text("content", r.content, o.max_content_bytes));
  CHAT_RETURN_IF_ERROR(check_text("client_id", r.client_id, kMaxClientIdBytes));
  if (!r.client_id.empty() && r.content.empty())
    return Error::invalid("content", "content is required when client_id is given");
  // Empty content asks for a reply to the thread as it is; blank content is
  // neither that nor a message (chat::is_blank).
  if (!r.content.empty() && is_blank(r.content)) return Error::invalid("content", "content is required");
  CHAT_ASSIGN_OR_RETURN(r.metadata, normalize_json_object(r.metadata, "metadata", o.max_metadata_bytes));
  CHAT_RETURN_IF_ERROR(check_text("model", r.model, kMaxNameBytes));
  if (r.max_tokens && *r.max_tokens <= 0) return Error::invalid("max_tokens", "max_tokens must be positive");
  if (r.temperature && !(*r.temperature >= 0.0 && *r.temperature <= 2.0))
    return Error::invalid("temperature", "temperature must be between 0 and 2");
  return {};
}

Status Replies::check(const Principal& who, const ConversationKey& key, const ReplyRequest& r) {
  ReplyRequest copy = r;
  CHAT_RETURN_IF_ERROR(validate(copy));
  CHAT_ASSIGN_OR_RETURN(auto c, keys_.conversation(who, key));
  if (r.agent_id) CHAT_RETURN_IF_ERROR(registries_.check_agent_exists(*r.agent_id));
  CHAT_RETURN_IF_ERROR(check_writable(c, core_.now()));
  return core_.calls.check_admissible();
}

Result<std::optional<Agent>> Replies::persona(const Conversation& c, const ReplyRequest& r) {
  if (r.agent_id) {
    CHAT_RETURN_IF_ERROR(registries_.check_agent_exists(*r.agent_id));
    CHAT_ASSIGN_OR_RETURN(auto a, core_.store->get_agent(*r.agent_id));
    return std::optional<Agent>(std::move(a));
  }
  if (!c.agent_id) return std::optional<Agent>();
  auto a = core_.store->get_agent(*c.agent_id);
  if (a) return std::optional<Agent>(std::move(*a));
  if (a.error().code != ErrorCode::kNotFound) return std::move(a).error();
  return std::optional<Agent>();
}

// Seeds 002/003: the client posted this message already (see ReplyRequest).
Result<std::optional<Message>> Replies::reusable_user_message(const Conversation& c, const ReplyRequest& r) {
  if (!r.reuse_latest_user_message || !r.client_id.empty() || r.content.empty()) return std::optional<Message>();
  MessageQuery q;
  q.newest_first = true;
  q.include_system = false;
  q.limit = 1;
  CHAT_ASSIGN_OR_RETURN(auto latest, core_.store->list_messages(c.id, q));
  if (latest.items.empty() || latest.items.front().role != Role::kUser || latest.items.front().content != r.content)
    return std::optional<Message>();
  return std::optional<Message>(std::move(latest.items.front()));
}

Result<std::optional<Message>> Replies::stored_answer(std::int64_t conversation_id, std::int64_t user_message_id) {
  MessageQuery q;
  q.after_id = user_message_id;
  q.include_system = false;
  q.limit = kReplayScanLimit;
  CHAT_ASSIGN_OR_RETURN(auto page, core_.store->list_messages(conversation_id, q));
  for (auto& m : page.items) {
    if (m.role == Role::kUser) break;
    if (m.role == Role::kAssistant && m.status != MessageStatus::kFailed) return std::optional<Message>(std::move(m));
  }
  return std::optional<Message>();
}

ReplyResult Replies::replayed(const Conversation& c, Message user, Message answer, const StreamCallback* on_chunk) {
  ReplyResult out;
  out.user_message = std::move(user);
  out.assistant_message = std::move(answer);
  out.usage = usage_of_stored(out.assistant_message);
  if (on_chunk != nullptr && !out.assistant_message.content.empty()) {
    // A retried stream gets the stored answer as one chunk, so that a client
    // rendering chunks still sees the whole reply; a consumer gone changes nothing.
    StreamEvent event;
    event.chunk = out.assistant_message.content;
    event.user_message = &*out.user_message;
    event.assistant_uuid = out.assistant_message.uuid;
    (void)deliver(*on_chunk, event);
  }
  out.conversation = refreshed(c);
  return out;
}

Result<ContextWindow> Replies::context(const Conversation& c, const ReplyRequest& r, const std::optional<Agent>& agent,
                                       const std::optional<Message>& user) {
  const ServiceOptions& o = core_.options;
  ContextParams params;
  params.system_prompt = agent && !agent->system_prompt.empty() ? agent->system_prompt : o.default_system_prompt;
  params.initial_context = c.initial_context;
  if (!r.content.empty()) params.new_message = r.content;
  params.include_context = r.include_context;
  params.context_tokens = o.context_tokens;
  params.reply_tokens = o.reply_tokens;
  params.max_history = std::min(kContextHistoryLimit, o.max_page);
  // Newest first from before the user message (a reused one is the new
  // message, not history), only as far as the budget reaches.
  ContextQuery q;
  q.before_id = user ? user->id : 0;
  q.counter = std::string(core_.tokens->counter_id());
  const HistoryReader history = [&](std::int64_t limit, std::size_t max_bytes) -> Result<std::vector<ContextMessage>> {
    q.limit = limit;
    q.max_bytes = max_bytes;
    CHAT_ASSIGN_OR_RETURN(auto batch, core_.store->list_context(c.id, q));
    if (!batch.empty()) q.before_id = batch.back().id;
    return batch;
  };
  return build_context_window(params, history, *core_.tokens);
}

Result<Message> Replies::store_user_message(const Conversation& c, const ReplyRequest& r,
                                            std::int64_t content_tokens) {
  NewMessage um;
  um.client_id = r.client_id;
  um.role = Role::kUser;
  um.content = r.content;
  um.metadata = r.metadata;
  um.content_tokens = core_.context_tokens(um.role, um.status, um.content, content_tokens);
  // Writability judged by the writer, on the row as it commits: a session
  // deactivated or expired since the reply looked it up takes no message.
  auto stored = core_.store->append_message(c.id, um, core_.now(),
                                            [&](const Conversation& row) { return check_writable(row, core_.now()); });
  if (!stored) return not_found_as(std::move(stored).error(), conversation_not_found(c.kind));
  if (!stored->created && (stored->message.role != Role::kUser || stored->message.content != r.content))
    return Error::conflict("client_id", "client_id is already used by a different message");
  if (stored->created) core_.publish(c.id, "message.created", stored->message.id);
  return std::move(stored->message);
}

Replies::Generated Replies::call_provider(const ModelCalls::Permit& permit, const CompletionRequest& request,
                                          const std::optional<Message>& user, const std::string& assistant_uuid,
                                          const StreamCallback* on_chunk) {
  Generated g;
  const auto started = std::chrono::steady_clock::now();
  try {
    if (on_chunk == nullptr) {
      g.completion = core_.calls.complete(permit, request);
      if (g.completion) g.text = g.completion->content;
    } else {
      StreamEvent event;
      event.user_message = user ? &*user : nullptr;
      event.assistant_uuid = assistant_uuid;
      g.completion = core_.calls.stream(permit, request, [&](std::string_view chunk) {
        if (g.cancelled) return false;
        ++g.chunks;
        event.chunk = chunk;
        if (!deliver(*on_chunk, event)) {
          g.cancelled = true;
          return false;
        }
        g.text.append(chunk);
        return true;
      });
    }
  } catch (const std::exception& e) {
    g.completion = Error::upstream("the model provider failed");
    core_.log(LogLevel::kError, std::string("provider threw: ") + e.what());
  } catch (...) {
    g.completion = Error::upstream("the model provider failed");
    core_.log(LogLevel::kError, "provider threw");
  }
  g.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return g;
}

double Replies::cost_of(const std::string& model, std::int64_t prompt_tokens, std::int64_t completion_tokens) const {
  for (const auto& p : core_.options.prices)
    if (p.model == model)
      return static_cast<double>(prompt_tokens) / 1000.0 * p.prompt_per_1k +
             static_cast<double>(completion_tokens) / 1000.0 * p.completion_per_1k;
  return 0;
}

Usage Replies::usage_of(const Generated& g, const std::string& model, std::int64_t window_prompt_tokens) const {
  Usage u;
  if (g.completion && g.completion->usage_reported) {
    u.prompt_tokens = std::max<std::int64_t>(g.completion->prompt_tokens, 0);
    u.completion_tokens = std::max<std::int64_t>(g.completion->completion_tokens, 0);
  } else {
    u.prompt_tokens = window_prompt_tokens;
    u.completion_tokens = core_.tokens->count(g.text);
  }
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  u.processing_time = g.seconds;
  u.cost = cost_of(model, u.prompt_tokens, u.completion_tokens);
  return u;
}

Result<Message> Replies::store_answer(const Conversation& c, const Generated& g, const Usage& usage,
                                      const std::string& model, const std::string& assistant_uuid,
                                      const std::optional<Message>& user) {
  nlohmann::json meta = {{"model", model},
                         {"prompt_tokens", usage.prompt_tokens},
                         {"completion_tokens", usage.completion_tokens}};
  meta["finish_reason"] = g.cancelled     ? std::string("cancelled")
                          : !g.completion ? std::string("error")
                                          : (g.completion->finish_reason.empty() ? std::string("stop")
                                                                                 : g.completion->finish_reason);
  if (user) meta["reply_to"] = user->id;

  NewMessage am;
  am.uuid = assistant_uuid;
  am.role = Role::kAssistant;
  am.content = sanitize_utf8(g.text);
  am.status = !g.completion || g.cancelled ? MessageStatus::kFailed : MessageStatus::kComplete;
  am.metadata = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  am.tokens_used = usage.completion_tokens;
  // The provider's completion_tokens count in the model's own terms (and
  // echo counts words): the window's counter counts the stored text.
  am.content_tokens = core_.context_tokens(am.role, am.status, am.content);
  am.processing_time = usage.processing_time;
  am.cost = usage.cost;
  auto stored = core_.store->append_message(c.id, am, core_.now());
  if (!stored) {
    core_.log(LogLevel::kWarn, "storing the assistant message failed: " + stored.error().message);
    return not_found_as(std::move(stored).error(), conversation_not_found(c.kind));
  }
  core_.publish(c.id, "message.created", stored->message.id);
  return std::move(stored->message);
}

Conversation Replies::refreshed(const Conversation& c) {
  auto fresh = core_.store->get_conversation(c.id);
  return fresh ? std::move(*fresh) : c;
}

Result<ReplyResult> Replies::reply(const Principal& who, const ConversationKey& key, ReplyRequest r,
                                   const StreamCallback* on_chunk, ModelCalls::Permit* permit) {
  CHAT_RETURN_IF_ERROR(validate(r));
  CHAT_ASSIGN_OR_RETURN(const Conversation c, keys_.conversation(who, key));
  CHAT_ASSIGN_OR_RETURN(const auto agent, persona(c, r));

  CHAT_ASSIGN_OR_RETURN(std::optional<Message> user, reusable_user_message(c, r));
  if (!r.client_id.empty()) {
    CHAT_ASSIGN_OR_RETURN(auto replay, messages_.find_replay(c.id, r.client_id, Role::kUser, r.content));
    if (replay) {
      user = std::move(*replay);
      CHAT_ASSIGN_OR_RETURN(auto answer, stored_answer(c.id, user->id));
      if (answer) return replayed(c, std::move(*user), std::move(*answer), on_chunk);
    }
  }
  CHAT_RETURN_IF_ERROR(check_writable(c, core_.now()));

  CHAT_ASSIGN_OR_RETURN(auto window, context(c, r, agent, user));
  // Without a new message the model answers the conversation as it stands,
  // which needs a user turn in the window: a reply to nothing is the
  // caller's mistake, not an answer to store.
  if (r.content.empty() && std::none_of(window.turns.begin(), window.turns.end(),
                                        [](const ChatTurn& t) { return t.role == Role::kUser; }))
    return Error::invalid("content", "content is required: the conversation has no user message to answer");
  ModelCalls::Permit own;
  if (permit == nullptr || !permit->held()) {
    CHAT_ASSIGN_OR_RETURN(own, core_.calls.admit());
    permit = &own;
  }
  if (r.stop.stop_requested()) return Error::unavailable("the model call was cancelled");
  if (!r.content.empty() && !user) {
    CHAT_ASSIGN_OR_RETURN(user, store_user_message(c, r, window.new_message_tokens));
  }

  CompletionRequest request;
  request.model = !r.model.empty() ? r.model : (agent && !agent->model.empty() ? agent->model : core_.options.default_model);
  request.messages = std::move(window.turns);
  request.temperature = r.temperature;
  request.max_tokens = r.max_tokens;
  request.stop = r.stop;
  // Known before the first chunk, so that a stream can name the message it is producing.
  const std::string assistant_uuid = generate_uuid_v4();
  Generated g = call_provider(*permit, request, user, assistant_uuid, on_chunk);
  // A stream stopped from outside after it produced text was cancelled, as
  // when its consumer returns false.
  if (!g.completion && g.chunks > 0 && (r.stop.stop_requested() || core_.calls.is_shut_down())) g.cancelled = true;

  if (!g.completion && g.chunks == 0) {
    // Nothing was produced: keep the user message, store no answer; a retry
    // with the same client_id generates again.
    core_.log(LogLevel::kWarn, "reply failed before any output: " + g.completion.error().message);
    return std::move(g.completion).error();
  }
  if (!g.completion) core_.log(LogLevel::kWarn, "reply stream failed after output: " + g.completion.error().message);

  const Usage usage = usage_of(g, request.model, window.prompt_tokens);
  auto answer = store_answer(c, g, usage, request.model, assistant_uuid, user);
  if (!g.completion) return std::move(g.completion).error();
  if (!answer) return std::move(answer).error();

  ReplyResult out;
  out.user_message = std::move(user);
  out.assistant_message = std::move(*answer);
  out.usage = usage;
  out.conversation = refreshed(c);
  return out;
}

}  // namespace chat::detail
