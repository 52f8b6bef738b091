// PostgresStore::ApplyPatch: patch_apply.h's algorithm over this store's
// tables, in one transaction that holds the instance's row lock (as Finalize
// does), so a patch and a finalize of the same instance take turns.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/patch_apply.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

namespace {

int64_t ObjectCode(PatchObject object) {
  return object == PatchObject::kEntity ? kEntityObject : kRelationshipObject;
}

// The primitives, on the caller's connection inside its transaction, which
// has locked the instance's row (`exists`: whether there was one).
// `lock_change_log` is called once, before the first change is appended.
class PgPatchTransaction : public PatchTransaction {
 public:
  PgPatchTransaction(PgConnection& db, std::string instance_id, bool exists,
                     std::function<absl::Status()> lock_change_log)
      : db_(db),
        instance_id_(std::move(instance_id)),
        exists_(exists),
        lock_change_log_(std::move(lock_change_log)) {}

  absl::StatusOr<bool> InstanceExists() override { return exists_; }

  absl::StatusOr<bool> RecordEvent(const std::string& event_id, int64_t now_ms,
                                   int64_t forget_before_ms) override {
    GM_RETURN_IF_ERROR(
        db_.Query("DELETE FROM webhook_events WHERE received_ms < $1",
                  PgParams().Int(forget_before_ms))
            .status());
    constexpr char kRecord[] = R"sql(
        INSERT INTO webhook_events (instance_id, event_id, received_ms)
        VALUES ($1, $2, $3) ON CONFLICT (instance_id, event_id) DO NOTHING)sql";
    GM_ASSIGN_OR_RETURN(
        PgResult recorded,
        db_.Query(kRecord,
                  PgParams().Text(instance_id_).Text(event_id).Int(now_ms)));
    return recorded.affected() == 1;
  }

  absl::StatusOr<int64_t> NewestFinalizedRunStart() override {
    GM_ASSIGN_OR_RETURN(
        PgResult start,
        db_.Query("SELECT COALESCE(MAX(created_ms), 0) FROM runs WHERE "
                  "instance_id = $1 AND finalize_started_ms > 0",
                  PgParams().Text(instance_id_)));
    return start.Int(0, 0);
  }

  absl::StatusOr<std::optional<int64_t>> Mark(PatchObject object,
                                              const std::string& key) override {
    GM_ASSIGN_OR_RETURN(
        PgResult mark,
        db_.Query(
            "SELECT as_of_ms FROM patch_marks WHERE instance_id = $1 "
            "AND object = $2 AND key = $3",
            PgParams().Text(instance_id_).Int(ObjectCode(object)).Text(key)));
    if (mark.rows() == 0) return std::nullopt;
    return mark.Int(0, 0);
  }

