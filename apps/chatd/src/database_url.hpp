// database_url.hpp: which store a --db value names, and the password rule of
// a PostgreSQL one (issue 13).
//
//   --db chat.db | :memory:                         SQLite (the default)
//   --db postgresql://USER@HOST:PORT/DBNAME[?...]   PostgreSQL (also postgres://)
//   --db "host=HOST port=PORT dbname=DBNAME user=USER"  PostgreSQL, libpq key=value
//
// A key=value string is recognised by its first word being a libpq keyword
// followed by '=' (host, hostaddr, port, dbname, user, service, sslmode,
// connect_timeout, application_name, options); a SQLite file with such a name
// is still reachable as ./host=x.
//
// A PostgreSQL string holding a password (postgresql://user:secret@...,
// ?password=..., password=... in key=value form) is refused: a command line
// shows in `ps` and an environment in /proc of the same user, and both end up
// in logs and unit files. libpq reads the password from PGPASSWORD or a
// PGPASSFILE (~/.pgpass by default) instead. So is an SSL key's password
// (sslpassword). libpq's own parser (PQconninfoParse) decides, so every
// spelling libpq accepts ("?pass%77ord=", quoted values) is caught. The
// refusal never repeats the string. display_db() is what logs show: a string
// with a password (which chatd never accepts) is withheld whole.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "chat/result.hpp"

namespace chatd {

// True when `db` names a PostgreSQL database (a URL or key=value string).
bool is_postgres_db(std::string_view db) noexcept;

// kInvalidArgument (field `where`) when the PostgreSQL string `db` holds a
// password (the message says where to put it instead) or libpq cannot parse it.
chat::Status check_postgres_db(std::string_view where, std::string_view db);

// `db` for logs and messages; a string holding a password, or one libpq
// cannot parse, is replaced by a note saying so.
std::string display_db(std::string_view db);

}  // namespace chatd
