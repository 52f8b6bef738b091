// The Store interface's shared pieces: picking an implementation, lease checks
// and deterministic serialization.
#include "coordinator/store/store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/store/postgres_store.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {
namespace {

// Equal strings, in time independent of where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ |= a[i] ^ b[i];
  return differ == 0;
}

}  // namespace

bool IsActiveRunStatus(v1::RunStatus status) {
  return status == v1::RUN_STATUS_VALIDATING ||
         status == v1::RUN_STATUS_RUNNING;
}

std::string PendingUploadBytes() {
  v1::UploadStatus pending;
  pending.set_state(v1::UPLOAD_STATE_PENDING);
  return SerializeDeterministic(pending);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& spec) {
  if (spec.empty()) {
    return absl::InvalidArgumentError(
        "store: give a SQLite file path (e.g. graphmill.db) or a PostgreSQL "
        "connection URI (postgresql://...)");
  }
  if (absl::StartsWith(spec, "postgresql://") ||
      absl::StartsWith(spec, "postgres://")) {
    absl::StatusOr<std::unique_ptr<PostgresStore>> postgres =
        PostgresStore::Open(spec);
    if (!postgres.ok()) return postgres.status();
    return std::unique_ptr<Store>(*std::move(postgres));
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> sqlite = SqliteStore::Open(spec);
  if (!sqlite.ok()) return sqlite.status();
  return std::unique_ptr<Store>(*std::move(sqlite));
}

absl::Status CheckLease(const TaskRecord& task,
                        const v1::TaskAttempt& attempt) {
  const std::string which =
      absl::StrCat("task ", attempt.task_id(), " attempt ", attempt.attempt());
  if (task.state != TaskState::kLeased) {
    return absl::FailedPreconditionError(
        absl::StrCat(which, " is no longer current: the task is ",
                     task.state == TaskState::kPending ? "waiting for a lease"
                     : task.state == TaskState::kSucceeded ? "done"
                                                           : "failed"));
  }
  if (task.attempt != attempt.attempt()) {
    return absl::FailedPreconditionError(
        absl::StrCat(which, " is no longer current: attempt ", task.attempt,
                     " holds the lease"));
  }
  if (task.lease_id.empty() ||
      !ConstantTimeEquals(task.lease_id, attempt.lease_id())) {
    return absl::FailedPreconditionError(
        absl::StrCat(which, ": the lease id does not match the current lease"));
  }
  return absl::OkStatus();
}

std::string SerializeDeterministic(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace graphmill::coordinator
