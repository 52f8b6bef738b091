// PostgresStore: finalizing a run into its instance's graph.
//
// Set-based, per object kind (entities first, so relationships are checked
// against the final entity set): one statement joins the run's objects with
// the graph, applies what differs and appends it to the change log (into a
// graph without objects of the kind, everything is inserted without a join);
// deletions are DELETE ... RETURNING into the change log, in rounds where
// deleting an entity settles the scopes of others. The coordinator holds no
// objects: its memory does not grow with the run or the graph. Objects of
// attempts that did not commit are dropped first, and their tasks locked so
// none arrive while the diff runs, so the statements read staged_objects
// directly. Objects a webhook patch marked after the run began are left as the
// patch left them (NotMarkedByPatch); the instance row lock orders patches and
// finalizes of an instance.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

namespace {

// " AND NOT ..." (SQL): object `key_sql` (of kind $4 of instance $1) bears no
// mark of a webhook patch newer than the run's start (`protected_after`, ms):
// the run leaves what such a patch did as it is (see Store::ApplyPatch). ""
// when no patch is that new (`protected_after` < 0), so the statements below
// are exactly the usual ones and the usual finalize pays nothing.
std::string NotMarkedByPatch(int64_t protected_after,
                             absl::string_view key_sql) {
  if (protected_after < 0) return "";
  return absl::StrCat(
      " AND NOT EXISTS (SELECT 1 FROM patch_marks m WHERE m.instance_id = $1 "
      "AND m.object = $4 AND m.key = ",
      key_sql, " AND m.as_of_ms > ", protected_after, ")");
}

// Each statement below logs and applies its changes in one pass over the
// objects it compares: what it changes in graph_objects is appended to the
// change log. $1 instance, $2 run, $3 now, $4 object kind, $5 the change kind
// logged (kUpsert: $5 created, $6 updated).
//
// Created and updated objects: one join of the run's objects with the graph;
// only what differs is materialized (a change of scope alone is applied but
// not logged), and updates find their row by its address (ctid: stable here,
// as the instance row lock keeps other writers of its graph out). Returns how
// many creations and updates were logged. `marked`: NotMarkedByPatch's clause
// for s.key.
std::string Upsert(absl::string_view marked) {
  return absl::StrCat(R"sql(
    WITH diff AS MATERIALIZED (
      SELECT s.key, s.type, s.classes, s.from_key, s.to_key, s.data, s.props,
             s.scope, g.data AS previous, g.key IS NULL AS created,
             g.ctid AS graph_row
      FROM staged_objects s LEFT JOIN graph_objects g
        ON g.instance_id = $1 AND g.object = $4 AND g.key = s.key
      WHERE s.run_id = $2 AND s.object = $4
        AND (g.key IS NULL OR g.data != s.data OR g.scope != s.scope))sql",
                      marked, R"sql(),
    inserted AS (
      INSERT INTO graph_objects (instance_id, object, key, type, classes,
        from_key, to_key, data, props, scope)
      SELECT $1, $4, key, type, classes, from_key, to_key, data, props, scope
      FROM diff WHERE created),
    updated AS (
      UPDATE graph_objects g
      SET type = d.type, classes = d.classes, from_key = d.from_key,
          to_key = d.to_key, data = d.data, props = d.props, scope = d.scope
      FROM diff d
      WHERE NOT d.created AND g.ctid = d.graph_row),
    logged AS (
      INSERT INTO changes
        (instance_id, run_id, change, object, key, type, data, previous,
         time_ms)
      SELECT $1, $2, CASE WHEN created THEN $5 ELSE $6 END, $4, key, type,
             data, previous, $3
      FROM diff WHERE created OR data != previous
      RETURNING change)
    SELECT COUNT(*) FILTER (WHERE change = $5),
           COUNT(*) FILTER (WHERE change = $6)
    FROM logged)sql");
}

// Into a graph that has no objects of the kind (e.g. an instance's first run)
// everything is created: no join, and nothing is materialized. $1 instance, $2
// run, $3 now, $4 object kind, $5 the creation kind. `marked`:
// NotMarkedByPatch's clause for staged_objects.key.
std::string LogAllCreated(absl::string_view marked) {
  return absl::StrCat(R"sql(
    INSERT INTO changes
      (instance_id, run_id, change, object, key, type, data, previous, time_ms)
    SELECT $1, $2, $5, $4, key, type, data, NULL, $3 FROM staged_objects
    WHERE run_id = $2 AND object = $4)sql",
                      marked, " ORDER BY key");
}
std::string ApplyAllCreated(absl::string_view marked) {
  return absl::StrCat(R"sql(
    INSERT INTO graph_objects (instance_id, object, key, type, classes,
      from_key, to_key, data, props, scope)
    SELECT $1, $4, key, type, classes, from_key, to_key, data, props, scope
    FROM staged_objects WHERE run_id = $2 AND object = $4)sql",
                      marked, " ORDER BY key");
}

