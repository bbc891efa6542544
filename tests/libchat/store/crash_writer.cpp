// Helper of the crash-durability test: opens a file store, appends messages
// in a loop and prints each id on its own line, flushed, only after
// append_message returned it. The test kills it with SIGKILL and checks
// that every printed (acknowledged) id survived.
//
// With several writer threads (group commit, issue 11) each thread appends
// its own sequence and prints its acknowledged ids the same way; a line is
// one write(2) of less than PIPE_BUF bytes, so lines never interleave.
//
// usage: crash_writer <db-path> [max-messages-per-thread] [threads]
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "chat/sqlite_store.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <db-path> [max-messages-per-thread] [threads]\n", argv[0]);
    return 2;
  }
  const long max = argc > 2 ? std::atol(argv[2]) : 1'000'000;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
  chat::SqliteOptions options;
  options.path = argv[1];
  options.reader_connections = 1;
  auto store = chat::open_sqlite_store(options);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
    return 1;
  }
  auto clock = chat::make_system_clock();
  chat::NewConversation nc;
  nc.handle = "crash-test";
  auto conv = (*store)->find_conversation_by_handle(nc.handle);
  if (!conv) conv = (*store)->create_conversation(nc, clock->now());
  if (!conv) {
    std::fprintf(stderr, "conversation: %s\n", conv.error().message.c_str());
    return 1;
  }
  std::atomic<int> failed{0};
  // Thread 0 keeps the client_ids of the single-threaded writer.
  auto writer = [&](int t) {
    const std::string prefix = t == 0 ? "crash-" : "crash-t" + std::to_string(t) + "-";
    for (long i = 0; i < max && failed.load() == 0; ++i) {
      chat::NewMessage m;
      m.role = i % 2 ? chat::Role::kAssistant : chat::Role::kUser;
      m.content = "crash test message " + std::to_string(i);
      m.client_id = prefix + std::to_string(i);
      m.tokens_used = 1;
      auto r = (*store)->append_message(conv->id, m, clock->now());
      if (!r) {
        std::fprintf(stderr, "append: %s\n", r.error().message.c_str());
        failed = 1;
        return;
      }
      // write(2), not stdio: the line is out of the process before the next append.
      const std::string line = std::to_string(r->message.id) + "\n";
      if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        failed = 1;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(writer, t);
  writer(0);
  for (auto& th : pool) th.join();
  return failed.load() == 0 ? 0 : 1;
}
