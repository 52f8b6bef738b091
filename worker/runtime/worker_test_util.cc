// Implementation of worker/runtime/worker_test_util.h.
#include "worker/runtime/worker_test_util.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace graphmill::worker::testing {

std::string ThingKey(int i) { return absl::StrFormat("test-thing-%06d", i); }

v1::Entity MakeEntity(const std::string& key, const std::string& type) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type(type);
  entity.add_classes("Record");
  (*entity.mutable_properties())["name"].set_string_value(key);
  return entity;
}

int ConfigInt(const InstanceConfig& config, const std::string& name) {
  auto it = config.find(name);
  int value = 0;
  if (it != config.end() && !absl::SimpleAtoi(it->second, &value)) value = 0;
  return value;
}

v1::TaskAttempt Attempt(int64_t task_id, int32_t attempt) {
  v1::TaskAttempt result;
  result.set_task_id(task_id);
  result.set_attempt(attempt);
  return result;
}

v1::TaskAssignment StepTask(int64_t task_id, const std::string& step_id,
                            std::map<std::string, std::string> config,
                            int32_t attempt) {
  v1::TaskAssignment assignment;
  *assignment.mutable_attempt() = Attempt(task_id, attempt);
  assignment.set_kind(v1::TASK_KIND_STEP);
  assignment.set_run_id(77);
  assignment.set_instance_id("test-instance");
  assignment.set_integration("test");
  assignment.set_integration_version("1.0.0");
  assignment.set_step_id(step_id);
  config["apiToken"] = "secret-token";
  for (const auto& [name, value] : config)
    (*assignment.mutable_config())[name] = value;
  assignment.set_lease_ms(30'000);
  return assignment;
}

v1::TaskAssignment ValidateTask(int64_t task_id, const std::string& mode) {
  v1::TaskAssignment assignment = StepTask(task_id, "", {{"mode", mode}});
  assignment.set_kind(v1::TASK_KIND_VALIDATE_INVOCATION);
  return assignment;
}

bool Lists(const v1::Heartbeat& heartbeat, int64_t task_id) {
  for (const v1::TaskAttempt& attempt : heartbeat.running()) {
    if (attempt.task_id() == task_id) return true;
  }
  return false;
}

}  // namespace graphmill::worker::testing
