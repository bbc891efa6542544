// listener.hpp: the listening socket and the process's file limit.
//
// listen_on() binds host:port (a host name or an IPv4/IPv6 literal, resolved
// with getaddrinfo; the first address that binds wins; port 0: any free port),
// with SO_REUSEADDR (a restart binds while old connections sit in TIME_WAIT)
// but never SO_REUSEPORT (which would let a second daemon bind the same port
// and silently split the traffic), a backlog of 1024 (capped by
// net.core.somaxconn), non-blocking and close-on-exec: the reactor accepts.
//
// raise_file_limit() raises the soft RLIMIT_NOFILE to the hard limit (every
// connection is a descriptor; the common soft default of 1024 would cap chatd
// far below what the machine allows) and reports the soft limit in force.
#pragma once

#include <string>

#include "chat/result.hpp"

namespace chatd {

inline constexpr int kListenBacklog = 1024;

struct Listening {
  int fd = -1;
  int port = 0;  // the bound port
};

// kUnavailable naming host:port and the reason when nothing binds.
chat::Result<Listening> listen_on(const std::string& host, int port);

struct FileLimit {
  long long soft = 0;  // after the raise
  long long hard = 0;
  bool raised = false;
  std::string error;   // why the raise failed (empty: it did not)
};
FileLimit raise_file_limit() noexcept;

}  // namespace chatd
