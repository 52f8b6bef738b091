// SqliteStore: staging task results (StageBatch, CommitAttempt) and reading a
// run's staged objects.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "common/graph_json.h"
#include "common/status_macros.h"
#include "coordinator/store/object_diff.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {

using sqlite::Code;
using sqlite::JoinClasses;
using sqlite::kEntityObject;
using sqlite::kRelationshipObject;
using sqlite::Parse;

absl::Status SqliteStore::CheckCurrentAttempt(const v1::TaskAttempt& attempt,
                                              TaskRecord* task) {
  GM_ASSIGN_OR_RETURN(*task, GetTaskLocked(attempt.task_id()));
  return CheckLease(*task, attempt);
}

absl::Status SqliteStore::RecordConflict(
    const v1::TaskAttempt& attempt, int64_t object, const std::string& type,
    const std::string& key, absl::string_view first, absl::string_view second,
    int64_t now_ms) {
  std::vector<std::string> fields;
  if (object == kEntityObject) {
    GM_ASSIGN_OR_RETURN(v1::Entity a, Parse<v1::Entity>(first, "entity"));
    GM_ASSIGN_OR_RETURN(v1::Entity b, Parse<v1::Entity>(second, "entity"));
    fields = DifferingFields(a, b);
  } else {
    GM_ASSIGN_OR_RETURN(v1::Relationship a,
                        Parse<v1::Relationship>(first, "relationship"));
    GM_ASSIGN_OR_RETURN(v1::Relationship b,
                        Parse<v1::Relationship>(second, "relationship"));
    fields = DifferingFields(a, b);
  }
  GM_ASSIGN_OR_RETURN(
      SqliteStatement event,
      db_->Prepare("INSERT INTO attempt_events (task_id, attempt, time_ms, "
                   "level, name, description) VALUES (?, ?, ?, ?, ?, ?)"));
  event.Bind(1, attempt.task_id())
      .Bind(2, int64_t{attempt.attempt()})
      .Bind(3, now_ms)
      .Bind(4, Code(v1::EVENT_LEVEL_WARN))
      .Bind(5, "duplicate_key_conflict")
      .Bind(6, absl::StrCat(
                   object == kEntityObject ? "entity '" : "relationship '", key,
                   "' (", type,
                   ") was produced again with different content; the first "
                   "version is kept and ",
                   type, " is treated as partial; differing fields: ",
                   absl::StrJoin(fields, ", ")));
  GM_RETURN_IF_ERROR(event.Run());
  GM_ASSIGN_OR_RETURN(
      SqliteStatement partial,
      db_->Prepare("INSERT OR IGNORE INTO attempt_incomplete VALUES "
                   "(?, ?, ?, '', ?)"));
  partial.Bind(1, attempt.task_id())
      .Bind(2, int64_t{attempt.attempt()})
      .Bind(3, type)
      .Bind(4, "a key was produced twice with different content");
  return partial.Run();
}

