#include <catch2/catch.hpp>

#include "database_url.hpp"

using chatd::display_db;
using chatd::is_postgres_db;

TEST_CASE("database url: which --db values are PostgreSQL", "[chatd][config][postgres]") {
  CHECK(is_postgres_db("postgresql://chat@127.0.0.1:5432/chat"));
  CHECK(is_postgres_db("postgres://chat@db/chat"));
  CHECK(is_postgres_db("PostgreSQL://chat@db/chat"));
  CHECK(is_postgres_db("host=db dbname=chat"));
  CHECK(is_postgres_db(" dbname = chat"));
  CHECK(is_postgres_db("service=chat"));
  CHECK_FALSE(is_postgres_db("chat.db"));
  CHECK_FALSE(is_postgres_db(":memory:"));
  CHECK_FALSE(is_postgres_db("/var/lib/chatd/chat.db"));
  CHECK_FALSE(is_postgres_db("./host=x"));
  CHECK_FALSE(is_postgres_db("hostile=1"));
  CHECK_FALSE(is_postgres_db("mysql://db/chat"));
}

TEST_CASE("database url: logs never show a password", "[chatd][config][postgres]") {
  CHECK(display_db("postgresql://chat@db/chat") == "postgresql://chat@db/chat");
  CHECK(display_db("postgresql://chat:s3cret@db:5432/chat") == "postgresql://chat:***@db:5432/chat");
  CHECK(display_db("postgresql://chat@db/chat?password=s3cret&sslmode=require") ==
        "postgresql://chat@db/chat?password=***&sslmode=require");
  CHECK(display_db("host=db password=s3cret dbname=chat") == "host=db password=*** dbname=chat");
  CHECK(display_db("chat.db") == "chat.db");
  CHECK(chatd::check_postgres_db("--db", "postgresql://chat@db/chat").ok());
  CHECK_FALSE(chatd::check_postgres_db("--db", "postgresql://chat:@db/chat").ok());
}
