// SqliteStore::ApplyPatch: patch_apply.h's algorithm over this store's tables,
// in one transaction.
#include "absl/strings/str_cat.h"
#include "common/graph_json.h"
#include "common/status_macros.h"
#include "coordinator/store/patch_apply.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {
namespace {

using sqlite::Code;

int64_t ObjectCode(PatchObject object) {
  return object == PatchObject::kEntity ? sqlite::kEntityObject
                                        : sqlite::kRelationshipObject;
}

class SqlitePatchTransaction : public PatchTransaction {
 public:
  SqlitePatchTransaction(SqliteDatabase& db, std::string instance_id)
      : db_(db), instance_id_(std::move(instance_id)) {}

  absl::StatusOr<bool> InstanceExists() override {
    GM_ASSIGN_OR_RETURN(SqliteStatement select,
                        db_.Prepare("SELECT 1 FROM instances WHERE id = ?"));
    select.Bind(1, instance_id_);
    return select.Step();
  }

  absl::StatusOr<bool> RecordEvent(const std::string& event_id, int64_t now_ms,
                                   int64_t forget_before_ms) override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement forget,
        db_.Prepare("DELETE FROM webhook_events WHERE received_ms < ?"));
    forget.Bind(1, forget_before_ms);
    GM_RETURN_IF_ERROR(forget.Run());
    GM_ASSIGN_OR_RETURN(
        SqliteStatement record,
        db_.Prepare("INSERT OR IGNORE INTO webhook_events VALUES (?, ?, ?)"));
    record.Bind(1, instance_id_).Bind(2, event_id).Bind(3, now_ms);
    GM_RETURN_IF_ERROR(record.Run());
    return db_.changes() == 1;
  }

  absl::StatusOr<int64_t> NewestFinalizedRunStart() override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_.Prepare("SELECT COALESCE(MAX(created_ms), 0) FROM runs WHERE "
                    "instance_id = ? AND finalize_started_ms > 0"));
    select.Bind(1, instance_id_);
    GM_RETURN_IF_ERROR(select.Step().status());
    return select.ColumnInt(0);
  }

  absl::StatusOr<std::optional<int64_t>> Mark(PatchObject object,
                                              const std::string& key) override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_.Prepare("SELECT as_of_ms FROM patch_marks WHERE instance_id = ? "
                    "AND object = ? AND key = ?"));
    select.Bind(1, instance_id_).Bind(2, ObjectCode(object)).Bind(3, key);
    GM_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) return std::nullopt;
    return select.ColumnInt(0);
  }

  absl::Status SetMark(PatchObject object, const std::string& key,
                       int64_t as_of_ms) override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement upsert,
        db_.Prepare("INSERT OR REPLACE INTO patch_marks VALUES (?, ?, ?, ?)"));
    upsert.Bind(1, instance_id_).Bind(2, ObjectCode(object)).Bind(3, key);
    upsert.Bind(4, as_of_ms);
    return upsert.Run();
  }

  absl::StatusOr<std::optional<Stored>> Read(PatchObject object,
                                             const std::string& key) override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_.Prepare("SELECT data, scope, type FROM graph_objects WHERE "
                    "instance_id = ? AND object = ? AND key = ?"));
    select.Bind(1, instance_id_).Bind(2, ObjectCode(object)).Bind(3, key);
    GM_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) return std::nullopt;
    return Stored{select.ColumnBlob(0), select.ColumnText(1),
                  select.ColumnText(2)};
  }

  absl::Status Write(const PatchRow& row) override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement upsert,
        db_.Prepare("INSERT OR REPLACE INTO graph_objects (instance_id, "
                    "object, key, type, classes, from_key, to_key, data, "
                    "props, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    upsert.Bind(1, instance_id_).Bind(2, ObjectCode(row.object));
    upsert.Bind(3, row.key).Bind(4, row.type).Bind(5, row.classes);
    upsert.Bind(6, row.from_key).Bind(7, row.to_key).BindBlob(8, row.data);
    upsert.Bind(9, PropertiesToJson(*row.properties)).Bind(10, row.scope);
    return upsert.Run();
  }

  absl::Status Delete(PatchObject object, const std::string& key) override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement remove,
        db_.Prepare("DELETE FROM graph_objects WHERE instance_id = ? AND "
                    "object = ? AND key = ?"));
    remove.Bind(1, instance_id_).Bind(2, ObjectCode(object)).Bind(3, key);
    return remove.Run();
  }

  absl::Status Log(v1::ChangeKind kind, PatchObject object,
                   const std::string& key, const std::string& type,
                   const std::string& data, const std::string& previous,
                   int64_t time_ms) override {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement log,
        db_.Prepare("INSERT INTO changes (instance_id, run_id, change, "
                    "object, key, type, data, previous, time_ms) VALUES (?, "
                    "0, ?, ?, ?, ?, ?, ?, ?)"));
    log.Bind(1, instance_id_).Bind(2, Code(kind)).Bind(3, ObjectCode(object));
    log.Bind(4, key).Bind(5, type).BindBlob(6, data);
    if (previous.empty()) {
      log.BindNull(7);
    } else {
      log.BindBlob(7, previous);
    }
    log.Bind(8, time_ms);
    return log.Run();
  }

  absl::StatusOr<std::vector<std::string>> ScopedEntities(
      const std::string& type, const std::string& scope) override {
    // Served by graph_entities_by_scope.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_.Prepare(absl::StrCat(
            "SELECT key FROM graph_objects WHERE instance_id = ? AND type = ? "
            "AND scope = ? AND scope != '' AND object = ",
            sqlite::kEntityObject)));
    select.Bind(1, instance_id_).Bind(2, type).Bind(3, scope);
    return Keys(select);
  }

  absl::StatusOr<std::vector<std::string>> RelationshipsTouching(
      const std::string& key) override {
    // Served by graph_by_from and graph_by_to.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_.Prepare(absl::StrCat(
            "SELECT key FROM graph_objects WHERE instance_id = ?1 AND "
            "from_key = ?2 AND object = ",
            sqlite::kRelationshipObject,
            " UNION SELECT key FROM graph_objects WHERE instance_id = ?1 AND "
            "to_key = ?2 AND object = ",
            sqlite::kRelationshipObject)));
    select.Bind(1, instance_id_).Bind(2, key);
    return Keys(select);
  }

 private:
  static absl::StatusOr<std::vector<std::string>> Keys(
      SqliteStatement& select) {
    std::vector<std::string> keys;
    GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
      keys.push_back(row.ColumnText(0));
      return absl::OkStatus();
    }));
    return keys;
  }

  SqliteDatabase& db_;
  const std::string instance_id_;
};

}  // namespace

absl::StatusOr<PatchCounts> SqliteStore::ApplyPatch(const GraphPatch& patch) {
  GM_RETURN_IF_ERROR(CheckPatch(patch));
  absl::MutexLock lock(&mu_);
  PatchCounts counts;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    SqlitePatchTransaction tx(*db_, patch.instance_id);
    GM_ASSIGN_OR_RETURN(counts, ApplyPatchIn(tx, patch));
    return absl::OkStatus();
  }));
  return counts;
}

}  // namespace graphmill::coordinator