absl::Status SqliteStore::StageBatch(const v1::TaskAttempt& attempt,
                                     const v1::ResultBatch& batch,
                                     int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare(
            "INSERT INTO attempt_objects VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement existing,
        db_->Prepare("SELECT data FROM attempt_objects WHERE task_id = ? AND "
                     "attempt = ? AND object = ? AND key = ?"));
    auto stage = [&](int64_t object, const std::string& key,
                     const std::string& type, const std::string& classes,
                     const std::string& from_key, const std::string& to_key,
                     const std::string& data, const std::string& props,
                     const std::string& scope) -> absl::Status {
      insert.Reset();
      insert.Bind(1, attempt.task_id()).Bind(2, int64_t{attempt.attempt()});
      insert.Bind(3, object).Bind(4, key).Bind(5, type).Bind(6, classes);
      insert.Bind(7, from_key)
          .Bind(8, to_key)
          .BindBlob(9, data)
          .Bind(10, props)
          .Bind(11, scope);
      GM_RETURN_IF_ERROR(insert.Run());
      if (db_->changes() > 0) return absl::OkStatus();
      // The key was staged before in this attempt: identical is fine,
      // different is a conflict.
      existing.Reset();
      existing.Bind(1, attempt.task_id()).Bind(2, int64_t{attempt.attempt()});
      existing.Bind(3, object).Bind(4, key);
      GM_ASSIGN_OR_RETURN(bool found, existing.Step());
      if (found && existing.ColumnView(0) != data) {
        return RecordConflict(attempt, object, type, key,
                              existing.ColumnView(0), data, now_ms);
      }
      return absl::OkStatus();
    };
    static const std::string kUnscoped;
    // Scopes are parallel to the objects, or absent (all unscoped); callers
    // check the sizes (ValidateResultBatch).
    auto scope_of = [](const auto& scopes, int i) -> const std::string& {
      return i < scopes.size() ? scopes[i] : kUnscoped;
    };
    for (int i = 0; i < batch.entities_size(); ++i) {
      const v1::Entity& entity = batch.entities(i);
      GM_RETURN_IF_ERROR(stage(kEntityObject, entity.key(), entity.type(),
                               JoinClasses(entity.classes()), "", "",
                               SerializeDeterministic(entity),
                               PropertiesToJson(entity.properties()),
                               scope_of(batch.entity_scopes(), i)));
    }
    for (int i = 0; i < batch.relationships_size(); ++i) {
      const v1::Relationship& relationship = batch.relationships(i);
      GM_RETURN_IF_ERROR(
          stage(kRelationshipObject, relationship.key(), relationship.type(),
                absl::StrCat("|", relationship.class_name(), "|"),
                relationship.from_entity_key(), relationship.to_entity_key(),
                SerializeDeterministic(relationship),
                PropertiesToJson(relationship.properties()),
                scope_of(batch.relationship_scopes(), i)));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement event,
        db_->Prepare("INSERT INTO attempt_events (task_id, attempt, time_ms, "
                     "level, name, description) VALUES (?, ?, ?, ?, ?, ?)"));
    for (const v1::Event& e : batch.events()) {
      event.Reset();
      event.Bind(1, attempt.task_id()).Bind(2, int64_t{attempt.attempt()});
      event.Bind(3, e.time_ms() ? e.time_ms() : now_ms)
          .Bind(4, Code(e.level()));
      event.Bind(5, e.name()).Bind(6, e.description());
      GM_RETURN_IF_ERROR(event.Run());
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::CommitAttempt(
    const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
    const std::vector<v1::Incompleteness>& incomplete) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    const int64_t task_id = attempt.task_id();
    const int64_t attempt_number = attempt.attempt();
    // Keys another task of the run already staged with different content.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement conflicts,
        db_->Prepare(
            "SELECT a.object, a.key, a.type, s.data, a.data FROM "
            "attempt_objects a JOIN staged_objects s ON s.run_id = ?1 AND "
            "s.object = a.object AND s.key = a.key WHERE a.task_id = ?2 AND "
            "a.attempt = ?3 AND a.data != s.data ORDER BY a.object, a.key"));
    conflicts.Bind(1, task.run_id).Bind(2, task_id).Bind(3, attempt_number);
    GM_RETURN_IF_ERROR(conflicts.ForEachRow([&](const SqliteStatement& row) {
      return RecordConflict(attempt, row.ColumnInt(0), row.ColumnText(2),
                            row.ColumnText(1), row.ColumnView(3),
                            row.ColumnView(4), 0);
    }));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement stage,
        db_->Prepare(
            "INSERT OR IGNORE INTO staged_objects SELECT ?1, object, key, "
            "type, classes, from_key, to_key, data, props, scope FROM "
            "attempt_objects WHERE task_id = ?2 AND attempt = ?3 "
            "ORDER BY object, key"));
    stage.Bind(1, task.run_id).Bind(2, task_id).Bind(3, attempt_number);
    GM_RETURN_IF_ERROR(stage.Run());
    GM_ASSIGN_OR_RETURN(
        SqliteStatement counts,
        db_->Prepare(
            "INSERT INTO step_type_counts SELECT ?1, ?2, type, COUNT(*) FROM "
            "attempt_objects WHERE task_id = ?3 AND attempt = ?4 GROUP BY type "
            "ON CONFLICT(run_id, step_id, type) DO UPDATE SET "
            "count = count + excluded.count"));
    counts.Bind(1, task.run_id)
        .Bind(2, task.step_id)
        .Bind(3, task_id)
        .Bind(4, attempt_number);
    GM_RETURN_IF_ERROR(counts.Run());
    GM_ASSIGN_OR_RETURN(
        SqliteStatement events,
        db_->Prepare("INSERT INTO events (run_id, time_ms, level, name, "
                     "description, step_id) SELECT ?1, CASE WHEN time_ms = 0 "
                     "THEN ?5 ELSE time_ms END, level, name, description, ?2 "
                     "FROM attempt_events WHERE task_id = ?3 AND attempt = ?4 "
                     "ORDER BY id"));
    events.Bind(1, task.run_id)
        .Bind(2, task.step_id)
        .Bind(3, task_id)
        .Bind(4, attempt_number)
        .Bind(5, absl::ToUnixMillis(absl::Now()));
    GM_RETURN_IF_ERROR(events.Run());
    // What the worker reported incomplete joins what this attempt's conflicts
    // made partial; all of it becomes the run's, under the task's step.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement report,
        db_->Prepare("INSERT OR IGNORE INTO attempt_incomplete VALUES "
                     "(?, ?, ?, ?, ?)"));
    for (const v1::Incompleteness& entry : incomplete) {
      report.Reset();
      report.Bind(1, task_id).Bind(2, attempt_number);
      report.Bind(3, entry.type())
          .Bind(4, entry.scope())
          .Bind(5, entry.reason());
      GM_RETURN_IF_ERROR(report.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement keep,
        db_->Prepare("INSERT OR IGNORE INTO run_incomplete SELECT ?1, ?2, "
                     "type, scope, reason FROM attempt_incomplete WHERE "
                     "task_id = ?3 AND attempt = ?4"));
    keep.Bind(1, task.run_id)
        .Bind(2, task.step_id)
        .Bind(3, task_id)
        .Bind(4, attempt_number);
    GM_RETURN_IF_ERROR(keep.Run());
    for (const char* table :
         {"attempt_objects", "attempt_events", "attempt_incomplete"}) {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement discard,
          db_->Prepare(absl::StrCat("DELETE FROM ", table,
                                    " WHERE task_id = ? AND attempt = ?")));
      discard.Bind(1, task_id).Bind(2, attempt_number);
      GM_RETURN_IF_ERROR(discard.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement end,
        db_->Prepare("UPDATE tasks SET state = ?, error = ? WHERE id = ?"));
    end.Bind(1, Code(succeeded ? TaskState::kSucceeded : TaskState::kFailed))
        .Bind(2, error)
        .Bind(3, task_id);
    return end.Run();
  });
}

