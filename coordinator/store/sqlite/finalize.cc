// SqliteStore::Finalize: a run's staged objects become the instance's graph,
// with the change log, and the run ends; one transaction.
//
// Set-based, per kind of object (entities first, so relationships are checked
// against the final entity set), each statement walking a primary key in key
// order:
//   1. Decide deletions: the graph's objects the run did not collect whose
//      rule allows it (temp.finalize_candidates, keys only), then, in rounds
//      over those candidates only, the scope rule (a deleted parent takes its
//      children).
//   2. Log the creations (one INSERT ... SELECT), then apply: one upsert of
//      the run's committed rows into the graph, which writes an object only if
//      it is new or its content (or scope) changed.
//   3. Delete the doomed candidates.
// Content updates and deletions are logged (and counted) by triggers on
// graph_objects, in the statement that makes them, while temp.finalize_log
// holds this finalize's row: they touch few rows, so the log and the graph
// cannot disagree at no cost. Creations are not: any INSERT trigger on the
// table, even one whose WHEN is false, costs about as much again as the
// insert itself and makes SQLite buffer the INSERT ... SELECT. So each object
// is read from the staged rows and written once into the graph plus once into
// the log. The triggers are TEMP (this connection only) and do nothing outside
// a finalize (no row).
// Memory stays bounded: no statement collects rows in the process, and
// temporary tables and sorts spill to files (sqlite/database.cc).
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {
namespace {

using sqlite::Code;
using sqlite::CommittedRows;
using sqlite::kEntityObject;
using sqlite::kRelationshipObject;

// Relationship events beyond this many are summed up in one event.
constexpr int kMaxDanglingEvents = 100;

// Temporary tables and the logging triggers (made once per connection), reset
// for this finalize.
std::string SetupSql() {
  constexpr char kLog[] =
      "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
      "data, previous, time_ms) SELECT $0.instance_id, run_id, $1, $0.object, "
      "$0.key, $0.type, $0.data, $2, time_ms FROM finalize_log;";
  return absl::StrCat(
      "CREATE TEMP TABLE IF NOT EXISTS deletion_rules (type TEXT PRIMARY KEY, "
      "rule INTEGER NOT NULL);"
      "CREATE TEMP TABLE IF NOT EXISTS finalize_candidates (key TEXT PRIMARY "
      "KEY, scope TEXT NOT NULL, doomed INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE TEMP TABLE IF NOT EXISTS finalize_log (run_id INTEGER NOT NULL, "
      "time_ms INTEGER NOT NULL, updated INTEGER NOT NULL);"
      "CREATE TEMP TRIGGER IF NOT EXISTS finalize_logs_update AFTER UPDATE OF "
      "data ON main.graph_objects WHEN OLD.data != NEW.data BEGIN ",
      absl::Substitute(kLog, "NEW", Code(v1::CHANGE_KIND_UPDATED), "OLD.data"),
      "UPDATE finalize_log SET updated = updated + 1; END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS finalize_logs_deletion AFTER DELETE "
      "ON main.graph_objects BEGIN ",
      // A deletion stores the object once, as data (see the schema).
      absl::Substitute(kLog, "OLD", Code(v1::CHANGE_KIND_DELETED), "NULL"),
      "END;"
      "DELETE FROM deletion_rules; DELETE FROM finalize_candidates; "
      "DELETE FROM finalize_log;");
}

// Parameters of the statements below: ?1 instance, ?4 object kind.

// SQL true if entity `key_sql` is in the instance's graph.
std::string InGraph(absl::string_view key_sql) {
  return absl::Substitute(
      "EXISTS (SELECT 1 FROM graph_objects e WHERE e.instance_id = ?1 AND "
      "e.object = $0 AND e.key = $1)",
      kEntityObject, key_sql);
}

// SQL true if the run collected object `key_sql` of kind `object_sql`.
std::string Collected(int64_t run_id, absl::string_view object_sql,
                      absl::string_view key_sql) {
  return absl::Substitute(
      "EXISTS (SELECT 1 FROM $0 WHERE s.object = $1 AND s.key = $2)",
      CommittedRows(run_id), object_sql, key_sql);
}

// SQL true if a webhook patch newer than the run's start (`protected_after`,
// ms) marked object `key_sql` (of kind ?4): the run leaves it as the patch
// left it. "0" when no patch is that new (`protected_after` < 0), so the
// usual finalize pays nothing.
std::string MarkedByPatch(int64_t protected_after, absl::string_view key_sql) {
  if (protected_after < 0) return "0";
  return absl::Substitute(
      "EXISTS (SELECT 1 FROM patch_marks m WHERE m.instance_id = ?1 AND "
      "m.object = ?4 AND m.key = $0 AND m.as_of_ms > $1)",
      key_sql, protected_after);
}

// Step 1: the graph's objects the run did not collect that may be deleted: of
// a type whose rule allows it (see DeletionRule; scoped ones are decided by
// the scope rule below) and not marked by a newer patch or, for
// relationships, with an endpoint entity gone (deleted whatever their rule
// and marks; doomed at once).
std::string CandidatesSql(int64_t run_id, bool relationships,
                          int64_t protected_after) {
  const std::string allowed = absl::Substitute(
      "(COALESCE(r.rule, $0) != $1 AND (g.scope != '' OR COALESCE(r.rule, $0) "
      "= $0))",
      Code(DeletionRule::kDeleteMissing), Code(DeletionRule::kKeepAll));
  const std::string endpoint_gone =
      relationships ? absl::StrCat("(NOT ", InGraph("g.from_key"), " OR NOT ",
                                   InGraph("g.to_key"), ")")
                    : "0";
  return absl::Substitute(
      "INSERT INTO temp.finalize_candidates SELECT g.key, g.scope, $0 FROM "
      "graph_objects g LEFT JOIN temp.deletion_rules r ON r.type = g.type "
      "WHERE g.instance_id = ?1 AND g.object = ?4 AND NOT $1 AND ($2 OR $0) "
      "AND ($0 OR NOT $3)",
      endpoint_gone, Collected(run_id, "?4", "g.key"), allowed,
      MarkedByPatch(protected_after, "g.key"));
}

// Step 1, the scope rule, one round: a candidate goes if it has no scope (its
// rule deletes what a run did not see), or its scope was listed completely in
// this run (the scope's entity was collected and no task reported the scope
// incomplete), or its scope's entity is no longer in the graph (never was, or
// is doomed itself: for entities, rounds repeat until nothing more goes).
std::string DoomSql(int64_t run_id, bool cascade) {
  const std::string collected =
      Collected(run_id, absl::StrCat(kEntityObject), "c.scope");
  return absl::Substitute(
      "UPDATE temp.finalize_candidates AS c SET doomed = 1 WHERE NOT doomed "
      "AND (c.scope = '' OR ($0 AND NOT EXISTS (SELECT 1 FROM run_incomplete "
      "i WHERE i.run_id = $1 AND i.scope = c.scope)) OR (NOT $0 AND (NOT $2$3"
      ")))",
      collected, run_id, InGraph("c.scope"),
      cascade ? " OR EXISTS (SELECT 1 FROM temp.finalize_candidates d WHERE "
                "d.key = c.scope AND d.doomed)"
              : "");
}

// Step 2: the creations are logged: collected, not in the graph. ?5 is the
// time.
std::string CreatedSql(int64_t run_id, int64_t protected_after) {
  return absl::Substitute(
      "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
      "data, previous, time_ms) SELECT ?1, $0, $1, s.object, s.key, s.type, "
      "s.data, NULL, ?5 FROM $2 WHERE s.object = ?4 AND NOT EXISTS (SELECT 1 "
      "FROM graph_objects g WHERE g.instance_id = ?1 AND g.object = ?4 AND "
      "g.key = s.key) AND NOT $3 ORDER BY s.key",
      run_id, Code(v1::CHANGE_KIND_CREATED), CommittedRows(run_id),
      MarkedByPatch(protected_after, "s.key"));
}

// Step 2: created and updated objects (and a changed scope, which is not a
// change of content and is not logged) are written into the graph.
std::string ApplySql(int64_t run_id, int64_t protected_after) {
  return absl::StrCat(
      "INSERT INTO graph_objects (instance_id, object, key, type, classes, "
      "from_key, to_key, data, props, scope) SELECT ?1, s.object, s.key, "
      "s.type, s.classes, s.from_key, s.to_key, s.data, s.props, s.scope FROM ",
      CommittedRows(run_id), " WHERE s.object = ?4 AND NOT ",
      MarkedByPatch(protected_after, "s.key"),
      " ORDER BY s.key ON CONFLICT(instance_id, object, key) DO UPDATE SET "
      "type = excluded.type, classes = excluded.classes, "
      "from_key = excluded.from_key, to_key = excluded.to_key, data = "
      "excluded.data, props = excluded.props, scope = excluded.scope WHERE "
      "data != excluded.data OR scope != excluded.scope");
}

// Step 3.
constexpr char kDeleteSql[] =
    "DELETE FROM graph_objects WHERE instance_id = ?1 AND object = ?4 AND key "
    "IN (SELECT key FROM temp.finalize_candidates WHERE doomed)";

// The run's relationships with an endpoint entity not in the graph (after the
// entities are final).
std::string DanglingSql(int64_t run_id) {
  return absl::Substitute(
      "SELECT s.key, s.type, s.from_key, s.to_key, $0 FROM $1 WHERE s.object "
      "= $2 AND (NOT $0 OR NOT $3) ORDER BY s.key",
      InGraph("s.from_key"), CommittedRows(run_id), kRelationshipObject,
      InGraph("s.to_key"));
}

// Takes the dangling relationships out of the run (so its upload does not send
// them either), whichever attempt staged them.
std::string UnstageDanglingSql(int64_t run_id) {
  return absl::Substitute(
      "DELETE FROM $0 AS d WHERE d.object = $1 AND (NOT $2 OR NOT $3)",
      sqlite::StagedTable(run_id), kRelationshipObject, InGraph("d.from_key"),
      InGraph("d.to_key"));
}

}  // namespace

absl::StatusOr<FinalizeCounts> SqliteStore::Finalize(
    const FinalizeRequest& request) {
  const int64_t run_id = request.run_id;
  absl::MutexLock lock(&mu_);
  FinalizeCounts counts;
  int64_t run_start = 0;
  int64_t protected_after = -1;  // see MarkedByPatch
  absl::Status status = Transaction([&]() -> absl::Status {
    {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement active,
          db_->Prepare("SELECT status, created_ms FROM runs WHERE id = ?"));
      active.Bind(1, run_id);
      GM_ASSIGN_OR_RETURN(bool found, active.Step());
      if (!found) {
        return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
      }
      if (!IsActiveRunStatus(static_cast<v1::RunStatus>(active.ColumnInt(0)))) {
        return absl::FailedPreconditionError(
            absl::StrCat("run ", run_id, " is not active: not finalized"));
      }
      run_start = active.ColumnInt(1);
    }
    // Objects webhooks changed after the run began are left as they are.
    {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement marked,
          db_->Prepare("SELECT 1 FROM patch_marks WHERE instance_id = ? AND "
                       "as_of_ms > ? LIMIT 1"));
      marked.Bind(1, request.instance_id).Bind(2, run_start);
      GM_ASSIGN_OR_RETURN(bool any, marked.Step());
      protected_after = any ? run_start : -1;
    }
    GM_RETURN_IF_ERROR(db_->Execute(SetupSql()));
    // A run made before its table existed (migrated, no objects) gets one.
    GM_RETURN_IF_ERROR(db_->Execute(sqlite::StagedTableSchema(run_id)));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement rule,
        db_->Prepare("INSERT OR REPLACE INTO deletion_rules VALUES (?, ?)"));
    for (const auto& [type, deletion] : request.rules) {
      rule.Reset();
      rule.Bind(1, type).Bind(2, Code(deletion));
      GM_RETURN_IF_ERROR(rule.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement verdict,
        db_->Prepare("INSERT OR REPLACE INTO run_incomplete_types VALUES (?, "
                     "?, ?, ?, ?)"));
    for (const v1::IncompleteType& type : request.incomplete_types) {
      verdict.Reset();
      verdict.Bind(1, run_id).Bind(2, type.type()).Bind(3, type.reason());
      verdict.Bind(4, int64_t{type.error()}).Bind(5, int64_t{type.all_kept()});
      GM_RETURN_IF_ERROR(verdict.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement log,
        db_->Prepare("INSERT INTO finalize_log VALUES (?, ?, 0)"));
    log.Bind(1, run_id).Bind(2, request.now_ms);
    GM_RETURN_IF_ERROR(log.Run());

    // Runs `sql` with ?1 the instance, ?4 `object` and ?5 the time; returns
    // the rows it changed itself (not those its triggers did).
    auto run = [&](absl::string_view sql,
                   int64_t object) -> absl::StatusOr<int64_t> {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      statement.Bind(1, request.instance_id)
          .Bind(4, object)
          .Bind(5, request.now_ms);
      GM_RETURN_IF_ERROR(statement.Run());
      return db_->changes();
    };
    auto finalize_kind = [&](int64_t object) -> absl::Status {
      const bool relationships = object == kRelationshipObject;
      GM_RETURN_IF_ERROR(db_->Execute("DELETE FROM finalize_candidates"));
      GM_RETURN_IF_ERROR(
          run(CandidatesSql(run_id, relationships, protected_after), object)
              .status());
      while (true) {
        GM_ASSIGN_OR_RETURN(int64_t doomed,
                            run(DoomSql(run_id, !relationships), object));
        // Relationships are nobody's scope: one round settles them.
        if (doomed == 0 || relationships) break;
      }
      GM_ASSIGN_OR_RETURN(int64_t created,
                          run(CreatedSql(run_id, protected_after), object));
      counts.created += created;
      GM_RETURN_IF_ERROR(
          run(ApplySql(run_id, protected_after), object).status());
      GM_ASSIGN_OR_RETURN(int64_t deleted, run(kDeleteSql, object));
      counts.deleted += deleted;
      return absl::OkStatus();
    };
    GM_RETURN_IF_ERROR(finalize_kind(kEntityObject));
    GM_ASSIGN_OR_RETURN(counts.dropped_relationships,
                        DropDanglingRelationships(request));
    GM_RETURN_IF_ERROR(finalize_kind(kRelationshipObject));
    {
      GM_ASSIGN_OR_RETURN(SqliteStatement logged,
                          db_->Prepare("SELECT updated FROM finalize_log"));
      GM_ASSIGN_OR_RETURN(bool row, logged.Step());
      if (row) counts.updated = logged.ColumnInt(0);
    }
    GM_RETURN_IF_ERROR(db_->Execute("DELETE FROM finalize_log"));
    // Marks no newer than the run's start no longer order anything: this run
    // read the provider after them.
    {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement unmark,
          db_->Prepare("DELETE FROM patch_marks WHERE instance_id = ? AND "
                       "as_of_ms <= ?"));
      unmark.Bind(1, request.instance_id).Bind(2, run_start);
      GM_RETURN_IF_ERROR(unmark.Run());
    }

    GM_ASSIGN_OR_RETURN(
        SqliteStatement record,
        db_->Prepare("UPDATE runs SET created_count = ?, updated_count = ?, "
                     "deleted_count = ? WHERE id = ?"));
    record.Bind(1, counts.created)
        .Bind(2, counts.updated)
        .Bind(3, counts.deleted)
        .Bind(4, run_id);
    GM_RETURN_IF_ERROR(record.Run());
    // Staged objects of earlier runs are no longer needed; this run's stay for
    // its upload.
    auto earlier_runs = [&](SqliteStatement& select) {
      select.Bind(1, request.instance_id).Bind(2, run_id);
    };
    GM_RETURN_IF_ERROR(DropStagedTables(
        "SELECT id FROM runs WHERE instance_id = ? AND id < ?", earlier_runs));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement prune,
        db_->Prepare("DELETE FROM run_incomplete WHERE run_id IN (SELECT id "
                     "FROM runs WHERE instance_id = ? AND id < ?)"));
    earlier_runs(prune);
    GM_RETURN_IF_ERROR(prune.Run());
    // The run ends in the same transaction (see Store::Finalize).
    GM_ASSIGN_OR_RETURN(
        SqliteStatement end,
        db_->Prepare("UPDATE runs SET status = ?, error = ?, ended_ms = ?, "
                     "upload = COALESCE(?, upload), finalize_started_ms = ? "
                     "WHERE id = ?"));
    // Read last, so the run's end includes the diff above.
    end.Bind(1, Code(request.status))
        .Bind(2, request.error)
        .Bind(3, request.end_ms ? request.end_ms() : request.now_ms);
    if (request.upload_pending) {
      end.BindBlob(4, PendingUploadBytes());
    } else {
      end.BindNull(4);
    }
    end.Bind(5, request.now_ms).Bind(6, run_id);
    return end.Run();
  });
  if (!status.ok()) return status;
  return counts;
}

