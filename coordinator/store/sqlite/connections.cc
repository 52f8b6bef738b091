// Implementation of coordinator/store/sqlite/connections.h.
#include "coordinator/store/sqlite/connections.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace graphmill::coordinator {

absl::Status SqliteReaders::Read(
    absl::FunctionRef<absl::Status(SqliteDatabase&)> read) {
  std::unique_ptr<SqliteDatabase> connection;
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (connection == nullptr) {
    GM_ASSIGN_OR_RETURN(connection, SqliteDatabase::OpenReader(path_));
  }
  // One transaction, so a read of several statements (a table's existence,
  // then its rows) sees one state of the database.
  GM_RETURN_IF_ERROR(connection->Execute("BEGIN"));
  absl::Status status = read(*connection);
  const absl::Status ended = connection->Execute("COMMIT");
  if (!ended.ok()) return status.ok() ? ended : status;  // closed, not pooled
  absl::MutexLock lock(&mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
  return status;
}

absl::StatusOr<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::Start(
    const std::string& path, SqliteDatabase& writer) {
  // Not a reader: a checkpoint writes the database file.
  GM_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDatabase> connection,
                      SqliteDatabase::Open(path));
  return std::unique_ptr<SqliteCheckpointer>(
      new SqliteCheckpointer(std::move(connection), writer));
}

SqliteCheckpointer::SqliteCheckpointer(
    std::unique_ptr<SqliteDatabase> connection, SqliteDatabase& writer)
    : connection_(std::move(connection)), writer_(writer) {
  thread_ = std::thread([this] { Loop(); });
  sqlite3_wal_hook(writer_.handle(), &SqliteCheckpointer::OnCommit, this);
}

SqliteCheckpointer::~SqliteCheckpointer() {
  sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

int SqliteCheckpointer::OnCommit(void* self, sqlite3*, const char*, int pages) {
  if (pages >= SqliteDatabase::kCheckpointPages) {
    auto* checkpointer = static_cast<SqliteCheckpointer*>(self);
    absl::MutexLock lock(&checkpointer->mu_);
    checkpointer->wanted_ = true;
  }
  return SQLITE_OK;
}

void SqliteCheckpointer::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return wanted_ || stopping_;
      };
      mu_.Await(absl::Condition(&woken));
      if (stopping_) return;
      wanted_ = false;
    }
    // PASSIVE copies what it can without blocking anyone. Under steady
    // writes it rarely copies everything (readers pin recent frames), and
    // the writer starts the WAL over only once everything is copied, so the
    // WAL would grow for as long as the writes go on. RESTART then copies
    // the little that is left and starts it over, if no reader is inside it
    // at that moment: without waiting (the writer is held up only for that
    // small copy), or, once the WAL passes kForceRestartPages, waiting up to
    // kRestartWaitMs for readers to move on.
    int wal_pages = 0;
    if (!Checkpoint(SQLITE_CHECKPOINT_PASSIVE, 0, &wal_pages)) continue;
    Checkpoint(SQLITE_CHECKPOINT_RESTART,
               wal_pages >= kForceRestartPages ? kRestartWaitMs : 0, nullptr);
    absl::MutexLock lock(&mu_);
    ++checkpoints_;
  }
}

bool SqliteCheckpointer::Checkpoint(int mode, int wait_ms, int* wal_pages) {
  sqlite3_busy_timeout(connection_->handle(), wait_ms);
  const int rc = sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, mode,
                                           wal_pages, nullptr);
  if (rc == SQLITE_OK) return true;
  if (rc != SQLITE_BUSY) {
    LogWarn("store: WAL checkpoint failed: ",
            sqlite3_errmsg(connection_->handle()));
  }
  return false;
}

int64_t SqliteCheckpointer::checkpoints() {
  absl::MutexLock lock(&mu_);
  return checkpoints_;
}

int64_t SqliteCheckpointer::AwaitCheckpointAfter(int64_t seen,
                                                 absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return checkpoints_ > seen;
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  return checkpoints_;
}

}  // namespace graphmill::coordinator
