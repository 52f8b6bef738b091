// SqliteStore::Finalize: a run's staged objects become the instance's graph,
// with the change log, and the run ends.
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {
namespace {

using sqlite::Code;
using sqlite::kEntityObject;
using sqlite::kRelationshipObject;

// Relationship events beyond this many are summed up in one event.
constexpr int kMaxDanglingEvents = 100;

// Parameters of the statements below: ?1 instance, ?2 run, ?3 now, ?4 object
// kind.

// The diff goes into the change log first, and the graph is then updated from
// it, so the log and the graph cannot disagree.
std::string CreatedSql() {
  return absl::Substitute(
      "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
      "data, previous, time_ms) SELECT ?1, ?2, $0, s.object, s.key, s.type, "
      "s.data, NULL, ?3 FROM staged_objects s WHERE s.run_id = ?2 AND "
      "s.object = ?4 AND NOT EXISTS (SELECT 1 FROM graph_objects g WHERE "
      "g.instance_id = ?1 AND g.object = s.object AND g.key = s.key) "
      "ORDER BY s.key",
      Code(v1::CHANGE_KIND_CREATED));
}

std::string UpdatedSql() {
  return absl::Substitute(
      "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
      "data, previous, time_ms) SELECT ?1, ?2, $0, s.object, s.key, s.type, "
      "s.data, g.data, ?3 FROM staged_objects s JOIN graph_objects g ON "
      "g.instance_id = ?1 AND g.object = s.object AND g.key = s.key WHERE "
      "s.run_id = ?2 AND s.object = ?4 AND g.data != s.data ORDER BY s.key",
      Code(v1::CHANGE_KIND_UPDATED));
}

// Deleted: absent from the run, of a type whose rule allows it (see
// DeletionRule), and, for an object with a scope, the scope was listed
// completely in this run (its entity was collected and no task reported it
// incomplete) or its entity is gone from the graph (deleted, so its children
// go too). Relationships also go when an endpoint entity is gone, whatever
// their type.
std::string DeletedSql() {
  return absl::Substitute(
      "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
      "data, previous, time_ms) SELECT ?1, ?2, $0, g.object, g.key, g.type, "
      "g.data, g.data, ?3 FROM graph_objects g LEFT JOIN temp.deletion_rules "
      "r ON r.type = g.type WHERE g.instance_id = ?1 AND g.object = ?4 AND (("
      "NOT EXISTS (SELECT 1 FROM staged_objects s WHERE s.run_id = ?2 AND "
      "s.object = g.object AND s.key = g.key) AND COALESCE(r.rule, $1) != $2 "
      "AND ((g.scope = '' AND COALESCE(r.rule, $1) = $1) OR (g.scope != '' "
      "AND ((EXISTS (SELECT 1 FROM staged_objects p WHERE p.run_id = ?2 AND "
      "p.object = $3 AND p.key = g.scope) AND NOT EXISTS (SELECT 1 FROM "
      "run_incomplete i WHERE i.run_id = ?2 AND i.scope = g.scope)) OR (NOT "
      "EXISTS (SELECT 1 FROM staged_objects p WHERE p.run_id = ?2 AND "
      "p.object = $3 AND p.key = g.scope) AND NOT EXISTS (SELECT 1 FROM "
      "graph_objects e WHERE e.instance_id = ?1 AND e.object = $3 AND e.key = "
      "g.scope)))))) OR (g.object = $4 AND (NOT EXISTS (SELECT 1 FROM "
      "graph_objects e WHERE e.instance_id = ?1 AND e.object = $3 AND e.key = "
      "g.from_key) OR NOT EXISTS (SELECT 1 FROM graph_objects e WHERE "
      "e.instance_id = ?1 AND e.object = $3 AND e.key = g.to_key)))) "
      "ORDER BY g.key",
      Code(v1::CHANGE_KIND_DELETED), Code(DeletionRule::kDeleteMissing),
      Code(DeletionRule::kKeepAll), kEntityObject, kRelationshipObject);
}

std::string ApplySql() {
  return "INSERT INTO graph_objects SELECT ?1, object, key, type, classes, "
         "from_key, to_key, data, props, scope FROM staged_objects WHERE "
         "run_id = ?2 AND object = ?4 ON CONFLICT(instance_id, object, key) "
         "DO UPDATE SET type = excluded.type, classes = excluded.classes, "
         "from_key = excluded.from_key, to_key = excluded.to_key, data = "
         "excluded.data, props = excluded.props, scope = excluded.scope WHERE "
         "data != excluded.data OR scope != excluded.scope";
}

std::string RemoveSql() {
  return absl::Substitute(
      "DELETE FROM graph_objects WHERE instance_id = ?1 AND object = ?4 AND "
      "key IN (SELECT key FROM changes WHERE run_id = ?2 AND object = ?4 AND "
      "change = $0)",
      Code(v1::CHANGE_KIND_DELETED));
}

}  // namespace

absl::StatusOr<FinalizeCounts> SqliteStore::Finalize(
    const FinalizeRequest& request) {
  const int64_t run_id = request.run_id;
  const std::string& instance_id = request.instance_id;
  const int64_t now_ms = request.now_ms;
  absl::MutexLock lock(&mu_);
  FinalizeCounts counts;
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(SqliteStatement active,
                        db_->Prepare("SELECT status FROM runs WHERE id = ?"));
    active.Bind(1, run_id);
    GM_ASSIGN_OR_RETURN(bool found, active.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
    }
    if (!IsActiveRunStatus(static_cast<v1::RunStatus>(active.ColumnInt(0)))) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active: not finalized"));
    }
    GM_RETURN_IF_ERROR(
        db_->Execute("CREATE TEMP TABLE IF NOT EXISTS deletion_rules (type "
                     "TEXT PRIMARY KEY, rule INTEGER NOT NULL);"
                     "DELETE FROM deletion_rules;"));
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
    auto run = [&](const std::string& sql, int64_t object,
                   int64_t* counter) -> absl::Status {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      statement.Bind(1, instance_id)
          .Bind(2, run_id)
          .Bind(3, now_ms)
          .Bind(4, object);
      GM_RETURN_IF_ERROR(statement.Run());
      if (counter != nullptr) *counter += db_->changes();
      return absl::OkStatus();
    };
    // Entities first, so relationships can be checked against the final
    // entity set.
    GM_RETURN_IF_ERROR(run(CreatedSql(), kEntityObject, &counts.created));
    GM_RETURN_IF_ERROR(run(UpdatedSql(), kEntityObject, &counts.updated));
    GM_RETURN_IF_ERROR(run(ApplySql(), kEntityObject, nullptr));
    // Deleting an entity can settle its children's scopes (a deleted
    // workflow's jobs go too): repeat until nothing more goes. Each round
    // removes what it logged, so nothing is logged twice.
    while (true) {
      int64_t deleted = 0;
      GM_RETURN_IF_ERROR(run(DeletedSql(), kEntityObject, &deleted));
      if (deleted == 0) break;
      counts.deleted += deleted;
      GM_RETURN_IF_ERROR(run(RemoveSql(), kEntityObject, nullptr));
    }

    // Relationships whose endpoint entity is not in the graph are reported and
    // not stored.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement dangling,
        db_->Prepare(absl::Substitute(
            "SELECT s.key, s.type, s.from_key, s.to_key, EXISTS (SELECT 1 FROM "
            "graph_objects e WHERE e.instance_id = ?1 AND e.object = $0 AND "
            "e.key = s.from_key) FROM staged_objects s WHERE s.run_id = ?2 AND "
            "s.object = $1 AND (NOT EXISTS (SELECT 1 FROM graph_objects e "
            "WHERE e.instance_id = ?1 AND e.object = $0 AND e.key = "
            "s.from_key) OR NOT EXISTS (SELECT 1 FROM graph_objects e WHERE "
            "e.instance_id = ?1 AND e.object = $0 AND e.key = s.to_key)) "
            "ORDER BY s.key",
            kEntityObject, kRelationshipObject)));
    dangling.Bind(1, instance_id).Bind(2, run_id);
    GM_ASSIGN_OR_RETURN(
        SqliteStatement report,
        db_->Prepare("INSERT INTO events (run_id, time_ms, level, name, "
                     "description, step_id) VALUES (?, ?, ?, ?, ?, '')"));
    std::vector<std::string> dropped;
    GM_RETURN_IF_ERROR(
        dangling.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
          dropped.push_back(row.ColumnText(0));
          if (dropped.size() > kMaxDanglingEvents) return absl::OkStatus();
          const bool from_exists = row.ColumnInt(4) != 0;
          report.Reset();
          report.Bind(1, run_id)
              .Bind(2, now_ms)
              .Bind(3, Code(v1::EVENT_LEVEL_WARN))
              .Bind(4, "relationship_dropped")
              .Bind(5, absl::StrCat(
                           "relationship '", dropped.back(), "' (",
                           row.ColumnText(1), ") is not stored: its ",
                           from_exists ? "target" : "source", " entity '",
                           from_exists ? row.ColumnText(3) : row.ColumnText(2),
                           "' is not in the graph"));
          return report.Run();
        }));
    if (dropped.size() > kMaxDanglingEvents) {
      report.Reset();
      report.Bind(1, run_id)
          .Bind(2, now_ms)
          .Bind(3, Code(v1::EVENT_LEVEL_WARN))
          .Bind(4, "relationship_dropped")
          .Bind(5,
                absl::StrCat(dropped.size() - kMaxDanglingEvents,
                             " more relationships were not stored for the same "
                             "reason"));
      GM_RETURN_IF_ERROR(report.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement unstage,
        db_->Prepare("DELETE FROM staged_objects WHERE run_id = ? AND "
                     "object = ? AND key = ?"));
    for (const std::string& key : dropped) {
      unstage.Reset();
      unstage.Bind(1, run_id).Bind(2, kRelationshipObject).Bind(3, key);
      GM_RETURN_IF_ERROR(unstage.Run());
    }
    counts.dropped_relationships = static_cast<int64_t>(dropped.size());

    GM_RETURN_IF_ERROR(run(CreatedSql(), kRelationshipObject, &counts.created));
    GM_RETURN_IF_ERROR(run(UpdatedSql(), kRelationshipObject, &counts.updated));
    GM_RETURN_IF_ERROR(run(DeletedSql(), kRelationshipObject, &counts.deleted));
    GM_RETURN_IF_ERROR(run(ApplySql(), kRelationshipObject, nullptr));
    GM_RETURN_IF_ERROR(run(RemoveSql(), kRelationshipObject, nullptr));

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
    for (const char* table : {"staged_objects", "run_incomplete"}) {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement prune,
          db_->Prepare(absl::StrCat("DELETE FROM ", table,
                                    " WHERE run_id IN (SELECT id FROM runs "
                                    "WHERE instance_id = ? AND id < ?)")));
      prune.Bind(1, instance_id).Bind(2, run_id);
      GM_RETURN_IF_ERROR(prune.Run());
    }
    // The run ends in the same transaction (see Store::Finalize).
    GM_ASSIGN_OR_RETURN(
        SqliteStatement end,
        db_->Prepare("UPDATE runs SET status = ?, error = ?, ended_ms = ?, "
                     "upload = COALESCE(?, upload) WHERE id = ?"));
    end.Bind(1, Code(request.status)).Bind(2, request.error).Bind(3, now_ms);
    if (request.upload_pending) {
      end.BindBlob(4, PendingUploadBytes());
    } else {
      end.BindNull(4);
    }
    end.Bind(5, run_id);
    return end.Run();
  });
  if (!status.ok()) return status;
  return counts;
}

}  // namespace graphmill::coordinator
