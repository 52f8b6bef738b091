// Thin RAII wrappers over the SQLite C API: a connection and prepared
// statements with absl::Status errors.
//
// Ownership: a SqliteDatabase owns its connection; a SqliteStatement owns its
// compiled statement and must not outlive the database that prepared it.
// Thread safety: none; the Store serializes access to a connection.
// Errors: INTERNAL with SQLite's message, ALREADY_EXISTS for a constraint
// violation, FAILED_PRECONDITION when a file cannot be opened.
#ifndef GRAPHMILL_COORDINATOR_STORE_SQLITE_DATABASE_H_
#define GRAPHMILL_COORDINATOR_STORE_SQLITE_DATABASE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace graphmill::coordinator {

class SqliteStatement;

class SqliteDatabase {
 public:
  // The page size of a database this creates: rows of graph objects (~0.5-1
  // KiB) fill a 4 KiB page after a handful, so every few inserts split a
  // page; with 16 KiB pages a bulk insert costs about half the CPU. An
  // existing file keeps the page size it was made with.
  static constexpr int kPageSize = 16384;
  // The page cache of one connection, in KiB: a constant, whatever the size
  // of the graph or of a transaction.
  static constexpr int kCacheKib = 64 * 1024;
  // The WAL file is truncated to this many bytes after a checkpoint.
  static constexpr int64_t kJournalSizeLimit = 64 << 20;
  // Bytes of the file each connection maps into memory: reads of mapped pages
  // are memory loads instead of pread() copies into the page cache (the
  // kernel's cache is shared by every connection). Address space only; the
  // kernel may drop the pages at any time, but mapped pages count in the
  // process's RSS, hence a bound well under the store's size.
  static constexpr int64_t kMmapBytes = int64_t{256} << 20;
  // A WAL of this many pages is checkpointed into the database by
  // SqliteCheckpointer, outside any commit (SQLite's own automatic checkpoint
  // is off on the writer: it ran inside the commit that crossed its limit).
  static constexpr int kCheckpointPages = 1024;

  // Opens (creating if needed) the database file in WAL mode with foreign keys
  // on, the settings above, and temporary tables and sorts in files: the
  // store's one writing connection.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(
      const std::string& path);
  // Opens an existing database file for reading only (query_only): in WAL
  // mode each read transaction sees the last commit, concurrently with the
  // writer and other readers.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> OpenReader(
      const std::string& path);
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Runs one or more statements without results.
  absl::Status Execute(absl::string_view sql);
  // Compiles a statement; the statement must not outlive the database.
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);

  // Rows changed by the last INSERT/UPDATE/DELETE (not by its triggers).
  int64_t changes() const;
  int64_t last_insert_rowid() const;
  sqlite3* handle() { return db_; }

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  // sqlite3_open_v2 with `flags` (no mutex: a connection is used by one
  // thread at a time) and a busy timeout.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> OpenConnection(
      const std::string& path, int flags);
  sqlite3* db_;
};

class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();

  // Bind by 1-based index. Text and blobs are copied (SQLITE_TRANSIENT).
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& Bind(int index, absl::string_view text);
  SqliteStatement& BindBlob(int index, absl::string_view bytes);
  SqliteStatement& BindNull(int index);

  // Advances: true with a row, false when done. Errors carry SQLite's message.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring rows.
  absl::Status Run();
  // Steps through every result row, calling `row` with the statement
  // positioned on it; stops at, and returns, the first error of a step or of
  // `row`.
  absl::Status ForEachRow(
      absl::FunctionRef<absl::Status(const SqliteStatement&)> row);
  // Resets for re-execution and clears bindings.
  void Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;
  // The column's bytes without a copy; valid until the next Step or Reset.
  absl::string_view ColumnView(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  friend class SqliteDatabase;
  SqliteStatement(sqlite3* db, sqlite3_stmt* statement)
      : db_(db), statement_(statement) {}
  sqlite3* db_;
  sqlite3_stmt* statement_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_SQLITE_DATABASE_H_
