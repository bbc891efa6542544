#include "version.hpp"

#include <httplib.h>

#include "chat/version.hpp"

namespace chatd {

std::string version_line() {
  std::string line = "chatd ";
  line += chat::kVersionString;
  line += " (libchat ";
  line += chat::kVersionString;
  line += ", cpp-httplib ";
  line += CPPHTTPLIB_VERSION;
  line += ")";
  return line;
}

}  // namespace chatd
