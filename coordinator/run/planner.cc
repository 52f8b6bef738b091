// Implementation of coordinator/run/planner.h.
#include "coordinator/run/planner.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/definitions.h"
#include "coordinator/metrics.h"

namespace graphmill::coordinator {
namespace {

const char* StepStatusName(v1::StepStatus status) {
  switch (status) {
    case v1::STEP_STATUS_SUCCESS:
      return "success";
    case v1::STEP_STATUS_FAILURE:
      return "failure";
    case v1::STEP_STATUS_PARTIAL:
      return "partial (a dependency failed)";
    case v1::STEP_STATUS_DISABLED:
      return "disabled";
    default:
      return "pending";
  }
}

}  // namespace

void ShardBuilder::Add(const std::string& key) {
  if (in_shard_ == 0) {
    v1::Shard& shard = shards_.emplace_back();
    shard.set_parent_type(parent_type_);
    shard.set_first_key(key);
  }
  shards_.back().set_last_key(key);
  if (++in_shard_ == shard_size_) in_shard_ = 0;
}

std::vector<v1::Shard> ShardBuilder::Finish() && {
  if (shards_.empty()) shards_.emplace_back().set_parent_type(parent_type_);
  return std::move(shards_);
}

bool IsSettled(v1::StepStatus status) {
  return status == v1::STEP_STATUS_SUCCESS ||
         status == v1::STEP_STATUS_FAILURE ||
         status == v1::STEP_STATUS_PARTIAL ||
         status == v1::STEP_STATUS_DISABLED;
}

Dependencies SummarizeDependencies(
    const v1::StepDefinition& step,
    const absl::flat_hash_map<std::string, v1::StepStatus>& status) {
  Dependencies result;
  for (const std::string& dependency : step.depends_on()) {
    auto found = status.find(dependency);
    const v1::StepStatus dependency_status =
        found == status.end() ? v1::STEP_STATUS_PENDING : found->second;
    result.settled &= IsSettled(dependency_status);
    result.disabled |= dependency_status == v1::STEP_STATUS_DISABLED;
    result.failed |= dependency_status == v1::STEP_STATUS_FAILURE ||
                     dependency_status == v1::STEP_STATUS_PARTIAL;
  }
  return result;
}

std::optional<StepEnd> SettleStep(const std::vector<const TaskRecord*>& tasks,
                                  bool dependency_failed) {
  const TaskRecord* failed = nullptr;
  for (const TaskRecord* task : tasks) {
    if (task->state != TaskState::kSucceeded &&
        task->state != TaskState::kFailed) {
      return std::nullopt;
    }
    if (task->state == TaskState::kFailed && failed == nullptr) failed = task;
  }
  if (failed != nullptr) return StepEnd{v1::STEP_STATUS_FAILURE, failed->error};
  return StepEnd{
      dependency_failed ? v1::STEP_STATUS_PARTIAL : v1::STEP_STATUS_SUCCESS,
      ""};
}

Validation CheckValidation(const std::vector<TaskRecord>& tasks) {
  Validation validation;
  for (const TaskRecord& task : tasks) {
    if (task.kind != v1::TASK_KIND_VALIDATE_INVOCATION) continue;
    if (task.state == TaskState::kFailed) {
      return {Validation::kFailed,
              absl::StrCat("invocation validation failed: ", task.error)};
    }
    if (task.state != TaskState::kSucceeded) return {Validation::kPending, ""};
    validation.state = Validation::kPassed;
  }
  return validation;
}

absl::StatusOr<const RunInfo*> Planner::Info(int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it != runs_.end()) return it->second.get();
  auto info = std::make_unique<RunInfo>();
  GM_ASSIGN_OR_RETURN(info->definition, store_->GetRunDefinition(run_id));
  GM_ASSIGN_OR_RETURN(info->order, ValidateDefinition(info->definition));
  GM_ASSIGN_OR_RETURN(v1::Run run, store_->GetRun(run_id));
  info->instance_id = run.instance_id();
  info->incremental.since_ms = run.incremental_since_ms();
  if (info->incremental.since_ms > 0) {
    // What the newest finalized run before this one could not complete.
    auto earlier = [&](const v1::Run& other) {
      return other.id() < run_id && other.finalized_at_ms() > 0;
    };
    GM_ASSIGN_OR_RETURN(
        std::vector<v1::Run> runs,
        ReadEarlierRuns(*store_, run.instance_id(),
                        [&](const std::vector<v1::Run>& read) {
                          return std::any_of(read.begin(), read.end(), earlier);
                        }));
    std::erase_if(runs, [&](const v1::Run& other) { return !earlier(other); });
    info->incremental.not_carried_types = NotCarriedTypes(runs);
  }
  const RunInfo* result = info.get();
  runs_[run_id] = std::move(info);
  return result;
}

void Planner::KeepOnly(const std::vector<int64_t>& active) {
  const std::set<int64_t> keep(active.begin(), active.end());
  std::erase_if(runs_,
                [&](const auto& entry) { return !keep.contains(entry.first); });
}