// Deleted for being missing: absent from the run, of a type whose rule allows
// it ($6/$7: types and their DeletionRule codes, absent: $8 kDeleteMissing;
// $9 kKeepAll), and, for an object with a scope, the scope was listed
// completely in this run (its entity was collected and no task reported it
// incomplete) or its entity is gone from the graph (deleted, so its children
// go too). $10: the entity kind. The absence is a top-level anti-join, so the
// rest is looked at only for missing objects. `marked`: NotMarkedByPatch's
// clause for g.key.
std::string DeleteMissing(bool scopes_deleted_since, absl::string_view marked) {
  return absl::StrCat(
      R"sql(
    WITH missing AS MATERIALIZED (
      SELECT g.key FROM graph_objects g
        LEFT JOIN unnest($6::text[], $7::bigint[]) AS r (type, rule)
          ON r.type = g.type
      WHERE g.instance_id = $1 AND g.object = $4
        AND NOT EXISTS (SELECT 1 FROM staged_objects s
                        WHERE s.run_id = $2 AND s.object = $4
                          AND s.key = g.key)
        AND COALESCE(r.rule, $8) != $9
        AND ((g.scope = '' AND COALESCE(r.rule, $8) = $8)
             OR (g.scope != ''
                 AND ((EXISTS (SELECT 1 FROM staged_objects p
                               WHERE p.run_id = $2 AND p.object = $10
                                 AND p.key = g.scope)
                       AND NOT EXISTS (SELECT 1 FROM run_incomplete i
                                       WHERE i.run_id = $2
                                         AND i.scope = g.scope))
                      OR (NOT EXISTS (SELECT 1 FROM staged_objects p
                                      WHERE p.run_id = $2 AND p.object = $10
                                        AND p.key = g.scope)
                          AND NOT EXISTS (SELECT 1 FROM graph_objects e
                                          WHERE e.instance_id = $1
                                            AND e.object = $10
                                            AND e.key = g.scope)))))
)sql",
      marked.empty() ? "" : absl::StrCat("       ", marked, "\n"),
      // Deleting an entity can settle only the objects it scopes ($11: the
      // last sequence before the round that deleted it).
      scopes_deleted_since ? R"sql(
        AND g.scope IN (SELECT c.key FROM changes c
                        WHERE c.sequence > $11 AND c.run_id = $2
                          AND c.object = $10)
)sql"
                           : "",
      R"sql(),
    gone AS (
      DELETE FROM graph_objects g USING missing m
      WHERE g.instance_id = $1 AND g.object = $4 AND g.key = m.key
      RETURNING g.object, g.key, g.type, g.data)
    INSERT INTO changes
      (instance_id, run_id, change, object, key, type, data, previous, time_ms)
    SELECT $1, $2, $5, object, key, type, data, data, $3 FROM gone
    ORDER BY key)sql");
}

// Relationships whose endpoint entity is gone, whatever their type. $1
// instance, $2 run, $3 now, $4 relationship kind, $5 the deletion kind, $6 the
// entity kind. Marks do not keep them: a relationship without an endpoint is
// never left in the graph.
std::string DeleteDetached() {
  return absl::StrCat(R"sql(
    WITH gone AS (
      DELETE FROM graph_objects g
      WHERE g.instance_id = $1 AND g.object = $4
        AND (NOT EXISTS (SELECT 1 FROM graph_objects e
                         WHERE e.instance_id = $1 AND e.object = $6
                           AND e.key = g.from_key)
             OR NOT EXISTS (SELECT 1 FROM graph_objects e
                            WHERE e.instance_id = $1 AND e.object = $6
                              AND e.key = g.to_key)))sql",
                      R"sql(
      RETURNING g.object, g.key, g.type, g.data)
    INSERT INTO changes
      (instance_id, run_id, change, object, key, type, data, previous, time_ms)
    SELECT $1, $2, $5, object, key, type, data, data, $3 FROM gone
    ORDER BY key)sql");
}

