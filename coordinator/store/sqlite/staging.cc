// SqliteStore: staging task results (StageBatch, CommitAttempt) and reading a
// run's staged objects.
#include <map>
#include <optional>
#include <utility>

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
using sqlite::CommittedRows;
using sqlite::JoinClasses;
using sqlite::kEntityObject;
using sqlite::kRelationshipObject;
using sqlite::Parse;
using sqlite::StagedTable;
using sqlite::StagedTableSchema;

absl::Status SqliteStore::CheckCurrentAttempt(const v1::TaskAttempt& attempt,
                                              TaskRecord* task) {
  GM_ASSIGN_OR_RETURN(*task, sqlite::ReadTask(*db_, attempt.task_id()));
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
    const int64_t attempt_number = attempt.attempt();
    // Made with the run; also here for a stand-alone validation task (run 0).
    GM_RETURN_IF_ERROR(db_->Execute(StagedTableSchema(task.run_id)));
    // Every row of the run with the key: this attempt's (a repeat within the
    // attempt), and other tasks' rows whose attempt is committed or still in
    // progress (stale attempts' rows are ignored).
    GM_ASSIGN_OR_RETURN(
        SqliteStatement existing,
        db_->Prepare(absl::Substitute(
            "SELECT s.task_id, s.attempt, s.data, t.committed_attempt = "
            "s.attempt FROM $0 s JOIN tasks t ON t.id = s.task_id WHERE "
            "s.object = ?1 AND s.key = ?2 AND (t.committed_attempt = "
            "s.attempt OR (t.attempt = s.attempt AND t.state = $1))",
            StagedTable(task.run_id), Code(TaskState::kLeased))));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare(absl::StrCat(
            "INSERT INTO ", StagedTable(task.run_id),
            " (object, key, task_id, attempt, type, classes, from_key, "
            "to_key, data, props, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?)")));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement share,
        db_->Prepare("INSERT OR IGNORE INTO attempt_shared_keys VALUES (?, ?, "
                     "?, ?)"));
    auto mark_shared = [&](int64_t task_id, int64_t number, int64_t object,
                           const std::string& key) {
      share.Reset();
      share.Bind(1, task_id).Bind(2, number).Bind(3, object).Bind(4, key);
      return share.Run();
    };
    std::map<std::string, int64_t> type_counts;
    auto stage = [&](int64_t object, const std::string& key,
                     const std::string& type, const std::string& classes,
                     const std::string& from_key, const std::string& to_key,
                     const std::string& data, const std::string& props,
                     const std::string& scope) -> absl::Status {
      // (task, attempt) of other tasks' attempts in progress with the key.
      std::vector<std::pair<int64_t, int64_t>> in_progress;
      bool shared = false;
      std::optional<std::string> repeated;  // this attempt's version
      existing.Reset();
      existing.Bind(1, object).Bind(2, key);
      GM_RETURN_IF_ERROR(existing.ForEachRow([&](const SqliteStatement& row) {
        if (row.ColumnInt(0) == task.id) {
          if (row.ColumnInt(1) == attempt_number) {
            repeated = std::string(row.ColumnView(2));
          }
          return absl::OkStatus();
        }
        shared = true;
        if (row.ColumnInt(3) == 0) {
          in_progress.emplace_back(row.ColumnInt(0), row.ColumnInt(1));
        }
        return absl::OkStatus();
      }));
      existing.Reset();
      if (repeated.has_value()) {
        // The attempt's first version stays: identical is fine, different is a
        // conflict.
        if (*repeated == data) return absl::OkStatus();
        return RecordConflict(attempt, object, type, key, *repeated, data,
                              now_ms);
      }
      insert.Reset();
      insert.Bind(1, object).Bind(2, key).Bind(3, task.id);
      insert.Bind(4, attempt_number).Bind(5, type).Bind(6, classes);
      insert.Bind(7, from_key).Bind(8, to_key).BindBlob(9, data);
      insert.Bind(10, props).Bind(11, scope);
      GM_RETURN_IF_ERROR(insert.Run());
      ++type_counts[type];
      // Whichever of the attempts sharing the key commits later checks it
      // against the committed copy (CommitAttempt).
      if (shared) {
        GM_RETURN_IF_ERROR(mark_shared(task.id, attempt_number, object, key));
        for (const auto& [other, number] : in_progress) {
          GM_RETURN_IF_ERROR(mark_shared(other, number, object, key));
        }
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
        SqliteStatement count,
        db_->Prepare("INSERT INTO attempt_type_counts VALUES (?, ?, ?, ?) "
                     "ON CONFLICT DO UPDATE SET count = count + "
                     "excluded.count"));
    for (const auto& [type, n] : type_counts) {
      count.Reset();
      count.Bind(1, task.id).Bind(2, attempt_number).Bind(3, type).Bind(4, n);
      GM_RETURN_IF_ERROR(count.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement event,
        db_->Prepare("INSERT INTO attempt_events (task_id, attempt, time_ms, "
                     "level, name, description) VALUES (?, ?, ?, ?, ?, ?)"));
    for (const v1::Event& e : batch.events()) {
      event.Reset();
      event.Bind(1, task.id).Bind(2, attempt_number);
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
    // No object row is written here: the attempt's rows join the run when the
    // task records the attempt as committed (below). Of the keys it shares
    // with other tasks, those already committed keep the committed version
    // (the first version of a key wins): a different one is a conflict, and
    // this attempt's copy goes, so committed keys stay unique per run.
    // ?2 task, ?3 attempt. CROSS JOIN keeps the attempt's shared keys the
    // outer loop (the planner would otherwise walk the run's rows).
    // A validation task (run 0) has no run and stages nothing: there is no
    // staged table to reconcile.
    if (task.run_id != 0) {
      const std::string table = StagedTable(task.run_id);
      GM_ASSIGN_OR_RETURN(
          SqliteStatement conflicts,
          db_->Prepare(absl::Substitute(
              "SELECT k.object, k.key, x.type, w.data, x.data FROM "
              "attempt_shared_keys k CROSS JOIN $0 x ON x.object = k.object "
              "AND "
              "x.key = k.key AND x.task_id = ?2 AND x.attempt = ?3 CROSS JOIN "
              "$0 "
              "w ON w.object = k.object AND w.key = k.key AND w.task_id != ?2 "
              "JOIN tasks t ON t.id = w.task_id AND t.committed_attempt = "
              "w.attempt WHERE k.task_id = ?2 AND k.attempt = ?3 AND x.data != "
              "w.data ORDER BY k.object, k.key",
              table)));
      conflicts.Bind(2, task_id).Bind(3, attempt_number);
      GM_RETURN_IF_ERROR(conflicts.ForEachRow([&](const SqliteStatement& row) {
        return RecordConflict(attempt, row.ColumnInt(0), row.ColumnText(2),
                              row.ColumnText(1), row.ColumnView(3),
                              row.ColumnView(4), 0);
      }));
      // The shared keys left are the ones this attempt loses; its rows for them
      // are deleted one by one, by primary key, while only the shared keys are
      // read.
      GM_ASSIGN_OR_RETURN(
          SqliteStatement keep_losers,
          db_->Prepare(absl::Substitute(
              "DELETE FROM attempt_shared_keys AS k WHERE k.task_id = ?2 AND "
              "k.attempt = ?3 AND NOT EXISTS (SELECT 1 FROM $0 w JOIN tasks t "
              "ON "
              "t.id = w.task_id AND t.committed_attempt = w.attempt WHERE "
              "w.object = k.object AND w.key = k.key AND w.task_id != ?2)",
              table)));
      keep_losers.Bind(2, task_id).Bind(3, attempt_number);
      GM_RETURN_IF_ERROR(keep_losers.Run());
      GM_ASSIGN_OR_RETURN(
          SqliteStatement losers,
          db_->Prepare("SELECT object, key FROM attempt_shared_keys WHERE "
                       "task_id = ? AND attempt = ?"));
      GM_ASSIGN_OR_RETURN(
          SqliteStatement drop,
          db_->Prepare(absl::StrCat("DELETE FROM ", table,
                                    " WHERE object = ? AND key = ? AND task_id "
                                    "= ? AND attempt = ?")));
      losers.Bind(1, task_id).Bind(2, attempt_number);
      GM_RETURN_IF_ERROR(losers.ForEachRow([&](const SqliteStatement& row) {
        drop.Reset();
        drop.Bind(1, row.ColumnInt(0))
            .Bind(2, row.ColumnView(1))
            .Bind(3, task_id)
            .Bind(4, attempt_number);
        return drop.Run();
      }));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement counts,
        db_->Prepare("INSERT INTO step_type_counts SELECT ?1, ?2, type, count "
                     "FROM attempt_type_counts WHERE task_id = ?3 AND "
                     "attempt = ?4 ON CONFLICT(run_id, step_id, type) DO "
                     "UPDATE SET count = count + excluded.count"));
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
    GM_RETURN_IF_ERROR(DiscardAttemptRecords(task_id, attempt_number));
    GM_ASSIGN_OR_RETURN(SqliteStatement end,
                        db_->Prepare("UPDATE tasks SET state = ?, error = ?, "
                                     "committed_attempt = ? WHERE id = ?"));
    end.Bind(1, Code(succeeded ? TaskState::kSucceeded : TaskState::kFailed))
        .Bind(2, error)
        .Bind(3, attempt_number)
        .Bind(4, task_id);
    return end.Run();
  });
}

