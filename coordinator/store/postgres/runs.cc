// PostgresStore: runs, their steps and events.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

// --- Runs ---

absl::StatusOr<int64_t> PostgresStore::CreateRun(
    const std::string& instance_id, const v1::IntegrationDefinition& definition,
    v1::RunTrigger trigger, const std::vector<std::string>& disabled_steps,
    int64_t now_ms, std::optional<int64_t> schedule_slot_ms,
    int64_t incremental_since_ms) {
  absl::MutexLock lock(&mu_);
  int64_t run_id = 0;
  // Refusals that still commit the schedule slot (see Store::CreateRun).
  absl::Status refused;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    refused = absl::OkStatus();
    // Locking the instance row makes "has the slot fired?", "is a run
    // active?" and the insert one decision.
    GM_ASSIGN_OR_RETURN(
        PgResult instance,
        db_->Query("SELECT last_slot_ms FROM instances WHERE id = $1 FOR "
                   "UPDATE",
                   PgParams().Text(instance_id)));
    if (schedule_slot_ms.has_value()) {
      if (instance.rows() > 0 && instance.Int(0, 0) >= *schedule_slot_ms) {
        return absl::FailedPreconditionError(
            absl::StrCat("instance '", instance_id, "': schedule slot ",
                         *schedule_slot_ms, " already fired"));
      }
      GM_RETURN_IF_ERROR(
          db_->Query("UPDATE instances SET last_slot_ms = $1 WHERE id = $2",
                     PgParams().Int(*schedule_slot_ms).Text(instance_id))
              .status());
    }
    GM_ASSIGN_OR_RETURN(
        PgResult active,
        db_->Query(absl::StrCat("SELECT id FROM runs WHERE instance_id = $1 "
                                "AND status IN ",
                                ActiveRunStatuses()),
                   PgParams().Text(instance_id)));
    if (active.rows() > 0) {
      refused = absl::FailedPreconditionError(
          absl::StrCat("instance '", instance_id,
                       "' already has an active run ", active.Int(0, 0)));
      return absl::OkStatus();  // the slot stays recorded
    }
    constexpr char kInsertRun[] = R"sql(
        INSERT INTO runs (instance_id, status, created_ms, definition, trigger,
                          incremental_since_ms)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)sql";
    absl::StatusOr<PgResult> inserted =
        db_->Query(kInsertRun, PgParams()
                                   .Text(instance_id)
                                   .Int(v1::RUN_STATUS_VALIDATING)
                                   .Int(now_ms)
                                   .Bytes(SerializeDeterministic(definition))
                                   .Int(trigger)
                                   .Int(incremental_since_ms));
    if (absl::IsAlreadyExists(inserted.status())) {
      // runs_one_active: a run started for an instance without a row.
      return absl::FailedPreconditionError(absl::StrCat(
          "instance '", instance_id, "' already has an active run"));
    }
    GM_RETURN_IF_ERROR(inserted.status());
    run_id = inserted->Int(0, 0);
    int position = 0;
    for (const v1::StepDefinition& step : definition.steps()) {
      const bool disabled =
          std::find(disabled_steps.begin(), disabled_steps.end(), step.id()) !=
          disabled_steps.end();
      constexpr char kInsertStep[] = R"sql(
          INSERT INTO steps (run_id, step_id, position, name, status)
          VALUES ($1, $2, $3, $4, $5))sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kInsertStep, PgParams()
                                      .Int(run_id)
                                      .Text(step.id())
                                      .Int(position++)
                                      .Text(step.name())
                                      .Int(disabled ? v1::STEP_STATUS_DISABLED
                                                    : v1::STEP_STATUS_PENDING))
              .status());
    }
    constexpr char kInsertValidation[] = R"sql(
        INSERT INTO tasks (run_id, instance_id, step_id, kind, shard)
        VALUES ($1, $2, '', $3, ''))sql";
    GM_RETURN_IF_ERROR(db_->Query(kInsertValidation,
                                  PgParams()
                                      .Int(run_id)
                                      .Text(instance_id)
                                      .Int(v1::TASK_KIND_VALIDATE_INVOCATION))
                           .status());
    return NotifyReplicas(ReplicaChange::kRuns);
  }));
  if (!refused.ok()) return refused;
  return run_id;
}

