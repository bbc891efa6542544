// Helpers shared by the store tests: temporary directories and the list of
// Store factories every contract test runs against. A new Store
// implementation joins the contract suite by adding a name here.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "chat/sqlite_store.hpp"

namespace chat::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chat-store-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline const std::vector<std::string>& store_factories() {
  static const std::vector<std::string> names{"sqlite-file", "sqlite-memory"};
  return names;
}

// A store of the named kind; file-backed stores live in `dir`.
inline std::unique_ptr<Store> open_test_store(const std::string& factory, const TempDir& dir) {
  Result<std::unique_ptr<Store>> r = Error::internal("unknown factory");
  if (factory == "sqlite-file") {
    SqliteOptions o;
    o.path = dir.file("chat.db");
    o.reader_connections = 3;
    r = open_sqlite_store(o);
  } else if (factory == "sqlite-memory") {
    r = open_memory_store();
  }
  if (!r) throw std::runtime_error("cannot open store " + factory + ": " + r.error().message);
  return std::move(r).value();
}

}  // namespace chat::testing
