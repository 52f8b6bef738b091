// What only the PostgreSQL store has: reconnecting, redacted errors, its
// schema version and text it refuses.
#include "coordinator/store/postgres.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "coordinator/store/conformance/store_fixture.h"
#include "coordinator/store/testing/postgres_server.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace pgtest = ::graphmill::coordinator::testing;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void TearDown() override { DropPostgresDatabases(databases_); }

  absl::StatusOr<std::string> NewDatabase(const std::string& name) {
    return NewPostgresDatabase(name, &databases_);
  }

  std::vector<std::string> databases_;
};

TEST_F(PostgresStoreTest, ReconnectsAfterTheServerRestarts) {
  auto uri = NewDatabase("restart");
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto store = Store::Open(*uri);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::Instance instance;
  instance.set_id("inst");
  instance.set_integration("test");
  ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  ASSERT_TRUE((*pgtest::SharedPostgresServer())->Restart().ok());
  auto got = (*store)->GetInstance("inst");
  EXPECT_TRUE(got.ok()) << got.status();
  auto run =
      (*store)->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  EXPECT_TRUE(run.ok()) << run.status();
}

TEST_F(PostgresStoreTest, OpenErrorsNameTheStoreWithoutItsPassword) {
  auto server = pgtest::SharedPostgresServer();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string host = (*server)->directory();
  for (const std::string& uri :
       {absl::StrCat("postgresql://graphmill:s3cret@/no_such_db?host=", host),
        absl::StrCat("postgres:///no_such_db?host=", host,
                     "&user=graphmill&password=s3cret")}) {
    auto store = Store::Open(uri);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
    const std::string message(store.status().message());
    EXPECT_THAT(message, HasSubstr("cannot connect to the PostgreSQL store"));
    EXPECT_THAT(message, HasSubstr("no_such_db"));
    EXPECT_THAT(message, HasSubstr("***"));
    EXPECT_THAT(message, Not(HasSubstr("s3cret")));
  }
}

TEST(PostgresStoreUnitTest, RedactConnectionUriHidesPasswords) {
  EXPECT_EQ(RedactConnectionUri("postgresql://u:p%40ss@db.example:5432/g"),
            "postgresql://u:***@db.example:5432/g");
  EXPECT_EQ(RedactConnectionUri("postgres://u@db/g?password=x&sslmode=require"),
            "postgres://u@db/g?password=***&sslmode=require");
  EXPECT_EQ(RedactConnectionUri("postgresql:///g?sslpassword=k&host=/tmp"),
            "postgresql:///g?sslpassword=***&host=/tmp");
  EXPECT_EQ(RedactConnectionUri("host=db password='a b' dbname=g"),
            "host=db password=*** dbname=g");
  EXPECT_EQ(RedactConnectionUri("postgresql:///g?host=/tmp/x"),
            "postgresql:///g?host=/tmp/x");
}

TEST_F(PostgresStoreTest, AnotherSchemaVersionIsRefused) {
  auto uri = NewDatabase("version");
  ASSERT_TRUE(uri.ok()) << uri.status();
  ASSERT_TRUE(Store::Open(*uri).ok());
  {
    auto db = PgConnection::Open(*uri);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Execute("UPDATE schema_version SET version = 8").ok());
  }
  auto store = Store::Open(*uri);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "store schema version 8 is not supported (want 7)");
}

TEST_F(PostgresStoreTest, TextTheServerRefusesIsAnErrorNotATruncation) {
  // PostgreSQL text cannot hold U+0000 (SQLite's can): refused, not cut.
  auto uri = NewDatabase("nul");
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto store = Store::Open(*uri);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status refused = (*store)->AddEvent(1, v1::EVENT_LEVEL_INFO,
                                            std::string("a\0b", 3), "", "", 1);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_TRUE((*store)->ListEvents(1, 0)->empty());
}

}  // namespace
}  // namespace graphmill::coordinator::conformance