absl::StatusOr<v1::Run> PostgresStore::GetRun(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  v1::Run run;
  GM_RETURN_IF_ERROR(ReadTransaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(run, GetRunLocked(run_id));
    return absl::OkStatus();
  }));
  return run;
}

absl::StatusOr<v1::Run> PostgresStore::GetRunLocked(int64_t run_id) {
  constexpr char kSelectRun[] = R"sql(
      SELECT instance_id, status, created_ms, ended_ms, error, created_count,
             updated_count, deleted_count, trigger, started_ms, upload,
             finalize_started_ms, incremental_since_ms
      FROM runs WHERE id = $1)sql";
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query(kSelectRun, PgParams().Int(run_id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  }
  v1::Run run;
  run.set_id(run_id);
  run.set_instance_id(rows.Text(0, 0));
  run.set_status(static_cast<v1::RunStatus>(rows.Int(0, 1)));
  run.set_created_at_ms(rows.Int(0, 2));
  run.set_ended_at_ms(rows.Int(0, 3));
  run.set_error(rows.Text(0, 4));
  run.set_created_count(rows.Int(0, 5));
  run.set_updated_count(rows.Int(0, 6));
  run.set_deleted_count(rows.Int(0, 7));
  run.set_trigger(static_cast<v1::RunTrigger>(rows.Int(0, 8)));
  run.set_started_at_ms(rows.Int(0, 9));
  // Finalize ends the run as it commits, so the commit time is ended_ms.
  run.set_finalize_started_at_ms(rows.Int(0, 11));
  run.set_incremental_since_ms(rows.Int(0, 12));
  if (run.finalize_started_at_ms() > 0) {
    run.set_finalized_at_ms(run.ended_at_ms());
  }
  if (const std::string upload = rows.Text(0, 10); !upload.empty()) {
    GM_ASSIGN_OR_RETURN(*run.mutable_upload(),
                        Parse<v1::UploadStatus>(upload, "run upload"));
  }

  const std::string select_steps = absl::StrCat(R"sql(
      SELECT s.step_id, s.name, s.status, s.started_ms, s.ended_ms, s.error,
             s.tasks_total,
             (SELECT COUNT(*) FROM tasks t
              WHERE t.run_id = s.run_id AND t.step_id = s.step_id
                AND t.state IN )sql",
                                                EndedTaskStates(), R"sql()
      FROM steps s WHERE s.run_id = $1 ORDER BY s.position)sql");
  GM_RETURN_IF_ERROR(db_->ForEachRow(
      select_steps, PgParams().Int(run_id), [&](const PgRow& row) {
        v1::StepRun* step = run.add_steps();
        step->set_step_id(row.Text(0));
        step->set_name(row.Text(1));
        step->set_status(static_cast<v1::StepStatus>(row.Int(2)));
        step->set_started_at_ms(row.Int(3));
        step->set_ended_at_ms(row.Int(4));
        step->set_error(row.Text(5));
        step->set_tasks_total(static_cast<int32_t>(row.Int(6)));
        step->set_tasks_done(static_cast<int32_t>(row.Int(7)));
        return absl::OkStatus();
      }));
  GM_RETURN_IF_ERROR(db_->ForEachRow(
      "SELECT step_id, type, count FROM step_type_counts WHERE run_id = $1",
      PgParams().Int(run_id), [&](const PgRow& row) {
        const std::string step_id = row.Text(0);
        for (v1::StepRun& step : *run.mutable_steps()) {
          if (step.step_id() == step_id) {
            (*step.mutable_type_counts())[row.Text(1)] = row.Int(2);
          }
        }
        return absl::OkStatus();
      }));
  // Objects of attempts still running, so progress moves before a task ends.
  constexpr char kSelectArriving[] = R"sql(
      SELECT t.step_id, a.type, SUM(a.count)::BIGINT
      FROM tasks t JOIN attempt_type_counts a
        ON a.task_id = t.id AND a.attempt = t.attempt
      WHERE t.run_id = $1 AND t.state = $2 GROUP BY 1, 2)sql";
  GM_RETURN_IF_ERROR(db_->ForEachRow(
      kSelectArriving,
      PgParams().Int(run_id).Int(StateCode(TaskState::kLeased)),
      [&](const PgRow& row) {
        const std::string step_id = row.Text(0);
        for (v1::StepRun& step : *run.mutable_steps()) {
          if (step.step_id() == step_id) {
            (*step.mutable_arriving_type_counts())[row.Text(1)] = row.Int(2);
          }
        }
        return absl::OkStatus();
      }));
  constexpr char kSelectIncompleteTypes[] = R"sql(
      SELECT type, reason, error, all_kept FROM run_incomplete_types
      WHERE run_id = $1 ORDER BY type)sql";
  GM_RETURN_IF_ERROR(db_->ForEachRow(
      kSelectIncompleteTypes, PgParams().Int(run_id), [&](const PgRow& row) {
        v1::IncompleteType* type = run.add_incomplete_types();
        type->set_type(row.Text(0));
        type->set_reason(row.Text(1));
        type->set_error(row.Bool(2));
        type->set_all_kept(row.Bool(3));
        return absl::OkStatus();
      }));
  return run;
}

