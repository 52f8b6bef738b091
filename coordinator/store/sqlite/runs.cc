// SqliteStore: runs, their steps and events.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {

using sqlite::ActiveRunStatuses;
using sqlite::Code;
using sqlite::EndedTaskStates;
using sqlite::Parse;

namespace {

absl::Status RunNotFound(int64_t run_id) {
  return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
}

}  // namespace

absl::StatusOr<int64_t> SqliteStore::CreateRun(
    const std::string& instance_id, const v1::IntegrationDefinition& definition,
    v1::RunTrigger trigger, const std::vector<std::string>& disabled_steps,
    int64_t now_ms, std::optional<int64_t> schedule_slot_ms,
    int64_t incremental_since_ms) {
  absl::MutexLock lock(&mu_);
  int64_t run_id = 0;
  // Refusals that still commit the schedule slot (see Store::CreateRun).
  absl::Status refused;
  absl::Status status = Transaction([&]() -> absl::Status {
    refused = absl::OkStatus();
    if (schedule_slot_ms.has_value()) {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement last,
          db_->Prepare("SELECT last_slot_ms FROM instances WHERE id = ?"));
      last.Bind(1, instance_id);
      GM_ASSIGN_OR_RETURN(bool found, last.Step());
      if (found && last.ColumnInt(0) >= *schedule_slot_ms) {
        return absl::FailedPreconditionError(
            absl::StrCat("instance '", instance_id, "': schedule slot ",
                         *schedule_slot_ms, " already fired"));
      }
      GM_ASSIGN_OR_RETURN(
          SqliteStatement slot,
          db_->Prepare("UPDATE instances SET last_slot_ms = ? WHERE id = ?"));
      slot.Bind(1, *schedule_slot_ms).Bind(2, instance_id);
      GM_RETURN_IF_ERROR(slot.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement active,
        db_->Prepare(absl::StrCat("SELECT id FROM runs WHERE instance_id = ? "
                                  "AND status IN ",
                                  ActiveRunStatuses())));
    active.Bind(1, instance_id);
    GM_ASSIGN_OR_RETURN(bool busy, active.Step());
    if (busy) {
      refused = absl::FailedPreconditionError(
          absl::StrCat("instance '", instance_id,
                       "' already has an active run ", active.ColumnInt(0)));
      return absl::OkStatus();  // the slot stays recorded
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare("INSERT INTO runs (instance_id, status, created_ms, "
                     "definition, trigger, incremental_since_ms) VALUES (?, ?, "
                     "?, ?, ?, ?)"));
    insert.Bind(1, instance_id)
        .Bind(2, Code(v1::RUN_STATUS_VALIDATING))
        .Bind(3, now_ms);
    insert.BindBlob(4, SerializeDeterministic(definition))
        .Bind(5, Code(trigger))
        .Bind(6, incremental_since_ms);
    GM_RETURN_IF_ERROR(insert.Run());
    run_id = db_->last_insert_rowid();
    GM_ASSIGN_OR_RETURN(
        SqliteStatement step,
        db_->Prepare("INSERT INTO steps (run_id, step_id, position, name, "
                     "status) VALUES (?, ?, ?, ?, ?)"));
    int64_t position = 0;
    for (const v1::StepDefinition& definition_step : definition.steps()) {
      const bool disabled =
          std::find(disabled_steps.begin(), disabled_steps.end(),
                    definition_step.id()) != disabled_steps.end();
      step.Reset();
      step.Bind(1, run_id)
          .Bind(2, definition_step.id())
          .Bind(3, position++)
          .Bind(4, definition_step.name())
          .Bind(5, Code(disabled ? v1::STEP_STATUS_DISABLED
                                 : v1::STEP_STATUS_PENDING));
      GM_RETURN_IF_ERROR(step.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement task,
        db_->Prepare("INSERT INTO tasks (run_id, instance_id, step_id, kind, "
                     "shard) VALUES (?, ?, '', ?, x'')"));
    task.Bind(1, run_id).Bind(2, instance_id);
    task.Bind(3, Code(v1::TASK_KIND_VALIDATE_INVOCATION));
    GM_RETURN_IF_ERROR(task.Run());
    return db_->Execute(sqlite::StagedTableSchema(run_id));
  });
  if (!status.ok()) return status;
  if (!refused.ok()) return refused;
  return run_id;
}

absl::StatusOr<v1::Run> SqliteStore::GetRun(int64_t run_id) {
  return Read<v1::Run>([&](SqliteDatabase& db) -> absl::StatusOr<v1::Run> {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare("SELECT instance_id, status, created_ms, ended_ms, error, "
                   "created_count, updated_count, deleted_count, trigger, "
                   "started_ms, upload, finalize_started_ms, "
                   "incremental_since_ms FROM runs WHERE id = ?"));
    select.Bind(1, run_id);
    GM_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) return RunNotFound(run_id);
    v1::Run run;
    run.set_id(run_id);
    run.set_instance_id(select.ColumnText(0));
    run.set_status(static_cast<v1::RunStatus>(select.ColumnInt(1)));
    run.set_created_at_ms(select.ColumnInt(2));
    run.set_ended_at_ms(select.ColumnInt(3));
    run.set_error(select.ColumnText(4));
    run.set_created_count(select.ColumnInt(5));
    run.set_updated_count(select.ColumnInt(6));
    run.set_deleted_count(select.ColumnInt(7));
    run.set_trigger(static_cast<v1::RunTrigger>(select.ColumnInt(8)));
    run.set_started_at_ms(select.ColumnInt(9));
    // Finalize ends the run as it commits, so the commit time is ended_ms.
    run.set_finalize_started_at_ms(select.ColumnInt(11));
    run.set_incremental_since_ms(select.ColumnInt(12));
    if (run.finalize_started_at_ms() > 0) {
      run.set_finalized_at_ms(run.ended_at_ms());
    }
    if (!select.ColumnView(10).empty()) {
      GM_ASSIGN_OR_RETURN(
          *run.mutable_upload(),
          Parse<v1::UploadStatus>(select.ColumnView(10), "run upload"));
    }

    GM_ASSIGN_OR_RETURN(
        SqliteStatement steps,
        db.Prepare(absl::StrCat(
            "SELECT s.step_id, s.name, s.status, s.started_ms, s.ended_ms, "
            "s.error, s.tasks_total, (SELECT COUNT(*) FROM tasks t WHERE "
            "t.run_id = s.run_id AND t.step_id = s.step_id AND t.state IN ",
            EndedTaskStates(),
            ") FROM steps s WHERE s.run_id = ? ORDER BY s.position")));
    steps.Bind(1, run_id);
    std::map<std::string, v1::StepRun*> by_id;
    GM_RETURN_IF_ERROR(steps.ForEachRow([&](const SqliteStatement& row) {
      v1::StepRun* step = run.add_steps();
      step->set_step_id(row.ColumnText(0));
      step->set_name(row.ColumnText(1));
      step->set_status(static_cast<v1::StepStatus>(row.ColumnInt(2)));
      step->set_started_at_ms(row.ColumnInt(3));
      step->set_ended_at_ms(row.ColumnInt(4));
      step->set_error(row.ColumnText(5));
      step->set_tasks_total(static_cast<int32_t>(row.ColumnInt(6)));
      step->set_tasks_done(static_cast<int32_t>(row.ColumnInt(7)));
      return absl::OkStatus();
    }));
    for (v1::StepRun& step : *run.mutable_steps())
      by_id[step.step_id()] = &step;
    // Rows of (step id, type, count) from `sql` (run id bound) into each
    // step's map that `counts` picks.
    auto add_counts = [&](const std::string& sql, auto counts) -> absl::Status {
      GM_ASSIGN_OR_RETURN(SqliteStatement select, db.Prepare(sql));
      select.Bind(1, run_id);
      return select.ForEachRow([&](const SqliteStatement& row) {
        auto step = by_id.find(row.ColumnText(0));
        if (step != by_id.end()) {
          (*counts(*step->second))[row.ColumnText(1)] = row.ColumnInt(2);
        }
        return absl::OkStatus();
      });
    };
    GM_RETURN_IF_ERROR(add_counts(
        "SELECT step_id, type, count FROM step_type_counts WHERE run_id = ?",
        [](v1::StepRun& step) { return step.mutable_type_counts(); }));
    // Objects of attempts still running (attempt_type_counts, kept by
    // StageBatch), so progress moves before a task ends.
    GM_RETURN_IF_ERROR(add_counts(
        absl::StrCat("SELECT t.step_id, a.type, SUM(a.count) FROM tasks t JOIN "
                     "attempt_type_counts a ON a.task_id = t.id AND a.attempt "
                     "= t.attempt WHERE t.run_id = ? AND t.state = ",
                     Code(TaskState::kLeased), " GROUP BY 1, 2"),
        [](v1::StepRun& step) { return step.mutable_arriving_type_counts(); }));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement incomplete,
        db.Prepare("SELECT type, reason, error, all_kept FROM "
                   "run_incomplete_types WHERE run_id = ? ORDER BY type"));
    incomplete.Bind(1, run_id);
    GM_RETURN_IF_ERROR(incomplete.ForEachRow([&](const SqliteStatement& row) {
      v1::IncompleteType* type = run.add_incomplete_types();
      type->set_type(row.ColumnText(0));
      type->set_reason(row.ColumnText(1));
      type->set_error(row.ColumnInt(2) != 0);
      type->set_all_kept(row.ColumnInt(3) != 0);
      return absl::OkStatus();
    }));
    return run;
  });
}

