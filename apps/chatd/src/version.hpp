// version.hpp: the daemon's name and version (the library's version).
#pragma once

#include <string>

namespace chatd {

// "chatd 0.1.0 (libchat 0.1.0, cpp-httplib 0.11.4)".
std::string version_line();

}  // namespace chatd