absl::StatusOr<std::vector<v1::Run>> PostgresStore::ListRuns(
    const std::string& instance_id, int limit) {
  std::vector<int64_t> ids;
  {
    absl::MutexLock lock(&mu_);
    constexpr char kSelectIds[] = R"sql(
        SELECT id FROM runs WHERE ($1 = '' OR instance_id = $1)
        ORDER BY id DESC LIMIT $2)sql";
    GM_ASSIGN_OR_RETURN(
        ids, CollectRows<int64_t>(*db_, kSelectIds,
                                  PgParams().Text(instance_id).Limit(limit),
                                  [](const PgRow& row) { return row.Int(0); }));
  }
  std::vector<v1::Run> runs;
  for (int64_t id : ids) {
    GM_ASSIGN_OR_RETURN(v1::Run run, GetRun(id));
    runs.push_back(std::move(run));
  }
  return runs;
}

absl::StatusOr<std::vector<int64_t>> PostgresStore::ActiveRunIds() {
  absl::MutexLock lock(&mu_);
  return CollectRows<int64_t>(
      *db_,
      absl::StrCat("SELECT id FROM runs WHERE status IN ", ActiveRunStatuses(),
                   " ORDER BY id"),
      PgParams(), [](const PgRow& row) { return row.Int(0); });
}

absl::StatusOr<v1::IntegrationDefinition> PostgresStore::GetRunDefinition(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query("SELECT definition FROM runs WHERE id = $1",
                                 PgParams().Int(run_id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  }
  return Parse<v1::IntegrationDefinition>(rows.Text(0, 0), "run definition");
}

absl::Status PostgresStore::SetRunStatus(int64_t run_id, v1::RunStatus status,
                                         const std::string& error,
                                         int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  const bool ended =
      status != v1::RUN_STATUS_VALIDATING && status != v1::RUN_STATUS_RUNNING;
  // started_ms is set when the run first becomes RUNNING ($6).
  constexpr char kUpdate[] = R"sql(
      UPDATE runs SET status = $1, error = $2, ended_ms = $3,
        started_ms = CASE WHEN $1 = $6 AND started_ms = 0 THEN $5
                          ELSE started_ms END
      WHERE id = $4)sql";
  GM_RETURN_IF_ERROR(db_->Query(kUpdate, PgParams()
                                             .Int(status)
                                             .Text(error)
                                             .Int(ended ? now_ms : 0)
                                             .Int(run_id)
                                             .Int(now_ms)
                                             .Int(v1::RUN_STATUS_RUNNING))
                         .status());
  WakeReplicas(ReplicaChange::kRuns);
  return absl::OkStatus();
}