absl::StatusOr<std::vector<v1::Run>> SqliteStore::ListRuns(
    const std::string& instance_id, int limit) {
  std::vector<int64_t> ids;
  GM_RETURN_IF_ERROR(ReadOnly([&](SqliteDatabase& db) -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare("SELECT id FROM runs WHERE (?1 = '' OR instance_id = ?1) "
                   "ORDER BY id DESC LIMIT ?2"));
    select.Bind(1, instance_id).Bind(2, int64_t{limit});
    return select.ForEachRow([&](const SqliteStatement& row) {
      ids.push_back(row.ColumnInt(0));
      return absl::OkStatus();
    });
  }));
  std::vector<v1::Run> runs;
  for (int64_t id : ids) {
    GM_ASSIGN_OR_RETURN(v1::Run run, GetRun(id));
    runs.push_back(std::move(run));
  }
  return runs;
}

absl::StatusOr<std::vector<int64_t>> SqliteStore::ActiveRunIds() {
  return Read<std::vector<int64_t>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<int64_t>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(absl::StrCat("SELECT id FROM runs WHERE status IN ",
                                    ActiveRunStatuses(), " ORDER BY id")));
        std::vector<int64_t> ids;
        GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
          ids.push_back(row.ColumnInt(0));
          return absl::OkStatus();
        }));
        return ids;
      });
}

