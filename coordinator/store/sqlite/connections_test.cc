#include "coordinator/store/sqlite/connections.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "coordinator/store/sqlite/database.h"
#include "gtest/gtest.h"

namespace graphmill::coordinator {
namespace {

std::string NewPath(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((path + suffix).c_str());
  }
  return path;
}

int64_t CountRows(SqliteDatabase& db) {
  auto select = db.Prepare("SELECT COUNT(*) FROM t");
  EXPECT_TRUE(select.ok()) << select.status();
  auto row = select->Step();
  EXPECT_TRUE(row.ok() && *row);
  return select->ColumnInt(0);
}

// CountRows through one of the readers' connections.
int64_t CountRowsOfAReader(SqliteReaders& readers) {
  int64_t seen = -1;
  EXPECT_TRUE(readers
                  .Read([&](SqliteDatabase& db) {
                    seen = CountRows(db);
                    return absl::OkStatus();
                  })
                  .ok());
  return seen;
}

TEST(SqliteReadersTest, ReadsTheLastCommitWhileTheWriterHoldsATransaction) {
  const std::string path = NewPath("readers");
  auto writer = SqliteDatabase::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Execute("CREATE TABLE t (v INTEGER)").ok());
  ASSERT_TRUE((*writer)->Execute("INSERT INTO t VALUES (1)").ok());
  SqliteReaders readers(path);

  // The writer is inside a transaction with an uncommitted row: a reader
  // neither waits for it nor sees the row.
  ASSERT_TRUE((*writer)->Execute("BEGIN IMMEDIATE").ok());
  ASSERT_TRUE((*writer)->Execute("INSERT INTO t VALUES (2)").ok());
  EXPECT_EQ(CountRowsOfAReader(readers), 1);
  ASSERT_TRUE((*writer)->Execute("COMMIT").ok());

  // The next read, on the pooled connection, sees the commit.
  EXPECT_EQ(CountRowsOfAReader(readers), 2);
}

TEST(SqliteReadersTest, AReaderCannotWrite) {
  const std::string path = NewPath("readonly");
  auto writer = SqliteDatabase::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Execute("CREATE TABLE t (v INTEGER)").ok());
  SqliteReaders readers(path);
  absl::Status status = readers.Read([](SqliteDatabase& db) {
    return db.Execute("INSERT INTO t VALUES (1)");
  });
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(CountRows(**writer), 0);
}

TEST(SqliteReadersTest, AFailedReadReturnsItsError) {
  const std::string path = NewPath("failed");
  auto writer = SqliteDatabase::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  SqliteReaders readers(path);
  absl::Status status = readers.Read([](SqliteDatabase& db) {
    return db.Prepare("SELECT * FROM missing").status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_NE(status.message().find("missing"), absl::string_view::npos);
}

TEST(SqliteCheckpointerTest, ALargeCommitIsCheckpointedOffTheWriter) {
  const std::string path = NewPath("checkpoint");
  auto writer = SqliteDatabase::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto checkpointer = SqliteCheckpointer::Start(path, **writer);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  ASSERT_TRUE((*writer)->Execute("CREATE TABLE t (v BLOB)").ok());
  const int64_t before = (*checkpointer)->checkpoints();

  // A commit that leaves more than kCheckpointPages in the WAL.
  const int64_t bytes = int64_t{SqliteDatabase::kCheckpointPages + 64} *
                        SqliteDatabase::kPageSize;
  ASSERT_TRUE((*writer)->Execute("BEGIN").ok());
  auto insert = (*writer)->Prepare("INSERT INTO t VALUES (zeroblob(?))");
  ASSERT_TRUE(insert.ok());
  for (int64_t written = 0; written < bytes; written += 1 << 20) {
    insert->Bind(1, int64_t{1} << 20);
    ASSERT_TRUE(insert->Run().ok());
    insert->Reset();
  }
  ASSERT_TRUE((*writer)->Execute("COMMIT").ok());

  EXPECT_GT((*checkpointer)->AwaitCheckpointAfter(before, absl::Seconds(60)),
            before);
  // The pages reached the database file itself, and the WAL starts over: the
  // next commit is the only thing in it.
  EXPECT_GE(static_cast<int64_t>(std::filesystem::file_size(path)), bytes);
  ASSERT_TRUE((*writer)->Execute("INSERT INTO t VALUES (x'00')").ok());
  auto frames = (*writer)->Prepare("PRAGMA wal_checkpoint(PASSIVE)");
  ASSERT_TRUE(frames.ok());
  ASSERT_TRUE(*frames->Step());
  EXPECT_LT(frames->ColumnInt(1), 16);  // frames in the WAL
}

TEST(SqliteCheckpointerTest, SmallCommitsLeaveTheWalAlone) {
  const std::string path = NewPath("small");
  auto writer = SqliteDatabase::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto checkpointer = SqliteCheckpointer::Start(path, **writer);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  ASSERT_TRUE((*writer)->Execute("CREATE TABLE t (v INTEGER)").ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE((*writer)->Execute("INSERT INTO t VALUES (1)").ok());
  }
  // A checkpoint would run on the checkpointer's thread: wait for one.
  EXPECT_EQ((*checkpointer)->AwaitCheckpointAfter(0, absl::Milliseconds(200)),
            0);
}

}  // namespace
}  // namespace graphmill::coordinator