  absl::Status SetMark(PatchObject object, const std::string& key,
                       int64_t as_of_ms) override {
    constexpr char kUpsert[] = R"sql(
        INSERT INTO patch_marks (instance_id, object, key, as_of_ms)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (instance_id, object, key)
          DO UPDATE SET as_of_ms = excluded.as_of_ms)sql";
    return db_
        .Query(kUpsert, PgParams()
                            .Text(instance_id_)
                            .Int(ObjectCode(object))
                            .Text(key)
                            .Int(as_of_ms))
        .status();
  }

  absl::StatusOr<std::optional<Stored>> Read(PatchObject object,
                                             const std::string& key) override {
    GM_ASSIGN_OR_RETURN(
        PgResult row,
        db_.Query(
            "SELECT data, scope, type FROM graph_objects WHERE "
            "instance_id = $1 AND object = $2 AND key = $3",
            PgParams().Text(instance_id_).Int(ObjectCode(object)).Text(key)));
    if (row.rows() == 0) return std::nullopt;
    return Stored{row.Text(0, 0), row.Text(0, 1), row.Text(0, 2)};
  }

  absl::Status Write(const PatchRow& row) override {
    constexpr char kUpsert[] = R"sql(
        INSERT INTO graph_objects (instance_id, object, key, type, classes,
          from_key, to_key, data, props, scope)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (instance_id, object, key) DO UPDATE
          SET type = excluded.type, classes = excluded.classes,
              from_key = excluded.from_key, to_key = excluded.to_key,
              data = excluded.data, props = excluded.props,
              scope = excluded.scope)sql";
    return db_
        .Query(kUpsert, PgParams()
                            .Text(instance_id_)
                            .Int(ObjectCode(row.object))
                            .Text(row.key)
                            .Text(row.type)
                            .Text(row.classes)
                            .Text(row.from_key)
                            .Text(row.to_key)
                            .Bytes(row.data)
                            .Jsonb(PropsJson(*row.properties))
                            .Text(row.scope))
        .status();
  }

  absl::Status Delete(PatchObject object, const std::string& key) override {
    return db_
        .Query(
            "DELETE FROM graph_objects WHERE instance_id = $1 AND "
            "object = $2 AND key = $3",
            PgParams().Text(instance_id_).Int(ObjectCode(object)).Text(key))
        .status();
  }

  // As Finalize logs: a creation without `previous` (NULL), a deletion with
  // the object as it was in both `data` and `previous`.
  absl::Status Log(v1::ChangeKind kind, PatchObject object,
                   const std::string& key, const std::string& type,
                   const std::string& data, const std::string& previous,
                   int64_t time_ms) override {
    if (!change_log_locked_) {
      GM_RETURN_IF_ERROR(lock_change_log_());
      change_log_locked_ = true;
    }
    PgParams params;
    params.Text(instance_id_)
        .Int(kind)
        .Int(ObjectCode(object))
        .Text(key)
        .Text(type)
        .Bytes(data)
        .Int(time_ms);
    const bool deletion = kind == v1::CHANGE_KIND_DELETED;
    if (!deletion && !previous.empty()) params.Bytes(previous);
    return db_
        .Query(
            absl::StrCat(
                "INSERT INTO changes (instance_id, run_id, change, object, "
                "key, type, data, previous, time_ms) VALUES ($1, 0, $2, "
                "$3, $4, $5, $6, ",
                deletion ? "$6" : (previous.empty() ? "NULL" : "$8"), ", $7)"),
            params)
        .status();
  }

  absl::StatusOr<std::vector<std::string>> ScopedEntities(
      const std::string& type, const std::string& scope) override {
    // Served by graph_entities_by_scope (whose predicate is literal).
    return Keys(absl::StrCat("SELECT key FROM graph_objects WHERE instance_id "
                             "= $1 AND type = $2 AND scope = $3 AND scope <> "
                             "'' AND object = ",
                             kEntityObject, " ORDER BY key"),
                PgParams().Text(instance_id_).Text(type).Text(scope));
  }

  absl::StatusOr<std::vector<std::string>> RelationshipsTouching(
      const std::string& key) override {
    // Served by graph_relationships_by_from and graph_relationships_by_to.
    return Keys(
        absl::StrCat("SELECT key FROM graph_objects WHERE instance_id = $1 "
                     "AND from_key = $2 AND object = ",
                     kRelationshipObject,
                     " UNION SELECT key FROM graph_objects WHERE instance_id "
                     "= $1 AND to_key = $2 AND object = ",
                     kRelationshipObject, " ORDER BY key"),
        PgParams().Text(instance_id_).Text(key));
  }

 private:
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& sql,
                                                const PgParams& params) {
    return CollectRows<std::string>(
        db_, sql, params, [](const PgRow& row) -> absl::StatusOr<std::string> {
          return row.Text(0);
        });
  }

  PgConnection& db_;
  const std::string instance_id_;
  const bool exists_;
  const std::function<absl::Status()> lock_change_log_;
  bool change_log_locked_ = false;
};

}  // namespace

absl::StatusOr<PatchCounts> PostgresStore::ApplyPatch(const GraphPatch& patch) {
  GM_RETURN_IF_ERROR(CheckPatch(patch));
  absl::MutexLock lock(&mu_);
  PatchCounts counts;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    counts = PatchCounts();
    // Held until commit: a finalize of the instance (which takes it too)
    // waits for the patch, or the patch for the finalize.
    GM_ASSIGN_OR_RETURN(
        PgResult instance,
        db_->Query("SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
                   PgParams().Text(patch.instance_id)));
    // Changes are appended under the change log's lock (see LockChangeLog),
    // taken after the instance's, in Finalize's order.
    PgPatchTransaction tx(*db_, patch.instance_id, instance.rows() > 0,
                          [this]() { return LockChangeLog(); });
    GM_ASSIGN_OR_RETURN(counts, ApplyPatchIn(tx, patch));
    return absl::OkStatus();
  }));
  if (counts.created + counts.updated + counts.deleted > 0) {
    // Subscribers of other replicas read the new changes.
    WakeReplicas(ReplicaChange::kRuns);
  }
  return counts;
}

}  // namespace graphmill::coordinator
