// Implementation of coordinator/store/postgres/internal.h.
#include "coordinator/store/postgres/internal.h"

#include <cmath>

#include "absl/strings/str_join.h"
#include "common/graph_json.h"
#include "common/status_macros.h"

namespace graphmill::coordinator::postgres_internal {
namespace {

// True if `value` is or holds a NaN or infinite number.
bool HasNonFinite(const v1::Value& value) {
  if (value.kind_case() == v1::Value::kDoubleValue) {
    return !std::isfinite(value.double_value());
  }
  if (value.kind_case() == v1::Value::kListValue) {
    for (const v1::Value& element : value.list_value().values()) {
      if (HasNonFinite(element)) return true;
    }
  }
  return false;
}

}  // namespace

std::string SqlList(std::initializer_list<int64_t> codes) {
  return absl::StrCat("(", absl::StrJoin(codes, ", "), ")");
}

std::string ActiveRunStatuses() {
  return SqlList({v1::RUN_STATUS_VALIDATING, v1::RUN_STATUS_RUNNING});
}

std::string UnfinishedTaskStates() {
  return SqlList(
      {StateCode(TaskState::kPending), StateCode(TaskState::kLeased)});
}

std::string EndedTaskStates() {
  return SqlList(
      {StateCode(TaskState::kSucceeded), StateCode(TaskState::kFailed)});
}

std::string JoinClasses(
    const google::protobuf::RepeatedPtrField<std::string>& classes) {
  return absl::StrCat("|", absl::StrJoin(classes, "|"), "|");
}

v1::Value WithoutNonFinite(const v1::Value& value) {
  if (!HasNonFinite(value)) return value;
  v1::Value result;
  if (value.kind_case() == v1::Value::kDoubleValue) {
    result.set_null_value(true);
    return result;
  }
  for (const v1::Value& element : value.list_value().values()) {
    *result.mutable_list_value()->add_values() = WithoutNonFinite(element);
  }
  return result;
}

std::string JsonbSafe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] != '\\') {
      out += json[i];
    } else if (json.compare(i, 6, "\\u0000") == 0) {
      out += "\\ufffd";
      i += 5;
    } else if (i + 1 < json.size()) {
      out.append(json, i, 2);  // an escape: its second character is not one
      ++i;
    }
  }
  return out;
}

std::string PropsJson(
    const google::protobuf::Map<std::string, v1::Value>& properties) {
  bool non_finite = false;
  for (const auto& [name, value] : properties) {
    non_finite |= HasNonFinite(value);
  }
  if (!non_finite) return JsonbSafe(PropertiesToJson(properties));
  google::protobuf::Map<std::string, v1::Value> finite;
  for (const auto& [name, value] : properties) {
    finite[name] = WithoutNonFinite(value);
  }
  return JsonbSafe(PropertiesToJson(finite));
}

absl::StatusOr<TaskRecord> TaskFromRow(const PgRow& row) {
  TaskRecord task;
  task.id = row.Int(0);
  task.run_id = row.Int(1);
  task.step_id = row.Text(2);
  task.kind = static_cast<v1::TaskKind>(row.Int(3));
  GM_ASSIGN_OR_RETURN(task.shard, Parse<v1::Shard>(row.Text(4), "task shard"));
  task.attempt = static_cast<int32_t>(row.Int(5));
  task.state = static_cast<TaskState>(row.Int(6));
  task.worker_id = row.Text(7);
  task.lease_expires_ms = row.Int(8);
  task.error = row.Text(9);
  task.instance_id = row.Text(10);
  task.lease_id = row.Text(11);
  return task;
}

absl::StatusOr<std::vector<TaskRecord>> CollectTasks(PgConnection& db,
                                                     absl::string_view sql,
                                                     const PgParams& params) {
  return CollectRows<TaskRecord>(db, sql, params, TaskFromRow);
}

}  // namespace graphmill::coordinator::postgres_internal