absl::StatusOr<RunProgress> Planner::Advance(int64_t run_id) {
  GM_ASSIGN_OR_RETURN(const RunInfo* info, Info(run_id));
  GM_ASSIGN_OR_RETURN(v1::Run run, store_->GetRun(run_id));
  GM_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                      store_->TasksOfRun(run_id));
  CoordinatorMetrics::Get().CountRunTasks(info->definition.name(), tasks);
  const int64_t now = clock_->NowMs();

  if (run.status() == v1::RUN_STATUS_VALIDATING) {
    const Validation validation = CheckValidation(tasks);
    switch (validation.state) {
      case Validation::kFailed:
        events_->Record(run_id, v1::EVENT_LEVEL_ERROR, "validation_failure",
                        validation.error, "");
        GM_RETURN_IF_ERROR(store_->SetRunStatus(run_id, v1::RUN_STATUS_FAILED,
                                                validation.error, now));
        LogWarn("run ", run_id, ": ", validation.error);
        CoordinatorMetrics::Get().RunEnded(*store_, run_id, now);
        Forget(run_id);
        return RunProgress::kEnded;
      case Validation::kPending:
        return RunProgress::kActive;
      case Validation::kPassed:
        events_->Record(run_id, v1::EVENT_LEVEL_INFO, "validation_success",
                        "the provider accepted the credentials", "");
        GM_RETURN_IF_ERROR(
            store_->SetRunStatus(run_id, v1::RUN_STATUS_RUNNING, "", now));
        break;
      case Validation::kNone:
        break;
    }
  }

  absl::flat_hash_map<std::string, v1::StepStatus> status;
  for (const v1::StepRun& step : run.steps())
    status[step.step_id()] = step.status();
  absl::flat_hash_map<std::string, std::vector<const TaskRecord*>> step_tasks;
  for (const TaskRecord& task : tasks) {
    if (task.kind == v1::TASK_KIND_STEP)
      step_tasks[task.step_id].push_back(&task);
  }
  absl::flat_hash_map<std::string, const v1::StepDefinition*> steps;
  for (const v1::StepDefinition& step : info->definition.steps())
    steps[step.id()] = &step;

  bool all_settled = true;
  for (const std::string& step_id : info->order) {
    const v1::StepDefinition& step = *steps.at(step_id);
    const Dependencies dependencies = SummarizeDependencies(step, status);
    v1::StepStatus& current = status[step_id];
    if (current == v1::STEP_STATUS_PENDING && dependencies.settled) {
      if (dependencies.disabled) {
        current = v1::STEP_STATUS_DISABLED;
        GM_RETURN_IF_ERROR(
            store_->SetStepStatus(run_id, step_id, current, "", now));
        events_->Record(run_id, v1::EVENT_LEVEL_INFO, "step_skip",
                        "step disabled because a dependency is disabled",
                        step_id);
      } else {
        absl::StatusOr<int> planned = PlanStep(run_id, step, now);
        current = v1::STEP_STATUS_RUNNING;
        if (absl::IsFailedPrecondition(planned.status())) {
          // Started by an earlier process or another replica: its tasks are
          // in the store, and the next pump sees them.
          all_settled = false;
          continue;
        }
        GM_RETURN_IF_ERROR(planned.status());
        const int created = *planned;
        events_->Record(run_id, v1::EVENT_LEVEL_INFO, "step_start",
                        absl::StrCat("step '", step.name(), "' started with ",
                                     created, " task(s)"),
                        step_id);
        // Tasks just planned are not in `tasks`; a step with none settles
        // below.
        if (created > 0) {
          all_settled = false;
          continue;
        }
      }
    }
    if (current == v1::STEP_STATUS_RUNNING) {
      const std::optional<StepEnd> end =
          SettleStep(step_tasks[step_id], dependencies.failed);
      if (end.has_value()) {
        current = end->status;
        GM_RETURN_IF_ERROR(
            store_->SetStepStatus(run_id, step_id, current, end->error, now));
        const bool failure = current == v1::STEP_STATUS_FAILURE;
        events_->Record(
            run_id, failure ? v1::EVENT_LEVEL_ERROR : v1::EVENT_LEVEL_INFO,
            failure ? "step_failure" : "step_end",
            absl::StrCat(
                "step '", step.name(), "' ended: ", StepStatusName(current),
                end->error.empty() ? "" : absl::StrCat(": ", end->error)),
            step_id);
      }
    }
    all_settled &= IsSettled(current);
  }
  return all_settled ? RunProgress::kSettled : RunProgress::kActive;
}

absl::StatusOr<int> Planner::PlanStep(int64_t run_id,
                                      const v1::StepDefinition& step,
                                      int64_t now_ms) {
  std::vector<v1::Shard> shards;
  if (step.parent_type().empty()) {
    shards.emplace_back();  // not sharded
  } else {
    ShardBuilder builder(step.parent_type(), shard_size_);
    GM_RETURN_IF_ERROR(store_->ForEachStagedKey(
        run_id, step.parent_type(),
        [&](const std::string& key) { builder.Add(key); }));
    shards = std::move(builder).Finish();
  }
  return store_->StartStep(run_id, step.id(), shards, now_ms);
}

}  // namespace graphmill::coordinator