absl::Status SqliteStore::DiscardAttemptRecords(int64_t task_id,
                                                int64_t attempt) {
  for (const char* table : {"attempt_events", "attempt_incomplete",
                            "attempt_type_counts", "attempt_shared_keys"}) {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement discard,
        db_->Prepare(absl::StrCat("DELETE FROM ", table,
                                  " WHERE task_id = ? AND attempt = ?")));
    discard.Bind(1, task_id).Bind(2, attempt);
    GM_RETURN_IF_ERROR(discard.Run());
  }
  return absl::OkStatus();
}

namespace sqlite {

absl::StatusOr<bool> HasStagedTable(SqliteDatabase& db, int64_t run_id) {
  GM_ASSIGN_OR_RETURN(SqliteStatement select,
                      db.Prepare("SELECT EXISTS (SELECT 1 FROM sqlite_schema "
                                 "WHERE type = 'table' AND name = ?)"));
  select.Bind(1, StagedTable(run_id));
  GM_ASSIGN_OR_RETURN(bool row, select.Step());
  return row && select.ColumnInt(0) != 0;
}

}  // namespace sqlite

absl::Status SqliteStore::DropStagedTables(
    const std::string& run_ids,
    const std::function<void(SqliteStatement&)>& bind) {
  // Collected first: a DROP TABLE fails while a statement still reads.
  std::vector<int64_t> runs;
  {
    GM_ASSIGN_OR_RETURN(SqliteStatement select, db_->Prepare(run_ids));
    bind(select);
    GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
      runs.push_back(row.ColumnInt(0));
      return absl::OkStatus();
    }));
  }
  for (int64_t run : runs) {
    GM_RETURN_IF_ERROR(
        db_->Execute(absl::StrCat("DROP TABLE IF EXISTS ", StagedTable(run))));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::ForEachStagedEntity(
    int64_t run_id, const std::string& type, const std::string& first_key,
    const std::string& last_key, int page_size,
    const std::function<absl::Status(const v1::Entity&)>& visit) {
  // Keyset pagination: a read transaction per page, never across `visit`.
  std::string after = first_key;
  bool inclusive = true;
  while (true) {
    std::vector<v1::Entity> page;
    bool staged = false;
    GM_RETURN_IF_ERROR(ReadOnly([&](SqliteDatabase& db) -> absl::Status {
      GM_ASSIGN_OR_RETURN(staged, sqlite::HasStagedTable(db, run_id));
      if (!staged) return absl::OkStatus();
      GM_ASSIGN_OR_RETURN(
          SqliteStatement select,
          // Without the INDEXED BY the planner walks every key of the run
          // from ?3 on, whatever its type. The upper bound is in the SQL only
          // when there is one: an `OR` would let the last page of a shard
          // scan on to the type's last key.
          db.Prepare(absl::Substitute(
              "SELECT s.data FROM $0 s INDEXED BY $0_by_type JOIN tasks t ON "
              "t.id = s.task_id AND t.committed_attempt = s.attempt WHERE "
              "s.object = ?1 AND s.type = ?2 AND s.key $1 ?3$2 ORDER BY s.key "
              "LIMIT ?5",
              StagedTable(run_id), inclusive ? ">=" : ">",
              last_key.empty() ? "" : " AND s.key <= ?4")));
      select.Bind(1, kEntityObject).Bind(2, type).Bind(3, after);
      if (!last_key.empty()) select.Bind(4, last_key);
      select.Bind(5, int64_t{page_size});
      return select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
        GM_ASSIGN_OR_RETURN(
            page.emplace_back(),
            Parse<v1::Entity>(row.ColumnView(0), "staged entity"));
        return absl::OkStatus();
      });
    }));
    if (!staged) return absl::OkStatus();
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
    bool staged = false;
    GM_RETURN_IF_ERROR(ReadOnly([&](SqliteDatabase& db) -> absl::Status {
      GM_ASSIGN_OR_RETURN(staged, sqlite::HasStagedTable(db, run_id));
      if (!staged) return absl::OkStatus();
      GM_ASSIGN_OR_RETURN(
          SqliteStatement select,
          db.Prepare(absl::StrCat(
              "SELECT s.key, s.data FROM ", CommittedRows(run_id),
              " WHERE s.object = ? AND s.key > ? ORDER BY s.key LIMIT ?")));
      select.Bind(1, relationships ? kRelationshipObject : kEntityObject)
          .Bind(2, after)
          .Bind(3, int64_t{page_size});
      return select.ForEachRow([&](const SqliteStatement& row) {
        page.emplace_back(row.ColumnText(0), row.ColumnBlob(1));
        return absl::OkStatus();
      });
    }));
    if (!staged) return absl::OkStatus();
    for (const auto& [key, data] : page) GM_RETURN_IF_ERROR(visit(data));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().first;
  }
}