absl::Status PostgresStore::SetRunUpload(int64_t run_id,
                                         const v1::UploadStatus& upload) {
  absl::MutexLock lock(&mu_);
  GM_RETURN_IF_ERROR(
      db_->Query("UPDATE runs SET upload = $1 WHERE id = $2",
                 PgParams().Bytes(SerializeDeterministic(upload)).Int(run_id))
          .status());
  WakeReplicas(ReplicaChange::kRuns);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::CancelRun(
    int64_t run_id, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::vector<TaskRecord> leased;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    // The run row, then its unfinished task rows (the order CommitAttempt
    // locks them in): an attempt cannot end while its run is cancelled.
    const std::string cancel = absl::StrCat(R"sql(
        UPDATE runs SET status = $1, ended_ms = $2,
          error = 'cancelled by an operator'
        WHERE id = $3 AND status IN )sql",
                                            ActiveRunStatuses());
    GM_ASSIGN_OR_RETURN(
        PgResult cancelled,
        db_->Query(
            cancel,
            PgParams().Int(v1::RUN_STATUS_CANCELLED).Int(now_ms).Int(run_id)));
    if (cancelled.affected() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active"));
    }
    const std::string unfinished = UnfinishedTaskStates();
    GM_ASSIGN_OR_RETURN(
        std::vector<TaskRecord> tasks,
        CollectTasks(*db_,
                     absl::StrCat("SELECT ", kTaskColumns,
                                  " FROM tasks WHERE run_id = $1 AND state IN ",
                                  unfinished, " ORDER BY id FOR UPDATE"),
                     PgParams().Int(run_id)));
    leased.clear();
    for (TaskRecord& task : tasks) {
      if (task.state == TaskState::kLeased) leased.push_back(std::move(task));
    }
    // Every staged object of the run goes, committed or not.
    const std::string of_unfinished = absl::StrCat(
        " WHERE task_id IN (SELECT id FROM tasks WHERE run_id = $1 AND "
        "state IN ",
        unfinished, ")");
    const std::string statements[] = {
        absl::StrCat("DELETE FROM attempt_events", of_unfinished),
        absl::StrCat("DELETE FROM attempt_incomplete", of_unfinished),
        absl::StrCat("DELETE FROM attempt_type_counts", of_unfinished),
        absl::StrCat("UPDATE tasks SET state = ", StateCode(TaskState::kFailed),
                     ", error = 'run cancelled', worker_id = '' "
                     "WHERE run_id = $1 AND state IN ",
                     unfinished),
        "DELETE FROM staged_objects WHERE run_id = $1",
    };
    for (const std::string& sql : statements) {
      GM_RETURN_IF_ERROR(db_->Query(sql, PgParams().Int(run_id)).status());
    }
    return NotifyReplicas(ReplicaChange::kRuns);
  }));
  return leased;
}

absl::StatusOr<std::vector<StepRecord>> PostgresStore::GetSteps(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  std::vector<StepRecord> steps;
  GM_RETURN_IF_ERROR(ReadTransaction([&]() -> absl::Status {
    steps.clear();
    constexpr char kSelectSteps[] = R"sql(
        SELECT step_id, status, error FROM steps WHERE run_id = $1
        ORDER BY position)sql";
    std::map<std::string, size_t> position;
    GM_RETURN_IF_ERROR(db_->ForEachRow(
        kSelectSteps, PgParams().Int(run_id), [&](const PgRow& row) {
          StepRecord& step = steps.emplace_back();
          step.step_id = row.Text(0);
          step.status = static_cast<v1::StepStatus>(row.Int(1));
          step.error = row.Text(2);
          position[step.step_id] = steps.size() - 1;
          return absl::OkStatus();
        }));
    // The step of a row's first column (nullptr: not one of the run's).
    auto step_of = [&](const PgRow& row) -> StepRecord* {
      auto found = position.find(row.Text(0));
      return found == position.end() ? nullptr : &steps[found->second];
    };
    // Partial types with their first reason.
    constexpr char kSelectPartialTypes[] = R"sql(
        SELECT step_id, type, MIN(reason) FROM run_incomplete
        WHERE run_id = $1 AND scope = ''
        GROUP BY step_id, type ORDER BY step_id, type)sql";
    GM_RETURN_IF_ERROR(db_->ForEachRow(
        kSelectPartialTypes, PgParams().Int(run_id), [&](const PgRow& row) {
          if (StepRecord* step = step_of(row)) {
            step->partial_types.emplace(row.Text(1), row.Text(2));
          }
          return absl::OkStatus();
        }));
    // Scope gaps counted per reason and scope type (a scope's entity is one of
    // the run's parents).
    const std::string select_scope_gaps = absl::StrCat(R"sql(
        SELECT step_id, reason, scope_type, COUNT(*) FROM (
          SELECT r.step_id, r.reason,
                 COALESCE((SELECT s.type FROM staged_objects s
                           WHERE s.run_id = r.run_id AND s.object = $2
                             AND s.key = r.scope AND )sql",
                                                       kCommitted, R"sql(
                           LIMIT 1), '') AS scope_type
          FROM run_incomplete r WHERE r.run_id = $1 AND r.scope != '') gap
        GROUP BY step_id, reason, scope_type
        ORDER BY step_id, reason, scope_type)sql");
    GM_RETURN_IF_ERROR(db_->ForEachRow(
        select_scope_gaps, PgParams().Int(run_id).Int(kEntityObject),
        [&](const PgRow& row) {
          if (StepRecord* step = step_of(row)) {
            step->scope_gaps.push_back({row.Text(1), row.Text(2), row.Int(3)});
          }
          return absl::OkStatus();
        }));
    return absl::OkStatus();
  }));
  return steps;
}

