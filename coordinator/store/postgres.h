// Thin RAII wrappers over libpq: a connection, statement parameters and
// results with absl::Status errors. Parameters and results travel in binary
// with explicit types, so text and bytes arrive exactly as given (a NUL byte in
// text is refused by the server instead of cutting the text short). Not
// thread-safe; the Store serializes access.
#ifndef GRAPHMILL_COORDINATOR_STORE_POSTGRES_H_
#define GRAPHMILL_COORDINATOR_STORE_POSTGRES_H_

#include <postgresql/libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace graphmill::coordinator {

// `uri` with the password of its user:password@ part and the values of its
// password= and sslpassword= parameters replaced by "***": safe in messages
// and logs.
std::string RedactConnectionUri(absl::string_view uri);

// The parameters of one statement, $1, $2, ... in the order they are added.
class PgParams {
 public:
  PgParams& Int(int64_t value);  // bigint
  PgParams& Double(double value);
  PgParams& Bool(bool value);
  PgParams& Text(absl::string_view value);
  PgParams& Bytes(absl::string_view value);  // bytea
  PgParams& Jsonb(absl::string_view json);
  // A bigint, or NULL when `value` is negative: LIMIT $n then means no limit
  // (as SQLite's LIMIT -1 does; PostgreSQL refuses a negative LIMIT).
  PgParams& Limit(int64_t value);
  PgParams& TextArray(const std::vector<std::string>& values);   // text[]
  PgParams& IntArray(const std::vector<int64_t>& values);        // bigint[]
  PgParams& BytesArray(const std::vector<std::string>& values);  // bytea[]
  // jsonb[]: each element is JSON text.
  PgParams& JsonbArray(const std::vector<std::string>& json);

 private:
  friend class PgConnection;
  PgParams& Add(Oid type, std::string value, bool null = false);
  std::vector<Oid> types_;
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

// A statement's result rows, decoded from PostgreSQL's binary format.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  // Rows an INSERT, UPDATE or DELETE changed.
  int64_t affected() const;

  bool IsNull(int row, int column) const {
    return PQgetisnull(result_.get(), row, column) != 0;
  }
  // A smallint, integer, bigint or boolean column (0 for NULL). Aggregates
  // other than COUNT must be cast to bigint in the SQL.
  int64_t Int(int row, int column) const;
  bool Bool(int row, int column) const { return Int(row, column) != 0; }
  // A text, bytea or jsonb column's bytes ("" for NULL).
  std::string Text(int row, int column) const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// One row of a PgResult; valid while the result is.
class PgRow {
 public:
  PgRow(const PgResult& result, int row) : result_(result), row_(row) {}
  bool IsNull(int column) const { return result_.IsNull(row_, column); }
  int64_t Int(int column) const { return result_.Int(row_, column); }
  bool Bool(int column) const { return result_.Bool(row_, column); }
  std::string Text(int column) const { return result_.Text(row_, column); }

 private:
  const PgResult& result_;
  const int row_;
};

class PgConnection {
 public:
  // Connects to `uri` (a libpq connection URI or keyword/value string) with
  // client_encoding UTF8. UNAVAILABLE naming the redacted URI if the server
  // cannot be reached or refuses the connection; FAILED_PRECONDITION if the
  // database's encoding is neither UTF8 nor SQL_ASCII.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Open(
      const std::string& uri);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one or more statements without parameters or results.
  absl::Status Execute(absl::string_view sql);
  // Runs one statement. Errors carry the server's message and the start of
  // the SQL, never parameter values: ALREADY_EXISTS for a unique violation,
  // INVALID_ARGUMENT for data the server refuses (e.g. a NUL byte in text),
  // ABORTED for a serialization failure or deadlock (the transaction may be
  // retried), UNAVAILABLE when the connection is lost, INTERNAL otherwise.
  absl::StatusOr<PgResult> Query(absl::string_view sql,
                                 const PgParams& params = PgParams());
  // Runs one statement (as Query) and visits its rows in order, stopping at
  // and returning the first non-OK visit. The whole result is held in memory
  // while it is visited: page large reads (keyset pagination) to bound it.
  absl::Status ForEachRow(
      absl::string_view sql, const PgParams& params,
      const std::function<absl::Status(const PgRow&)>& visit);

  // Transactions. `begin` is the BEGIN statement (e.g. "BEGIN ISOLATION LEVEL
  // REPEATABLE READ READ ONLY"). A connection lost inside a transaction is not
  // re-established until Rollback, so no statement of the transaction runs
  // outside it.
  absl::Status Begin(absl::string_view begin = "BEGIN");
  absl::Status Commit();
  void Rollback();

  // The server process of the current session. It changes when a lost
  // connection is re-established, and session-level state (advisory locks,
  // LISTEN) is gone with the old one.
  int BackendPid() const { return PQbackendPID(connection_); }
  // Payloads of the NOTIFYs on channels this session LISTENs to, waiting up
  // to `timeout` for the first (empty: none came). UNAVAILABLE when the
  // connection is lost: the next Execute reconnects, and LISTEN must be
  // repeated (notifications sent meanwhile are lost).
  absl::StatusOr<std::vector<std::string>> AwaitNotifications(
      absl::Duration timeout);

 private:
  explicit PgConnection(PGconn* connection) : connection_(connection) {}
  // Re-establishes a lost connection outside a transaction.
  absl::Status EnsureConnected();
  // OK with the result if `raw` succeeded; its error otherwise.
  absl::StatusOr<PgResult> Check(PGresult* raw, absl::string_view sql) const;
  absl::Status Error(const PGresult* result, absl::string_view sql) const;
  PGconn* connection_;
  bool in_transaction_ = false;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_POSTGRES_H_
