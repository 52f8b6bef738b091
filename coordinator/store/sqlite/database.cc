// Implementation of coordinator/store/sqlite/database.h.
#include "coordinator/store/sqlite/database.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace graphmill::coordinator {
namespace {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("sqlite: ", what, ": ", sqlite3_errmsg(db)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::OpenConnection(
    const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open store '", path, "': ", message));
  }
  std::unique_ptr<SqliteDatabase> database(new SqliteDatabase(db));
  sqlite3_busy_timeout(db, 5000);
  return database;
}

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(
    const std::string& path) {
  GM_ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDatabase> database,
      OpenConnection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  // WAL: readers never block the writer; synchronous=NORMAL is durable across
  // process crashes (kill -9), which is the failure the coordinator must
  // survive. The page size must be set before WAL mode writes the first page
  // of a new file (an existing file keeps its own). Temporary tables and sort
  // spills go to files (temp_store=FILE), so one large statement cannot grow
  // the process; the page cache is capped (cache_size, KiB when negative);
  // journal_size_limit truncates the WAL after a large transaction is
  // checkpointed instead of keeping a file of its size. secure_delete=FAST
  // (Debian builds SQLite with it ON) still zeroes deleted content in the
  // pages a change writes anyway, but no longer writes every page a DROP
  // TABLE frees just to zero it: dropping a run's staged objects (a million
  // rows) otherwise writes their whole size again. wal_autocheckpoint=0: the
  // checkpoint runs on SqliteCheckpointer's thread, not in a commit.
  GM_RETURN_IF_ERROR(database->Execute(absl::StrCat(
      "PRAGMA page_size=", kPageSize,
      "; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
      "PRAGMA foreign_keys=ON; PRAGMA temp_store=FILE; PRAGMA cache_size=-",
      kCacheKib, "; PRAGMA journal_size_limit=", kJournalSizeLimit,
      "; PRAGMA secure_delete=FAST; PRAGMA mmap_size=", kMmapBytes,
      "; PRAGMA wal_autocheckpoint=0;")));
  return database;
}

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::OpenReader(
    const std::string& path) {
  // READWRITE although it never writes: a WAL reader updates the shared
  // memory index (-shm) that readers and the writer coordinate through.
  GM_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDatabase> database,
                      OpenConnection(path, SQLITE_OPEN_READWRITE));
  GM_RETURN_IF_ERROR(database->Execute(absl::StrCat(
      "PRAGMA query_only=1; PRAGMA temp_store=FILE; PRAGMA cache_size=-",
      kCacheKib / 4, "; PRAGMA mmap_size=", kMmapBytes, ";")));
  return database;
}

SqliteDatabase::~SqliteDatabase() { sqlite3_close_v2(db_); }

absl::Status SqliteDatabase::Execute(absl::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError(
        absl::StrCat("sqlite: ", message, " in: ", text.substr(0, 120)));
  }
  return absl::OkStatus();
}

absl::StatusOr<SqliteStatement> SqliteDatabase::Prepare(absl::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()),
                         &statement, nullptr) != SQLITE_OK) {
    return SqliteError(db_, absl::StrCat("prepare '", sql.substr(0, 120), "'"));
  }
  return SqliteStatement(db_, statement);
}

int64_t SqliteDatabase::changes() const { return sqlite3_changes64(db_); }
int64_t SqliteDatabase::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), statement_(other.statement_) {
  other.statement_ = nullptr;
}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    db_ = other.db_;
    statement_ = other.statement_;
    other.statement_ = nullptr;
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, double value) {
  sqlite3_bind_double(statement_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, absl::string_view text) {
  sqlite3_bind_text64(statement_, index, text.data(), text.size(),
                      SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int index, absl::string_view bytes) {
  sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(),
                      SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  sqlite3_bind_null(statement_, index);
  return *this;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(
        absl::StrCat("sqlite constraint: ", sqlite3_errmsg(db_)));
  }
  return SqliteError(db_, "step");
}

absl::Status SqliteStatement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

absl::Status SqliteStatement::ForEachRow(
    absl::FunctionRef<absl::Status(const SqliteStatement&)> row) {
  while (true) {
    absl::StatusOr<bool> more = Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    absl::Status status = row(*this);
    if (!status.ok()) return status;
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

int64_t SqliteStatement::ColumnInt(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     sqlite3_column_bytes(statement_, column));
}

std::string SqliteStatement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(statement_, column);
  if (blob == nullptr) return "";
  return std::string(static_cast<const char*>(blob),
                     sqlite3_column_bytes(statement_, column));
}

absl::string_view SqliteStatement::ColumnView(int column) const {
  const void* blob = sqlite3_column_blob(statement_, column);
  if (blob == nullptr) return absl::string_view();
  return absl::string_view(static_cast<const char*>(blob),
                           sqlite3_column_bytes(statement_, column));
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

}  // namespace graphmill::coordinator
