// SqliteStore: the change log and its retention.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {

using sqlite::kRelationshipObject;

absl::StatusOr<ChangeLogBounds> SqliteStore::GetChangeLogBounds() {
  return Read<ChangeLogBounds>(
      [&](SqliteDatabase& db) -> absl::StatusOr<ChangeLogBounds> {
        ChangeLogBounds bounds;
        GM_ASSIGN_OR_RETURN(
            SqliteStatement last,
            db.Prepare(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE "
                "name = 'changes'), 0), COALESCE((SELECT value FROM meta "
                "WHERE name = 'changes_pruned_through'), 0)"));
        GM_ASSIGN_OR_RETURN(bool ignored, last.Step());
        (void)ignored;
        bounds.last_sequence = last.ColumnInt(0);
        bounds.pruned_through = last.ColumnInt(1);
        return bounds;
      });
}

absl::StatusOr<std::vector<ChangeRecord>> SqliteStore::ReadChanges(
    int64_t after_sequence, int limit) {
  return Read<std::vector<ChangeRecord>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<ChangeRecord>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(
                "SELECT sequence, instance_id, run_id, change, object, type, "
                "data, previous, time_ms FROM changes WHERE sequence > ? "
                "ORDER BY sequence LIMIT ?"));
        select.Bind(1, after_sequence).Bind(2, int64_t{limit});
        std::vector<ChangeRecord> changes;
        GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
          ChangeRecord& change = changes.emplace_back();
          change.sequence = row.ColumnInt(0);
          change.instance_id = row.ColumnText(1);
          change.run_id = row.ColumnInt(2);
          change.kind = static_cast<v1::ChangeKind>(row.ColumnInt(3));
          change.is_relationship = row.ColumnInt(4) == kRelationshipObject;
          change.type = row.ColumnText(5);
          change.data = row.ColumnBlob(6);
          change.previous = row.ColumnBlob(7);
          // A deletion stores the object once, as data (see the schema).
          if (change.kind == v1::CHANGE_KIND_DELETED && row.ColumnIsNull(7)) {
            change.previous = change.data;
          }
          change.time_ms = row.ColumnInt(8);
          return absl::OkStatus();
        }));
        return changes;
      });
}

absl::StatusOr<int64_t> SqliteStore::PruneChanges(int64_t max_age_ms,
                                                  int64_t max_count,
                                                  int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  int64_t pruned = 0;
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement bound,
        db_->Prepare("SELECT MAX(COALESCE((SELECT MAX(sequence) FROM changes "
                     "WHERE ?1 > 0 AND "
                     "time_ms < ?3 - ?1), 0), COALESCE((SELECT MAX(sequence) "
                     "FROM changes), 0) "
                     "- (CASE WHEN ?2 > 0 THEN ?2 ELSE 1e18 END))"));
    bound.Bind(1, max_age_ms).Bind(2, max_count).Bind(3, now_ms);
    GM_ASSIGN_OR_RETURN(bool ignored, bound.Step());
    (void)ignored;
    const int64_t through = bound.ColumnInt(0);
    if (through <= 0) return absl::OkStatus();
    GM_ASSIGN_OR_RETURN(
        SqliteStatement remove,
        db_->Prepare("DELETE FROM changes WHERE sequence <= ?"));
    remove.Bind(1, through);
    GM_RETURN_IF_ERROR(remove.Run());
    pruned = db_->changes();
    GM_ASSIGN_OR_RETURN(
        SqliteStatement mark,
        db_->Prepare("INSERT INTO meta VALUES ('changes_pruned_through', ?1) "
                     "ON CONFLICT(name) DO UPDATE SET value = MAX(value, ?1)"));
    mark.Bind(1, through);
    return mark.Run();
  });
  if (!status.ok()) return status;
  return pruned;
}

}  // namespace graphmill::coordinator