absl::StatusOr<v1::IntegrationDefinition> SqliteStore::GetRunDefinition(
    int64_t run_id) {
  return Read<v1::IntegrationDefinition>(
      [&](SqliteDatabase& db) -> absl::StatusOr<v1::IntegrationDefinition> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare("SELECT definition FROM runs WHERE id = ?"));
        select.Bind(1, run_id);
        GM_ASSIGN_OR_RETURN(bool found, select.Step());
        if (!found) return RunNotFound(run_id);
        return Parse<v1::IntegrationDefinition>(select.ColumnView(0),
                                                "run definition");
      });
}

absl::Status SqliteStore::SetRunStatus(int64_t run_id, v1::RunStatus status,
                                       const std::string& error,
                                       int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  // started_ms is set the first time the run is RUNNING; ended_ms when it
  // leaves the active statuses.
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE runs SET status = ?1, error = ?2, ended_ms = ?3, "
                   "started_ms = CASE WHEN ?1 = ?6 AND started_ms = 0 THEN ?5 "
                   "ELSE started_ms END WHERE id = ?4"));
  update.Bind(1, Code(status))
      .Bind(2, error)
      .Bind(3, IsActiveRunStatus(status) ? 0 : now_ms)
      .Bind(4, run_id)
      .Bind(5, now_ms)
      .Bind(6, Code(v1::RUN_STATUS_RUNNING));
  return update.Run();
}

