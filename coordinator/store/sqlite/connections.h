// The SqliteStore's connections besides its one writer: a pool of readers
// and a checkpointer, so that neither reads nor WAL checkpoints wait for (or
// hold up) the writer. File stores only: an in-memory database is private to
// its one connection.
//
// Ownership: each object owns its connections. Thread safety: both classes
// may be used from any number of threads at once.
// Errors: INTERNAL with SQLite's message; FAILED_PRECONDITION when a
// connection cannot be opened.
#ifndef GRAPHMILL_COORDINATOR_STORE_SQLITE_CONNECTIONS_H_
#define GRAPHMILL_COORDINATOR_STORE_SQLITE_CONNECTIONS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/store/sqlite/database.h"

namespace graphmill::coordinator {

// Read-only connections to one database file, opened on demand and kept for
// reuse (at most kMaxIdle).
class SqliteReaders {
 public:
  static constexpr int kMaxIdle = 8;

  explicit SqliteReaders(std::string path) : path_(std::move(path)) {}

  // Runs `read` in one read transaction on a connection of its own: it sees
  // the last commit as of its first statement, and nothing committed later.
  // A connection whose transaction did not end cleanly is closed, not reused.
  absl::Status Read(absl::FunctionRef<absl::Status(SqliteDatabase&)> read);

 private:
  const std::string path_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<SqliteDatabase>> idle_ ABSL_GUARDED_BY(mu_);
};

// Copies committed WAL frames into the database file on a thread of its own,
// whenever a commit leaves the WAL at kCheckpointPages or more: first without
// blocking anyone (PASSIVE), then the rest, if no reader is inside the WAL at
// that moment (RESTART without waiting), so that the writer starts the WAL
// over (truncated to journal_size_limit) instead of growing it. Past
// kForceRestartPages it waits up to kRestartWaitMs for readers to move on,
// holding up the writer that long at most: the WAL's size stays bounded
// whatever the readers do.
class SqliteCheckpointer {
 public:
  static constexpr int kForceRestartPages = 16384;  // 256 MiB of 16 KiB pages
  static constexpr int kRestartWaitMs = 100;

  // Starts the thread and hooks `writer`'s commits. `writer` must outlive the
  // checkpointer.
  static absl::StatusOr<std::unique_ptr<SqliteCheckpointer>> Start(
      const std::string& path, SqliteDatabase& writer);
  // Unhooks the writer, stops the thread and waits for it.
  ~SqliteCheckpointer();

  // Checkpoints run so far.
  int64_t checkpoints() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until checkpoints() exceeds `seen` or `timeout` passes; returns
  // checkpoints(). For tests.
  int64_t AwaitCheckpointAfter(int64_t seen, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SqliteCheckpointer(std::unique_ptr<SqliteDatabase> connection,
                     SqliteDatabase& writer);
  // sqlite3_wal_hook's callback, on the writer's thread after each commit.
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // One sqlite3_wal_checkpoint_v2 of `mode`, waiting up to `wait_ms` for
  // locks; stores the WAL's size in pages in `wal_pages` (if not null). False
  // if it could not run (busy, or an error, logged).
  bool Checkpoint(int mode, int wait_ms, int* wal_pages);

  std::unique_ptr<SqliteDatabase> connection_;  // used by the thread only
  SqliteDatabase& writer_;
  absl::Mutex mu_;
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_SQLITE_CONNECTIONS_H_
