// Placeholder until the service lands.
#include <chat/chat.hpp>
#include <cstdio>
int main() {
  std::printf("libchat %s\n", chat::kVersionString);
  return 0;
}
