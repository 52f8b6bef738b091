// Pieces the SqliteStore's source files share: the codes its tables store, SQL
// text built from named enum values, row decoders. Internal to
// coordinator/store/sqlite; not part of the Store contract.
//
// Enum values reach SQL either as bound parameters or as text made here from
// the proto and C++ constants, never as bare numbers in a statement, so a
// renumbered enum cannot silently change what a query means.
#ifndef GRAPHMILL_COORDINATOR_STORE_SQLITE_INTERNAL_H_
#define GRAPHMILL_COORDINATOR_STORE_SQLITE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "coordinator/store/sqlite/database.h"
#include "coordinator/store/store.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace graphmill::coordinator::sqlite {

// The `object` column of object tables: what kind of graph object a row holds.
inline constexpr int64_t kEntityObject = 0;
inline constexpr int64_t kRelationshipObject = 1;

// Stored codes of the store's own enums (store.h) and of proto enums.
inline int64_t Code(TaskState state) { return static_cast<int64_t>(state); }
inline int64_t Code(DeletionRule rule) { return static_cast<int64_t>(rule); }
template <typename ProtoEnum>
int64_t Code(ProtoEnum value) {
  return static_cast<int64_t>(value);
}

// Each run's staged objects live in a table of their own, staged_<run id>
// (schema.cc says what a row is), so that dropping a run's objects (cancel,
// prune) is a DROP TABLE, which frees pages instead of rewriting every one as
// a DELETE does.
std::string StagedTable(int64_t run_id);
// Creates the run's table and its index if missing.
std::string StagedTableSchema(int64_t run_id);
// The run's staged rows `s` joined to their tasks `t`, keeping the rows of
// committed attempts: the objects that joined the run.
std::string CommittedRows(int64_t run_id);

// True if the run has a table of staged objects (StagedTable).
absl::StatusOr<bool> HasStagedTable(SqliteDatabase& db, int64_t run_id);
// The task `task_id`; NOT_FOUND if there is none.
absl::StatusOr<TaskRecord> ReadTask(SqliteDatabase& db, int64_t task_id);

// SQL list text "(a, b)" of codes, for IN clauses that must be literal (a
// partial index's WHERE) or read better than two parameters.
std::string CodeList(std::initializer_list<int64_t> codes);
// The run statuses in which a run is active (IsActiveRunStatus), as CodeList.
const std::string& ActiveRunStatuses();
// The task states of a task that has not ended (pending, leased).
const std::string& UnfinishedTaskStates();
// The task states of a task that has ended (succeeded, failed).
const std::string& EndedTaskStates();

// Classes are stored as "|A|B|" so a class filter is a LIKE '%|C|%'.
std::string JoinClasses(
    const google::protobuf::RepeatedPtrField<std::string>& classes);

template <typename T>
absl::StatusOr<T> Parse(absl::string_view bytes, absl::string_view what) {
  T message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("store: corrupt ", what));
  }
  return message;
}

// The columns TaskFromRow reads, in its order.
inline constexpr char kTaskColumns[] =
    "id, run_id, step_id, kind, shard, attempt, state, worker_id, "
    "lease_expires_ms, error, instance_id, lease_id";
absl::StatusOr<TaskRecord> TaskFromRow(const SqliteStatement& row);
// Every row of `select` (which selects kTaskColumns) as a task.
absl::StatusOr<std::vector<TaskRecord>> CollectTasks(SqliteStatement& select);

// What the instances table's settings column holds: the instance without its
// identity and timestamps.
std::string InstanceSettings(const v1::Instance& instance);

}  // namespace graphmill::coordinator::sqlite

#endif  // GRAPHMILL_COORDINATOR_STORE_SQLITE_INTERNAL_H_