absl::Status SqliteStore::SetRunUpload(int64_t run_id,
                                       const v1::UploadStatus& upload) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(SqliteStatement update,
                      db_->Prepare("UPDATE runs SET upload = ? WHERE id = ?"));
  update.BindBlob(1, SerializeDeterministic(upload)).Bind(2, run_id);
  return update.Run();
}

absl::StatusOr<std::vector<StepRecord>> SqliteStore::GetSteps(int64_t run_id) {
  return Read<
      std::vector<StepRecord>>([&](SqliteDatabase& db)
                                   -> absl::StatusOr<std::vector<StepRecord>> {
    GM_ASSIGN_OR_RETURN(SqliteStatement select,
                        db.Prepare("SELECT step_id, status, error FROM steps "
                                   "WHERE run_id = ? ORDER BY position"));
    select.Bind(1, run_id);
    std::vector<StepRecord> steps;
    std::map<std::string, size_t> position;
    GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
      StepRecord& step = steps.emplace_back();
      step.step_id = row.ColumnText(0);
      step.status = static_cast<v1::StepStatus>(row.ColumnInt(1));
      step.error = row.ColumnText(2);
      position[step.step_id] = steps.size() - 1;
      return absl::OkStatus();
    }));
    // Partial types with their first reason, and scope gaps counted per reason
    // and scope type (a scope's entity is one of the run's parents; '' once the
    // run's staged objects are gone).
    GM_ASSIGN_OR_RETURN(bool staged, sqlite::HasStagedTable(db, run_id));
    const std::string scope_type =
        staged ? absl::Substitute(
                     "(SELECT s.type FROM $0 WHERE s.object = $1 "
                     "AND s.key = r.scope)",
                     sqlite::CommittedRows(run_id), sqlite::kEntityObject)
               : "NULL";
    GM_ASSIGN_OR_RETURN(
        SqliteStatement incomplete,
        db.Prepare(absl::Substitute(
            "SELECT r.step_id, r.type, MIN(r.reason), '', 0 FROM "
            "run_incomplete "
            "r WHERE r.run_id = ?1 AND r.scope = '' GROUP BY r.step_id, r.type "
            "UNION ALL SELECT r.step_id, '', r.reason, COALESCE($0, ''), "
            "COUNT(*) FROM run_incomplete r WHERE r.run_id = ?1 AND r.scope != "
            "'' "
            "GROUP BY 1, 3, 4 ORDER BY 1, 2, 3, 4",
            scope_type)));
    incomplete.Bind(1, run_id);
    GM_RETURN_IF_ERROR(incomplete.ForEachRow([&](const SqliteStatement& row) {
      auto found = position.find(row.ColumnText(0));
      if (found == position.end()) return absl::OkStatus();
      StepRecord& step = steps[found->second];
      const std::string type = row.ColumnText(1);
      if (!type.empty()) {
        step.partial_types.emplace(type, row.ColumnText(2));
      } else {
        step.scope_gaps.push_back(
            {row.ColumnText(2), row.ColumnText(3), row.ColumnInt(4)});
      }
      return absl::OkStatus();
    }));
    return steps;
  });
}

