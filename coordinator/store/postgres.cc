// Implementation of coordinator/store/postgres.h.
#include "coordinator/store/postgres.h"

#include <endian.h>
#include <poll.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "re2/re2.h"

namespace graphmill::coordinator {
namespace {

// Type OIDs (pg_type.h is a server header).
constexpr Oid kBool = 16;
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kText = 25;
constexpr Oid kByteaArray = 1001;
constexpr Oid kOid = 26;
constexpr Oid kFloat8 = 701;
constexpr Oid kTextArray = 1009;
constexpr Oid kInt8Array = 1016;
constexpr Oid kJsonb = 3802;
constexpr Oid kJsonbArray = 3807;

void AppendInt32(std::string& out, uint32_t value) {
  const uint32_t big_endian = htobe32(value);
  out.append(reinterpret_cast<const char*>(&big_endian), 4);
}

std::string Int64Bytes(int64_t value) {
  const uint64_t big_endian = htobe64(static_cast<uint64_t>(value));
  return std::string(reinterpret_cast<const char*>(&big_endian), 8);
}

// Network-order integers of a binary result value.
template <typename T>
T Load(const char* value) {
  T raw;
  std::memcpy(&raw, value, sizeof(raw));
  return raw;
}

// A one-dimensional array without NULLs in the binary format (array_recv):
// dimensions, flags, element type, then per dimension its length and lower
// bound, then each element's length and bytes.
template <typename Element, typename Encode>
std::string ArrayBytes(Oid element_type, const std::vector<Element>& elements,
                       Encode encode) {
  std::string out;
  AppendInt32(out, elements.empty() ? 0 : 1);
  AppendInt32(out, 0);
  AppendInt32(out, element_type);
  if (elements.empty()) return out;
  AppendInt32(out, static_cast<uint32_t>(elements.size()));
  AppendInt32(out, 1);
  for (const Element& element : elements) {
    const std::string bytes = encode(element);
    AppendInt32(out, static_cast<uint32_t>(bytes.size()));
    out += bytes;
  }
  return out;
}

// SQL for messages: whitespace collapsed, at most 120 characters.
std::string Excerpt(absl::string_view sql) {
  std::string text = absl::StrJoin(
      absl::StrSplit(sql, absl::ByAnyChar(" \n\t"), absl::SkipEmpty()), " ");
  if (text.size() > 120) text = absl::StrCat(text.substr(0, 117), "...");
  return text;
}

}  // namespace

std::string RedactConnectionUri(absl::string_view uri) {
  std::string redacted(uri);
  // scheme://user:password@host...
  static const LazyRE2 kUserInfo = {R"re(^([a-z]+://[^/?#@:]*:)[^/?#@]*@)re"};
  RE2::Replace(&redacted, *kUserInfo, R"(\1***@)");
  // ?password=... &sslpassword=... and keyword/value "password=...".
  static const LazyRE2 kParameter = {
      R"re((^|[?&\s])((?:ssl)?password)\s*=\s*('[^']*'|[^&\s]*))re"};
  RE2::GlobalReplace(&redacted, *kParameter, R"(\1\2=***)");
  return redacted;
}

// --- PgParams ---

PgParams& PgParams::Add(Oid type, std::string value, bool null) {
  types_.push_back(type);
  values_.push_back(std::move(value));
  nulls_.push_back(null);
  return *this;
}

PgParams& PgParams::Int(int64_t value) { return Add(kInt8, Int64Bytes(value)); }

PgParams& PgParams::Double(double value) {
  uint64_t bits;
  static_assert(sizeof(bits) == sizeof(value));
  std::memcpy(&bits, &value, sizeof(bits));
  return Add(kFloat8, Int64Bytes(static_cast<int64_t>(bits)));
}

PgParams& PgParams::Bool(bool value) {
  return Add(kBool, std::string(1, value ? '\1' : '\0'));
}

PgParams& PgParams::Text(absl::string_view value) {
  return Add(kText, std::string(value));
}

PgParams& PgParams::Bytes(absl::string_view value) {
  return Add(kBytea, std::string(value));
}

PgParams& PgParams::Jsonb(absl::string_view json) {
  // jsonb's binary input: a version byte, then the JSON text.
  return Add(kJsonb, absl::StrCat("\1", json));
}

PgParams& PgParams::Limit(int64_t value) {
  if (value < 0) return Add(kInt8, "", /*null=*/true);
  return Int(value);
}

PgParams& PgParams::TextArray(const std::vector<std::string>& values) {
  return Add(kTextArray,
             ArrayBytes(kText, values, [](const std::string& s) { return s; }));
}

PgParams& PgParams::IntArray(const std::vector<int64_t>& values) {
  return Add(kInt8Array, ArrayBytes(kInt8, values, Int64Bytes));
}

PgParams& PgParams::BytesArray(const std::vector<std::string>& values) {
  return Add(kByteaArray, ArrayBytes(kBytea, values,
                                     [](const std::string& s) { return s; }));
}

PgParams& PgParams::JsonbArray(const std::vector<std::string>& json) {
  // Each element in jsonb's binary input: a version byte, then the text.
  return Add(kJsonbArray, ArrayBytes(kJsonb, json, [](const std::string& s) {
               return absl::StrCat("\1", s);
             }));
}

// --- PgResult ---

int64_t PgResult::affected() const {
  int64_t count = 0;
  if (!absl::SimpleAtoi(PQcmdTuples(result_.get()), &count)) return 0;
  return count;
}

int64_t PgResult::Int(int row, int column) const {
  if (IsNull(row, column)) return 0;
  const char* value = PQgetvalue(result_.get(), row, column);
  switch (PQftype(result_.get(), column)) {
    case kInt8:
      return static_cast<int64_t>(be64toh(Load<uint64_t>(value)));
    case kInt4:
    case kOid:
      return static_cast<int32_t>(be32toh(Load<uint32_t>(value)));
    case kInt2:
      return static_cast<int16_t>(be16toh(Load<uint16_t>(value)));
    case kBool:
      return value[0] != 0;
    default:
      return 0;
  }
}

std::string PgResult::Text(int row, int column) const {
  if (IsNull(row, column)) return "";
  const char* value = PQgetvalue(result_.get(), row, column);
  const int length = PQgetlength(result_.get(), row, column);
  if (PQftype(result_.get(), column) == kJsonb && length > 0) {
    return std::string(value + 1, length - 1);  // after the version byte
  }
  return std::string(value, length);
}

// --- PgConnection ---

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Open(
    const std::string& uri) {
  // Later keywords override earlier ones: the URI may set its own timeout,
  // application name and options, but the client encoding is always UTF8.
  // Unless the URI says otherwise, JIT compilation is off: it costs more than
  // it saves on the store's statements, which touch few rows or are bound by
  // writes.
  const char* keywords[] = {"connect_timeout", "fallback_application_name",
                            "options",         "dbname",
                            "client_encoding", nullptr};
  const char* values[] = {"10",         "graphmill-coordinator",
                          "-c jit=off", uri.c_str(),
                          "UTF8",       nullptr};
  PGconn* connection = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (connection == nullptr) {
    return absl::ResourceExhaustedError(
        "postgres: out of memory allocating a connection");
  }
  std::unique_ptr<PgConnection> result(new PgConnection(connection));
  // Notices (e.g. "relation ... already exists, skipping") are not errors;
  // libpq would print them on stderr.
  PQsetNoticeProcessor(
      connection, [](void*, const char*) {}, nullptr);
  if (PQstatus(connection) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to the PostgreSQL store '", RedactConnectionUri(uri),
        "': ", absl::StripTrailingAsciiWhitespace(PQerrorMessage(connection))));
  }
  const char* encoding = PQparameterStatus(connection, "server_encoding");
  if (encoding == nullptr || (std::strcmp(encoding, "UTF8") != 0 &&
                              std::strcmp(encoding, "SQL_ASCII") != 0)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the PostgreSQL store '", RedactConnectionUri(uri), "' has encoding ",
        encoding ? encoding : "(unknown)",
        "; graphmill needs a UTF8 database (CREATE DATABASE ... ENCODING "
        "'UTF8' TEMPLATE template0)"));
  }
  return result;
}

