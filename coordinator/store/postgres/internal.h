// Pieces the files of the PostgreSQL store (coordinator/store/postgres/*.cc)
// share: the codes the schema stores, SQL text built from them, row decoding
// and the JSON the props columns hold. Not part of the store's interface:
// include only from coordinator/store/postgres/. Stateless and thread-safe;
// errors are absl::Status values (DATA_LOSS for bytes that do not parse).
#ifndef GRAPHMILL_COORDINATOR_STORE_POSTGRES_INTERNAL_H_
#define GRAPHMILL_COORDINATOR_STORE_POSTGRES_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "coordinator/store/postgres.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator::postgres_internal {

// The `object` column of staged_objects, graph_objects and changes.
inline constexpr int kEntityObject = 0;
inline constexpr int kRelationshipObject = 1;

// The schema version this code reads and writes (schema.cc migrates older
// databases to it).
inline constexpr int kSchemaVersion = 7;

// The `state` column of tasks: TaskState's values.
constexpr int64_t StateCode(TaskState state) {
  return static_cast<int64_t>(state);
}

// "(a, b, ...)": an SQL list of codes, for IN and for partial indexes, whose
// predicates must be literal.
std::string SqlList(std::initializer_list<int64_t> codes);

// Runs that may still change (IsActiveRunStatus), tasks not yet ended, and
// tasks that ended.
std::string ActiveRunStatuses();
std::string UnfinishedTaskStates();
std::string EndedTaskStates();

// Parses stored protobuf bytes; DATA_LOSS naming `what` if they do not parse.
template <typename T>
absl::StatusOr<T> Parse(const std::string& bytes, absl::string_view what) {
  T message;
  if (!message.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("store: corrupt ", what));
  }
  return message;
}

// Classes are stored as "|A|B|" so a class filter is a substring match.
std::string JoinClasses(
    const google::protobuf::RepeatedPtrField<std::string>& classes);

// `value` with NaN and infinities (which JSON cannot spell) as null.
v1::Value WithoutNonFinite(const v1::Value& value);

// JSON that jsonb accepts: "\u0000" (which jsonb refuses) becomes "\ufffd".
std::string JsonbSafe(const std::string& json);

// The props column: PropertiesToJson's JSON, which property filters read, made
// acceptable to jsonb (NaN and infinities as null, U+0000 as U+FFFD). The data
// column keeps the exact object.
std::string PropsJson(
    const google::protobuf::Map<std::string, v1::Value>& properties);

// The columns TaskFromRow reads, in its order.
inline constexpr char kTaskColumns[] =
    "id, run_id, step_id, kind, shard, attempt, state, worker_id, "
    "lease_expires_ms, error, instance_id, lease_id";
absl::StatusOr<TaskRecord> TaskFromRow(const PgRow& row);

// True for a row `s` of staged_objects whose attempt committed: the rows
// readers see. A per-row probe of the task by its key, so that scans keep the
// staged indexes' key order whatever the planner knows of tasks.
inline constexpr char kCommitted[] =
    "(SELECT t.commit_seq FROM tasks t WHERE t.id = s.task_id AND "
    "t.attempt = s.attempt) > 0";

// The highest sequence the change log has held: what is there, or, once
// retention dropped everything, where it pruned through. An SQL expression.
inline constexpr char kLastSequence[] = R"sql(
    GREATEST(
      COALESCE((SELECT MAX(sequence) FROM changes), 0),
      COALESCE((SELECT value FROM meta WHERE name = 'changes_pruned_through'),
               0)))sql";

// Runs `sql` and converts each row; the first conversion error is returned.
template <typename T>
absl::StatusOr<std::vector<T>> CollectRows(
    PgConnection& db, absl::string_view sql, const PgParams& params,
    const std::function<absl::StatusOr<T>(const PgRow&)>& convert) {
  std::vector<T> result;
  absl::Status status =
      db.ForEachRow(sql, params, [&](const PgRow& row) -> absl::Status {
        absl::StatusOr<T> value = convert(row);
        if (!value.ok()) return value.status();
        result.push_back(*std::move(value));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return result;
}

// The tasks `sql` selects (kTaskColumns).
absl::StatusOr<std::vector<TaskRecord>> CollectTasks(
    PgConnection& db, absl::string_view sql,
    const PgParams& params = PgParams());

}  // namespace graphmill::coordinator::postgres_internal

#endif  // GRAPHMILL_COORDINATOR_STORE_POSTGRES_INTERNAL_H_
