// Placeholder until the daemon lands.
#include <cstdio>
int main() {
  std::puts("chatd: not built yet");
  return 1;
}