absl::StatusOr<int64_t> SqliteStore::DropDanglingRelationships(
    const FinalizeRequest& request) {
  GM_ASSIGN_OR_RETURN(SqliteStatement dangling,
                      db_->Prepare(DanglingSql(request.run_id)));
  dangling.Bind(1, request.instance_id);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement report,
      db_->Prepare("INSERT INTO events (run_id, time_ms, level, name, "
                   "description, step_id) VALUES (?, ?, ?, ?, ?, '')"));
  auto event = [&](const std::string& description) {
    report.Reset();
    report.Bind(1, request.run_id)
        .Bind(2, request.now_ms)
        .Bind(3, Code(v1::EVENT_LEVEL_WARN))
        .Bind(4, "relationship_dropped")
        .Bind(5, description);
    return report.Run();
  };
  int64_t dropped = 0;
  GM_RETURN_IF_ERROR(dangling.ForEachRow([&](const SqliteStatement& row) {
    if (++dropped > kMaxDanglingEvents) return absl::OkStatus();
    const bool from_exists = row.ColumnInt(4) != 0;
    return event(absl::StrCat(
        "relationship '", row.ColumnText(0), "' (", row.ColumnText(1),
        ") is not stored: its ", from_exists ? "target" : "source", " entity '",
        from_exists ? row.ColumnText(3) : row.ColumnText(2),
        "' is not in the graph"));
  }));
  if (dropped > kMaxDanglingEvents) {
    GM_RETURN_IF_ERROR(
        event(absl::StrCat(dropped - kMaxDanglingEvents,
                           " more relationships were not stored for the same "
                           "reason")));
  }
  if (dropped > 0) {
    GM_ASSIGN_OR_RETURN(SqliteStatement unstage,
                        db_->Prepare(UnstageDanglingSql(request.run_id)));
    unstage.Bind(1, request.instance_id);
    GM_RETURN_IF_ERROR(unstage.Run());
  }
  return dropped;
}

}  // namespace graphmill::coordinator
