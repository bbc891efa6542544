// chat/support.hpp: the support desk of seeds 002 and 003 (customer widget
// posts; see ChatService::post_support_message).
//
// A support conversation (ConversationKind::kSupport) is a customer's thread
// with the desk: a customer (anonymous or a user) writes role user, a human
// agent (PrincipalRole::kAgent) or an admin writes role agent, the AI persona
// writes role assistant. Plain value types.
//
// Seed words: seed 002 `conversation` = the conversation uuid, `since` =
// SupportPost::after_id (the cursor: a message id), author `CUS` = Role::kUser,
// `AGE` = Role::kAgent or Role::kAssistant; seed 003 sender `agent` = the
// agent side (NewMessage::agent_side).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "chat/result.hpp"
#include "chat/types.hpp"

namespace chat {

// A customer-widget post (seed 002 POST /api/messages/).
struct SupportPost {
  // The conversation uuid as the client sent it. Empty, not a uuid, or naming
  // no support conversation the caller sees: a new conversation is created
  // (callers of role user or anonymous only; agents and admins get kNotFound,
  // field "conversation": they answer existing conversations, they do not
  // open customer chats).
  std::string conversation;
  std::string name;  // contact details, taken when the conversation is created
  std::string email;
  std::string content;
  // The cursor (seed 002 `since`): the result lists the messages with id >
  // after_id; nullopt: every live message of the conversation (at most
  // ServiceOptions::max_page, oldest first).
  std::optional<std::int64_t> after_id;
  // Admission of a new conversation (issue 9: the caller's creation rate
  // limit, which only the service can charge exactly, since only it knows
  // whether this post opens a conversation). Called once, after the post is
  // validated and just before the new conversation is stored; never for a
  // post to an existing conversation nor for a refused one. An error it
  // returns is returned as is and nothing is stored. Empty: admitted. Called
  // on the caller's thread, while post_support_message runs.
  std::function<Status()> admit_new_conversation;
};

struct SupportPostResult {
  Conversation conversation;
  Message message;  // the stored message (role user, or agent for agents and admins)
  bool created_conversation = false;
  std::vector<Message> messages;  // chronological, per SupportPost::after_id
};

}  // namespace chat
