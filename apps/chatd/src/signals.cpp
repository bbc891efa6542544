#include "signals.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>

#include "server.hpp"

namespace chatd {

sigset_t block_stop_signals() {
  // A shell starts background jobs (`chatd &` in a script) with SIGINT
  // ignored, and an ignored signal is discarded even while blocked, so
  // sigtimedwait would never see `kill -INT`: take both back to the default
  // (harmless while they are blocked) before blocking them.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int run_until_signal(Server& server, const sigset_t& signals, chat::Logger& logger) {
  const timespec tick{0, 200 * 1000 * 1000};
  int sig = -1;
  while (sig <= 0) {
    sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig <= 0 && errno != EAGAIN && errno != EINTR) {
      logger.log(chat::LogLevel::kError, "sigtimedwait failed; stopping");
      sig = SIGTERM;
    }
    if (sig <= 0 && !server.running()) {
      logger.log(chat::LogLevel::kError, "the server stopped unexpectedly");
      return 1;
    }
  }
  logger.log(chat::LogLevel::kInfo, std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                        ": stopping after the requests in flight");
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.stop();
    stopped.store(true);
  });
  while (!stopped.load()) {
    if (sigtimedwait(&signals, nullptr, &tick) > 0) {
      logger.log(chat::LogLevel::kWarn, "second signal: exiting without waiting for the requests in flight");
      std::_Exit(1);
    }
  }
  stopper.join();
  logger.log(chat::LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace chatd