absl::Status SqliteStore::ForEachStagedEntity(
    int64_t run_id, const std::string& type, const std::string& first_key,
    const std::string& last_key, int page_size,
    const std::function<absl::Status(const v1::Entity&)>& visit) {
  // Keyset pagination: the lock is held for one page at a time, never across
  // `visit`.
  std::string after = first_key;
  bool inclusive = true;
  while (true) {
    std::vector<v1::Entity> page;
    {
      absl::MutexLock lock(&mu_);
      GM_ASSIGN_OR_RETURN(
          SqliteStatement select,
          db_->Prepare(absl::Substitute(
              "SELECT data FROM staged_objects WHERE run_id = ?1 AND object "
              "= $0 AND type = ?2 AND key $1 ?3 AND (?4 = '' OR key <= ?4) "
              "ORDER BY key LIMIT ?5",
              kEntityObject, inclusive ? ">=" : ">")));
      select.Bind(1, run_id).Bind(2, type).Bind(3, after).Bind(4, last_key);
      select.Bind(5, int64_t{page_size});
      GM_RETURN_IF_ERROR(
          select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
            GM_ASSIGN_OR_RETURN(
                page.emplace_back(),
                Parse<v1::Entity>(row.ColumnView(0), "staged entity"));
            return absl::OkStatus();
          }));
    }
    for (const v1::Entity& entity : page) GM_RETURN_IF_ERROR(visit(entity));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().key();
    inclusive = false;
  }
}

absl::Status SqliteStore::ForEachStagedObject(
    int64_t run_id, bool relationships, int page_size,
    const std::function<absl::Status(const std::string& data)>& visit) {
  std::string after;
  while (true) {
    std::vector<std::pair<std::string, std::string>> page;  // (key, data)
    {
      absl::MutexLock lock(&mu_);
      GM_ASSIGN_OR_RETURN(
          SqliteStatement select,
          db_->Prepare("SELECT key, data FROM staged_objects WHERE run_id = ? "
                       "AND object = ? AND key > ? ORDER BY key LIMIT ?"));
      select.Bind(1, run_id)
          .Bind(2, relationships ? kRelationshipObject : kEntityObject)
          .Bind(3, after)
          .Bind(4, int64_t{page_size});
      GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
        page.emplace_back(row.ColumnText(0), row.ColumnBlob(1));
        return absl::OkStatus();
      }));
    }
    for (const auto& [key, data] : page) GM_RETURN_IF_ERROR(visit(data));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().first;
  }
}

absl::StatusOr<bool> SqliteStore::HasStagedObjects(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT EXISTS (SELECT 1 FROM staged_objects WHERE "
                   "run_id = ?)"));
  select.Bind(1, run_id);
  GM_ASSIGN_OR_RETURN(bool row, select.Step());
  return row && select.ColumnInt(0) != 0;
}

absl::Status SqliteStore::ForEachStagedKey(
    int64_t run_id, const std::string& type,
    const std::function<void(const std::string&)>& visit) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT key FROM staged_objects WHERE run_id = ? AND "
                   "object = ? AND type = ? ORDER BY key"));
  select.Bind(1, run_id).Bind(2, kEntityObject).Bind(3, type);
  return select.ForEachRow([&](const SqliteStatement& row) {
    visit(row.ColumnText(0));
    return absl::OkStatus();
  });
}

}  // namespace graphmill::coordinator