absl::Status PostgresStore::SetStepStatus(int64_t run_id,
                                          const std::string& step_id,
                                          v1::StepStatus status,
                                          const std::string& error,
                                          int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  // started_ms is set when the step leaves PENDING, ended_ms when it settles.
  const std::string update = absl::StrCat(
      R"sql(
      UPDATE steps SET status = $1, error = $2,
        started_ms = CASE WHEN started_ms = 0 AND $1 != $6 THEN $3
                          ELSE started_ms END,
        ended_ms = CASE WHEN $1 IN )sql",
      SqlList({v1::STEP_STATUS_SUCCESS, v1::STEP_STATUS_FAILURE,
               v1::STEP_STATUS_PARTIAL, v1::STEP_STATUS_DISABLED}),
      R"sql( THEN $3 ELSE 0 END
      WHERE run_id = $4 AND step_id = $5)sql");
  return db_
      ->Query(update, PgParams()
                          .Int(status)
                          .Text(error)
                          .Int(now_ms)
                          .Int(run_id)
                          .Text(step_id)
                          .Int(v1::STEP_STATUS_PENDING))
      .status();
}

// --- Events ---

absl::Status PostgresStore::AddEvent(int64_t run_id, v1::EventLevel level,
                                     const std::string& name,
                                     const std::string& description,
                                     const std::string& step_id,
                                     int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  constexpr char kInsert[] = R"sql(
      INSERT INTO events (run_id, time_ms, level, name, description, step_id)
      VALUES ($1, $2, $3, $4, $5, $6))sql";
  return db_
      ->Query(kInsert, PgParams()
                           .Int(run_id)
                           .Int(now_ms)
                           .Int(level)
                           .Text(name)
                           .Text(description)
                           .Text(step_id))
      .status();
}

absl::StatusOr<std::vector<v1::Event>> PostgresStore::ListEvents(
    int64_t run_id, int64_t after_sequence) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelect[] = R"sql(
      SELECT sequence, time_ms, level, name, description, step_id FROM events
      WHERE run_id = $1 AND sequence > $2 ORDER BY sequence)sql";
  return CollectRows<v1::Event>(
      *db_, kSelect, PgParams().Int(run_id).Int(after_sequence),
      [&](const PgRow& row) -> absl::StatusOr<v1::Event> {
        v1::Event event;
        event.set_run_id(run_id);
        event.set_sequence(row.Int(0));
        event.set_time_ms(row.Int(1));
        event.set_level(static_cast<v1::EventLevel>(row.Int(2)));
        event.set_name(row.Text(3));
        event.set_description(row.Text(4));
        event.set_step_id(row.Text(5));
        return event;
      });
}

}  // namespace graphmill::coordinator