absl::StatusOr<bool> SqliteStore::HasStagedObjects(int64_t run_id) {
  return Read<bool>([&](SqliteDatabase& db) -> absl::StatusOr<bool> {
    GM_ASSIGN_OR_RETURN(bool staged, sqlite::HasStagedTable(db, run_id));
    if (!staged) return false;
    GM_ASSIGN_OR_RETURN(SqliteStatement select,
                        db.Prepare(absl::StrCat("SELECT EXISTS (SELECT 1 FROM ",
                                                CommittedRows(run_id), ")")));
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    return row && select.ColumnInt(0) != 0;
  });
}

absl::Status SqliteStore::ForEachStagedKey(
    int64_t run_id, const std::string& type,
    const std::function<void(const std::string&)>& visit) {
  return ReadOnly([&](SqliteDatabase& db) -> absl::Status {
    GM_ASSIGN_OR_RETURN(bool staged, sqlite::HasStagedTable(db, run_id));
    if (!staged) return absl::OkStatus();
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare(absl::StrCat("SELECT s.key FROM ", CommittedRows(run_id),
                                " WHERE s.object = ? AND s.type = ? ORDER BY "
                                "s.key")));
    select.Bind(1, kEntityObject).Bind(2, type);
    return select.ForEachRow([&](const SqliteStatement& row) {
      visit(row.ColumnText(0));
      return absl::OkStatus();
    });
  });
}

}  // namespace graphmill::coordinator