// A committed relationship whose endpoint entity is not in the graph. $1
// instance, $2 run, $3 relationship kind, $4 entity kind.
constexpr char kDangling[] = R"sql(
    s.run_id = $2 AND s.object = $3
    AND (NOT EXISTS (SELECT 1 FROM graph_objects e
                     WHERE e.instance_id = $1 AND e.object = $4
                       AND e.key = s.from_key)
         OR NOT EXISTS (SELECT 1 FROM graph_objects e
                        WHERE e.instance_id = $1 AND e.object = $4
                          AND e.key = s.to_key)))sql";

}  // namespace

absl::StatusOr<FinalizeCounts> PostgresStore::Finalize(
    const FinalizeRequest& request) {
  const int64_t run_id = request.run_id;
  const std::string& instance_id = request.instance_id;
  const int64_t now_ms = request.now_ms;
  std::vector<std::string> rule_types;
  std::vector<int64_t> rule_values;
  for (const auto& [type, rule] : request.rules) {
    rule_types.push_back(type);
    rule_values.push_back(static_cast<int64_t>(rule));
  }
  absl::MutexLock lock(&mu_);
  FinalizeCounts counts;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    counts = FinalizeCounts();
    // The diff's joins hash one side; with this much memory (the server's, for
    // this transaction only) a graph of about a million objects is hashed
    // without spilling to disk.
    GM_RETURN_IF_ERROR(db_->Execute("SET LOCAL work_mem = '128MB'"));
    // A run stages up to millions of rows after the last autovacuum analyze
    // saw the tables: with stale statistics the planner chose a nested loop
    // for the deletion diff that ran for minutes at 1M objects. A sampled
    // ANALYZE (~30k rows per table) keeps the plans in step with the data.
    GM_RETURN_IF_ERROR(db_->Execute("ANALYZE staged_objects, graph_objects"));
    GM_RETURN_IF_ERROR(
        db_->Query("SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
                   PgParams().Text(instance_id))
            .status());
    GM_RETURN_IF_ERROR(LockChangeLog());
    GM_ASSIGN_OR_RETURN(
        PgResult active,
        db_->Query("SELECT status, created_ms FROM runs WHERE id = $1 FOR "
                   "UPDATE",
                   PgParams().Int(run_id)));
    if (active.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
    }
    if (!IsActiveRunStatus(static_cast<v1::RunStatus>(active.Int(0, 0)))) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active: not finalized"));
    }
    // Objects webhooks changed after the run began are left as they are
    // (NotMarkedByPatch); the patches that serialized before this finalize
    // hold the instance's row lock no more, and new ones wait for it.
    const int64_t run_start = active.Int(0, 1);
    GM_ASSIGN_OR_RETURN(
        PgResult marked,
        db_->Query("SELECT EXISTS (SELECT 1 FROM patch_marks WHERE "
                   "instance_id = $1 AND as_of_ms > $2)",
                   PgParams().Text(instance_id).Int(run_start)));
    const int64_t protected_after = marked.Bool(0, 0) ? run_start : -1;
    auto not_marked = [&](absl::string_view key_sql) {
      return NotMarkedByPatch(protected_after, key_sql);
    };
    // Attempts that did not commit never reach the graph: their objects are
    // dropped, and their tasks locked (StageBatch locks its task) so none
    // arrive until this transaction ends.
    GM_ASSIGN_OR_RETURN(
        std::vector<int64_t> uncommitted,
        CollectRows<int64_t>(*db_,
                             "SELECT id FROM tasks WHERE run_id = $1 AND "
                             "commit_seq = 0 ORDER BY id FOR UPDATE",
                             PgParams().Int(run_id),
                             [](const PgRow& row) { return row.Int(0); }));
    if (!uncommitted.empty()) {
      GM_RETURN_IF_ERROR(
          db_->Query("DELETE FROM staged_objects WHERE task_id = ANY ($1)",
                     PgParams().IntArray(uncommitted))
              .status());
    }
    for (const v1::IncompleteType& type : request.incomplete_types) {
      constexpr char kRecordIncompleteType[] = R"sql(
          INSERT INTO run_incomplete_types (run_id, type, reason, error, all_kept)
          VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT (run_id, type) DO UPDATE
            SET reason = excluded.reason, error = excluded.error,
                all_kept = excluded.all_kept)sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kRecordIncompleteType, PgParams()
                                                .Int(run_id)
                                                .Text(type.type())
                                                .Text(type.reason())
                                                .Bool(type.error())
                                                .Bool(type.all_kept()))
              .status());
    }

    // Runs a statement that logs changes; adds how many to `counter`.
    auto log = [&](absl::string_view sql, const PgParams& params,
                   int64_t* counter) -> absl::Status {
      GM_ASSIGN_OR_RETURN(PgResult result, db_->Query(sql, params));
      *counter += result.affected();
      return absl::OkStatus();
    };
    auto diff_params = [&](int object, v1::ChangeKind change) {
      return PgParams()
          .Text(instance_id)
          .Int(run_id)
          .Int(now_ms)
          .Int(object)
          .Int(change);
    };
    auto deletion_params = [&](int object) {
      return diff_params(object, v1::CHANGE_KIND_DELETED)
          .TextArray(rule_types)
          .IntArray(rule_values)
          .Int(static_cast<int64_t>(DeletionRule::kDeleteMissing))
          .Int(static_cast<int64_t>(DeletionRule::kKeepAll))
          .Int(kEntityObject);
    };
    auto last_sequence = [&]() -> absl::StatusOr<int64_t> {
      GM_ASSIGN_OR_RETURN(
          PgResult last,
          db_->Query("SELECT COALESCE(MAX(sequence), 0) FROM changes"));
      return last.Int(0, 0);
    };
    // Logs and applies creations and updates of `object`s; true if the graph
    // had none of them (then the graph's are exactly the run's).
    auto upsert = [&](int object) -> absl::StatusOr<bool> {
      const PgParams params = diff_params(object, v1::CHANGE_KIND_CREATED);
      GM_ASSIGN_OR_RETURN(
          PgResult any,
          db_->Query("SELECT EXISTS (SELECT 1 FROM graph_objects WHERE "
                     "instance_id = $1 AND object = $2)",
                     PgParams().Text(instance_id).Int(object)));
      if (!any.Bool(0, 0)) {
        GM_RETURN_IF_ERROR(log(LogAllCreated(not_marked("staged_objects.key")),
                               params, &counts.created));
        GM_RETURN_IF_ERROR(
            db_->Query(ApplyAllCreated(not_marked("staged_objects.key")),
                       params)
                .status());
        return true;
      }
      GM_ASSIGN_OR_RETURN(
          PgResult logged,
          db_->Query(Upsert(not_marked("s.key")),
                     diff_params(object, v1::CHANGE_KIND_CREATED)
                         .Int(v1::CHANGE_KIND_UPDATED)));
      counts.created += logged.Int(0, 0);
      counts.updated += logged.Int(0, 1);
      return false;
    };
    // A graph that had no entities now has exactly the run's: none missing.
    GM_ASSIGN_OR_RETURN(const bool fresh_entities, upsert(kEntityObject));
    // Deleting an entity can settle the scopes of objects it scopes (a
    // deleted workflow's jobs go too): repeat, looking only at the objects
    // scoped by what the previous round deleted, until nothing more goes.
    GM_ASSIGN_OR_RETURN(int64_t before, last_sequence());
    int64_t deleted = 0;
    if (!fresh_entities) {
      GM_RETURN_IF_ERROR(log(
          DeleteMissing(/*scopes_deleted_since=*/false, not_marked("g.key")),
          deletion_params(kEntityObject), &deleted));
    }
    while (deleted > 0) {
      counts.deleted += deleted;
      const int64_t previous_round = before;
      GM_ASSIGN_OR_RETURN(before, last_sequence());
      deleted = 0;
      GM_RETURN_IF_ERROR(
          log(DeleteMissing(/*scopes_deleted_since=*/true, not_marked("g.key")),
              deletion_params(kEntityObject).Int(previous_round), &deleted));
    }

    const int64_t entities_deleted = counts.deleted;

    // Relationships whose endpoint entity is not in the graph are reported
    // (the first kMaxDanglingEvents by key, then how many more) and not
    // stored: they leave the run's objects.
    constexpr int kMaxDanglingEvents = 100;
    const PgParams dangling_params = PgParams()
                                         .Text(instance_id)
                                         .Int(run_id)
                                         .Int(kRelationshipObject)
                                         .Int(kEntityObject);
    auto report = [&](const std::string& description) {
      constexpr char kInsertDroppedEvent[] = R"sql(
          INSERT INTO events (run_id, time_ms, level, name, description, step_id)
          VALUES ($1, $2, $3, 'relationship_dropped', $4, ''))sql";
      return db_
          ->Query(kInsertDroppedEvent, PgParams()
                                           .Int(run_id)
                                           .Int(now_ms)
                                           .Int(v1::EVENT_LEVEL_WARN)
                                           .Text(description))
          .status();
    };
    // One pass: they are removed, and the first ones by key come back with
    // how many went (every row carries the count; none: nothing went).
    GM_RETURN_IF_ERROR(db_->ForEachRow(
        absl::StrCat(
            "WITH gone AS (DELETE FROM staged_objects s WHERE ", kDangling,
            " RETURNING s.key, s.type, s.from_key, s.to_key) "
            "SELECT g.key, g.type, g.from_key, g.to_key, "
            "EXISTS (SELECT 1 FROM graph_objects e WHERE e.instance_id = $1 "
            "AND e.object = $4 AND e.key = g.from_key), "
            "(SELECT COUNT(*) FROM gone) FROM gone g ORDER BY g.key LIMIT ",
            kMaxDanglingEvents),
        dangling_params, [&](const PgRow& row) {
          counts.dropped_relationships = row.Int(5);
          const bool from_exists = row.Bool(4);
          return report(absl::StrCat(
              "relationship '", row.Text(0), "' (", row.Text(1),
              ") is not stored: its ", from_exists ? "target" : "source",
              " entity '", from_exists ? row.Text(3) : row.Text(2),
              "' is not in the graph"));
        }));
    if (counts.dropped_relationships > kMaxDanglingEvents) {
      GM_RETURN_IF_ERROR(report(absl::StrCat(
          counts.dropped_relationships - kMaxDanglingEvents,
          " more relationships were not stored for the same reason")));
    }

    // Likewise relationships, whose endpoints were checked above.
    GM_ASSIGN_OR_RETURN(const bool fresh_relationships,
                        upsert(kRelationshipObject));
    if (!fresh_relationships) {
      GM_RETURN_IF_ERROR(log(
          DeleteMissing(/*scopes_deleted_since=*/false, not_marked("g.key")),
          deletion_params(kRelationshipObject), &counts.deleted));
      // The graph holds no relationship without its endpoints, so only
      // deleted entities can leave some detached.
      if (entities_deleted > 0) {
        GM_RETURN_IF_ERROR(
            log(DeleteDetached(),
                diff_params(kRelationshipObject, v1::CHANGE_KIND_DELETED)
                    .Int(kEntityObject),
                &counts.deleted));
      }
    }

    constexpr char kRecordCounts[] = R"sql(
        UPDATE runs SET created_count = $1, updated_count = $2,
          deleted_count = $3
        WHERE id = $4)sql";
    GM_RETURN_IF_ERROR(db_->Query(kRecordCounts, PgParams()
                                                     .Int(counts.created)
                                                     .Int(counts.updated)
                                                     .Int(counts.deleted)
                                                     .Int(run_id))
                           .status());
    // Staged objects of earlier runs are no longer needed; this run's stay for
    // its upload.
    for (const char* table : {"staged_objects", "run_incomplete"}) {
      GM_RETURN_IF_ERROR(
          db_->Query(absl::StrCat("DELETE FROM ", table,
                                  " WHERE run_id IN (SELECT id FROM runs "
                                  "WHERE instance_id = $1 AND id < $2)"),
                     PgParams().Text(instance_id).Int(run_id))
              .status());
    }
    // Marks no newer than the run's start no longer order anything: this run
    // read the provider after them.
    GM_RETURN_IF_ERROR(
        db_->Query("DELETE FROM patch_marks WHERE instance_id = $1 AND "
                   "as_of_ms <= $2",
                   PgParams().Text(instance_id).Int(run_start))
            .status());
    // The run ends in the same transaction (see Store::Finalize); its end time
    // is read last, so the run's end includes the diff above.
    PgParams end;
    end.Int(request.status)
        .Text(request.error)
        .Int(request.end_ms ? request.end_ms() : now_ms)
        .Int(run_id)
        .Int(now_ms);
    if (request.upload_pending) end.Bytes(PendingUploadBytes());
    GM_RETURN_IF_ERROR(
        db_->Query(request.upload_pending
                       ? "UPDATE runs SET status = $1, error = $2, ended_ms = "
                         "$3, finalize_started_ms = $5, upload = $6 WHERE id = "
                         "$4"
                       : "UPDATE runs SET status = $1, error = $2, ended_ms = "
                         "$3, finalize_started_ms = $5 WHERE id = $4",
                   end)
            .status());
    return NotifyReplicas(ReplicaChange::kRuns);
  }));
  return counts;
}

}  // namespace graphmill::coordinator
