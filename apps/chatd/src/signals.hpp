// signals.hpp: graceful shutdown on SIGINT / SIGTERM, without signal handlers.
//
// block_stop_signals() blocks SIGINT and SIGTERM in the calling thread; call
// it first thing in main, before any thread starts, so that every thread
// inherits the mask and no thread is interrupted by them. run_until_signal()
// then takes them synchronously with sigtimedwait(2): the server is stopped
// in ordinary thread context (httplib's stop() and the joins it does are not
// async-signal-safe, so they must never run in a handler).
#pragma once

#include <signal.h>

#include "chat/logger.hpp"

namespace chatd {

class Server;

// Resets SIGINT and SIGTERM to their default action (a shell may have started
// chatd with SIGINT ignored), blocks them in the calling thread, returns that set.
sigset_t block_stop_signals();

// Waits until one of `signals` arrives or the server stops by itself. On a
// signal, stops the server gracefully (requests in flight finish) and returns
// 0; a second signal during that stop exits the process at once with status 1.
// Returns 1 when the server stopped by itself (its listening socket failed).
int run_until_signal(Server& server, const sigset_t& signals, chat::Logger& logger);

}  // namespace chatd
