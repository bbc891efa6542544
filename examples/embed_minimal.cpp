// The smallest useful embedding of libchat: an in-memory store, the service
// with its defaults (echo provider, system clock), one conversation, one
// message, one AI reply, and the history printed. Exits non-zero on any error.
//
// Built in-tree and, by the consumer test, against an installed libchat via
// find_package(libchat): it includes public <chat/...> headers only.
#include <chat/chat.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

namespace {

int fail(const char* what, const chat::Error& e) {
  std::fprintf(stderr, "embed_minimal: %s failed: %s (%s)\n", what, e.message.c_str(),
               std::string(chat::to_string(e.code)).c_str());
  return 1;
}

}  // namespace

int main() {
  auto store = chat::open_memory_store();
  if (!store) return fail("open_memory_store", store.error());

  chat::ServiceDeps deps;
  deps.store = std::shared_ptr<chat::Store>(std::move(store).value());
  auto service = chat::make_chat_service(std::move(deps));
  if (!service) return fail("make_chat_service", service.error());
  chat::ChatService& chat_service = **service;

  const auto me = chat::Principal::user("42");
  chat::NewConversation nc;
  nc.kind = chat::ConversationKind::kSupport;
  nc.title = "Hello from embed_minimal";
  auto conversation = chat_service.create_conversation(me, nc);
  if (!conversation) return fail("create_conversation", conversation.error());
  const auto key = chat::ConversationKey::of_id(conversation->id);

  chat::NewMessage note;
  note.content = "A first note, stored as is.";
  note.client_id = "note-1";
  auto posted = chat_service.post_message(me, key, note);
  if (!posted) return fail("post_message", posted.error());

  chat::ReplyRequest question;
  question.content = "hello libchat";
  auto reply = chat_service.reply(me, key, question);
  if (!reply) return fail("reply", reply.error());
  if (reply->assistant_message.content != "Echo: hello libchat") {
    std::fprintf(stderr, "embed_minimal: unexpected reply: %s\n", reply->assistant_message.content.c_str());
    return 1;
  }

  auto history = chat_service.list_messages(me, key, chat::MessageQuery{});
  if (!history) return fail("list_messages", history.error());
  std::printf("libchat %s: conversation %lld \"%s\"\n", chat::kVersionString,
              static_cast<long long>(conversation->id), conversation->title.c_str());
  for (const auto& m : history->items)
    std::printf("  #%lld %s [%s]: %s\n", static_cast<long long>(m.id), chat::format_timestamp(m.created_at).c_str(),
                std::string(chat::to_string(m.role)).c_str(), m.content.c_str());
  if (history->items.size() != 3) {
    std::fprintf(stderr, "embed_minimal: expected 3 messages, got %zu\n", history->items.size());
    return 1;
  }
  std::printf("tokens used by the reply: %lld, in %.6f s\n",
              static_cast<long long>(reply->usage.total_tokens), reply->usage.processing_time);
  return 0;
}
