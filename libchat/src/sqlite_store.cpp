// Placeholder until the SQLite store lands; keeps the tree building.
#include "chat/store.hpp"

namespace chat {

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions&) {
  return Error::internal("the SQLite store is not built yet");
}

Result<std::unique_ptr<Store>> open_memory_store() { return Error::internal("the SQLite store is not built yet"); }

}  // namespace chat