absl::Status SqliteStore::SetStepStatus(int64_t run_id,
                                        const std::string& step_id,
                                        v1::StepStatus status,
                                        const std::string& error,
                                        int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  // started_ms is set when the step leaves PENDING, ended_ms when it settles.
  const bool started = status != v1::STEP_STATUS_PENDING;
  const bool settled = status != v1::STEP_STATUS_UNSPECIFIED &&
                       status != v1::STEP_STATUS_PENDING &&
                       status != v1::STEP_STATUS_RUNNING;
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE steps SET status = ?1, error = ?2, "
                   "started_ms = CASE WHEN started_ms = 0 AND ?6 THEN ?3 "
                   "ELSE started_ms END, "
                   "ended_ms = CASE WHEN ?7 THEN ?3 ELSE 0 END "
                   "WHERE run_id = ?4 AND step_id = ?5"));
  update.Bind(1, Code(status))
      .Bind(2, error)
      .Bind(3, now_ms)
      .Bind(4, run_id)
      .Bind(5, step_id)
      .Bind(6, int64_t{started})
      .Bind(7, int64_t{settled});
  return update.Run();
}

absl::StatusOr<int> SqliteStore::StartStep(int64_t run_id,
                                           const std::string& step_id,
                                           const std::vector<v1::Shard>& shards,
                                           int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement start,
        db_->Prepare("UPDATE steps SET status = ?1, tasks_total = ?2, "
                     "started_ms = CASE WHEN started_ms = 0 THEN ?3 "
                     "ELSE started_ms END "
                     "WHERE run_id = ?4 AND step_id = ?5 AND status = ?6"));
    start.Bind(1, Code(v1::STEP_STATUS_RUNNING))
        .Bind(2, static_cast<int64_t>(shards.size()))
        .Bind(3, now_ms)
        .Bind(4, run_id)
        .Bind(5, step_id)
        .Bind(6, Code(v1::STEP_STATUS_PENDING));
    GM_RETURN_IF_ERROR(start.Run());
    if (db_->changes() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " step '", step_id, "' is not pending"));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare("INSERT INTO tasks (run_id, instance_id, step_id, kind, "
                     "shard) SELECT ?1, instance_id, ?2, ?3, ?4 FROM runs "
                     "WHERE id = ?1"));
    for (const v1::Shard& shard : shards) {
      insert.Reset();
      insert.Bind(1, run_id).Bind(2, step_id).Bind(3, Code(v1::TASK_KIND_STEP));
      insert.BindBlob(4, SerializeDeterministic(shard));
      GM_RETURN_IF_ERROR(insert.Run());
    }
    return absl::OkStatus();
  }));
  return static_cast<int>(shards.size());
}

// --- Events ---

absl::Status SqliteStore::AddEvent(int64_t run_id, v1::EventLevel level,
                                   const std::string& name,
                                   const std::string& description,
                                   const std::string& step_id, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO events (run_id, time_ms, level, name, "
                   "description, step_id) VALUES (?, ?, ?, ?, ?, ?)"));
  insert.Bind(1, run_id).Bind(2, now_ms).Bind(3, Code(level)).Bind(4, name);
  insert.Bind(5, description).Bind(6, step_id);
  return insert.Run();
}

absl::StatusOr<std::vector<v1::Event>> SqliteStore::ListEvents(
    int64_t run_id, int64_t after_sequence) {
  return Read<std::vector<v1::Event>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<v1::Event>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare("SELECT sequence, time_ms, level, name, description, "
                       "step_id FROM events WHERE run_id = ? AND sequence > ? "
                       "ORDER BY sequence"));
        select.Bind(1, run_id).Bind(2, after_sequence);
        std::vector<v1::Event> events;
        GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
          v1::Event& event = events.emplace_back();
          event.set_run_id(run_id);
          event.set_sequence(row.ColumnInt(0));
          event.set_time_ms(row.ColumnInt(1));
          event.set_level(static_cast<v1::EventLevel>(row.ColumnInt(2)));
          event.set_name(row.ColumnText(3));
          event.set_description(row.ColumnText(4));
          event.set_step_id(row.ColumnText(5));
          return absl::OkStatus();
        }));
        return events;
      });
}

}  // namespace graphmill::coordinator
