// Placeholder until the service lands; keeps the tree building.
#include "chat/service.hpp"

namespace chat {

Result<std::unique_ptr<ChatService>> make_chat_service(ServiceDeps, ServiceOptions) {
  return Error::internal("the chat service is not built yet");
}

}  // namespace chat
