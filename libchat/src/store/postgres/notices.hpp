// Cross-instance change notices (Store::set_change_listener, issue 13):
// a dedicated connection LISTENs on 'chat_change' and 'chat_ephemeral' on
// its own thread and calls the store's listener. Private.
//
// Sending: a write that touches conversation C queues
// pg_notify('chat_change', '<instance> <C>') in its transaction
// (event_log.cpp), so the server delivers it on commit only, and a rolled
// back write notifies nobody. publish_ephemeral sends
// pg_notify('chat_ephemeral', '<instance> <C> <payload>') outside a
// transaction. <instance> is the sending Store object's random id
// (Database::instance_id); a notice carrying our own id is skipped.
//
// Receiving: poll() on the connection's socket and an eventfd (the stop
// signal); PQconsumeInput then PQnotifies. A lost connection is re-opened
// with backoff (0.1 s doubling to 5 s), LISTENs again, and then the listener
// is called once with conversation_id 0: notices sent while it was away are
// lost, so every watcher re-reads.
//
// The listener is called with a mutex held that set_listener also takes: once
// set_listener returned, the previous listener is not running and is never
// called again. The thread starts with the first non-empty listener and stops
// with the object.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "chat/store.hpp"
#include "store/postgres/database.hpp"

namespace chat::pg {

class Notices {
 public:
  explicit Notices(Database& db);
  ~Notices();  // stops and joins the thread
  Notices(const Notices&) = delete;
  Notices& operator=(const Notices&) = delete;

  void set_listener(ChangeListener listener);
  // Store::publish_ephemeral.
  Status publish(std::int64_t conversation_id, std::string_view payload);

 private:
  void run();
  bool wait_stop(int timeout_ms);  // true when stopping (or the eventfd fired)
  void deliver(const ExternalChange& change);
  void handle(std::string_view channel, std::string_view payload);

  Database& db_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex start_mu_;
  std::thread thread_;

  std::mutex listener_mu_;  // held while the listener runs
  ChangeListener listener_;
};

}  // namespace chat::pg