PgConnection::~PgConnection() { PQfinish(connection_); }

absl::Status PgConnection::EnsureConnected() {
  // A server that restarted or ended the session has said so and closed the
  // socket: reading what is pending (without blocking) notices that before a
  // statement is sent into a dead connection. An idle socket has nothing.
  for (int read = 0;
       read < 4 && !in_transaction_ && PQstatus(connection_) == CONNECTION_OK;
       ++read) {
    pollfd socket = {.fd = PQsocket(connection_), .events = POLLIN};
    if (poll(&socket, 1, 0) <= 0 || PQconsumeInput(connection_) == 0) break;
  }
  if (PQstatus(connection_) == CONNECTION_OK) return absl::OkStatus();
  if (in_transaction_) {
    return absl::UnavailableError(
        "postgres: the connection was lost during the transaction");
  }
  PQreset(connection_);
  if (PQstatus(connection_) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "postgres: cannot reconnect: ",
        absl::StripTrailingAsciiWhitespace(PQerrorMessage(connection_))));
  }
  return absl::OkStatus();
}

absl::Status PgConnection::Error(const PGresult* result,
                                 absl::string_view sql) const {
  // The primary message only: details may quote row values (e.g. a token
  // hash in a unique violation).
  const char* state =
      result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const std::string message = absl::StrCat(
      "postgres: ",
      primary ? absl::string_view(primary)
              : absl::StripTrailingAsciiWhitespace(PQerrorMessage(connection_)),
      " in: ", Excerpt(sql));
  const absl::string_view code = state ? state : "";
  if (PQstatus(connection_) != CONNECTION_OK || absl::StartsWith(code, "08") ||
      absl::StartsWith(code, "57P")) {
    return absl::UnavailableError(message);
  }
  if (code == "23505") return absl::AlreadyExistsError(message);
  if (absl::StartsWith(code, "22")) return absl::InvalidArgumentError(message);
  if (code == "40001" || code == "40P01") return absl::AbortedError(message);
  return absl::InternalError(message);
}

absl::StatusOr<PgResult> PgConnection::Check(PGresult* raw,
                                             absl::string_view sql) const {
  PgResult result(raw);
  const ExecStatusType status = PQresultStatus(raw);
  if (raw == nullptr ||
      (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)) {
    return Error(raw, sql);
  }
  return result;
}

absl::StatusOr<std::vector<std::string>> PgConnection::AwaitNotifications(
    absl::Duration timeout) {
  std::vector<std::string> payloads;
  auto take = [&] {
    while (PGnotify* notify = PQnotifies(connection_)) {
      payloads.emplace_back(notify->extra);
      PQfreemem(notify);
    }
  };
  take();
  if (payloads.empty() && PQstatus(connection_) == CONNECTION_OK) {
    pollfd socket = {.fd = PQsocket(connection_), .events = POLLIN};
    const int waited =
        poll(&socket, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    if (waited > 0 && PQconsumeInput(connection_) == 0) {
      return absl::UnavailableError(absl::StrCat(
          "postgres: the listening connection was lost: ",
          absl::StripTrailingAsciiWhitespace(PQerrorMessage(connection_))));
    }
    take();
  }
  if (PQstatus(connection_) != CONNECTION_OK) {
    return absl::UnavailableError(
        "postgres: the listening connection was lost");
  }
  return payloads;
}

absl::Status PgConnection::Execute(absl::string_view sql) {
  if (absl::Status connected = EnsureConnected(); !connected.ok()) {
    return connected;
  }
  const std::string text(sql);
  return Check(PQexec(connection_, text.c_str()), sql).status();
}

absl::StatusOr<PgResult> PgConnection::Query(absl::string_view sql,
                                             const PgParams& params) {
  if (absl::Status connected = EnsureConnected(); !connected.ok()) {
    return connected;
  }
  const int count = static_cast<int>(params.types_.size());
  std::vector<const char*> values(count);
  std::vector<int> lengths(count);
  const std::vector<int> formats(count, 1);
  for (int i = 0; i < count; ++i) {
    values[i] = params.nulls_[i] ? nullptr : params.values_[i].data();
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
  const std::string text(sql);
  return Check(
      PQexecParams(connection_, text.c_str(), count, params.types_.data(),
                   values.data(), lengths.data(), formats.data(),
                   /*resultFormat=*/1),
      sql);
}

absl::Status PgConnection::ForEachRow(
    absl::string_view sql, const PgParams& params,
    const std::function<absl::Status(const PgRow&)>& visit) {
  absl::StatusOr<PgResult> result = Query(sql, params);
  if (!result.ok()) return result.status();
  for (int row = 0; row < result->rows(); ++row) {
    if (absl::Status status = visit(PgRow(*result, row)); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status PgConnection::Begin(absl::string_view begin) {
  absl::Status status = Execute(begin);
  if (status.ok()) in_transaction_ = true;
  return status;
}

absl::Status PgConnection::Commit() {
  if (PQtransactionStatus(connection_) == PQTRANS_INERROR) {
    // COMMIT would answer ROLLBACK without an error.
    Rollback();
    return absl::InternalError(
        "postgres: a statement of the transaction failed; rolled back");
  }
  absl::Status status = Execute("COMMIT");
  in_transaction_ = false;
  return status;
}

void PgConnection::Rollback() {
  if (PQstatus(connection_) == CONNECTION_OK) {
    Execute("ROLLBACK").IgnoreError();
  }
  in_transaction_ = false;
}

}  // namespace graphmill::coordinator
