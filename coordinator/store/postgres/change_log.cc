// PostgresStore: the change log.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

// --- Change log ---

absl::StatusOr<ChangeLogBounds> PostgresStore::GetChangeLogBounds() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(absl::StrCat("SELECT ", kLastSequence,
                              ", COALESCE((SELECT value FROM meta WHERE name = "
                              "'changes_pruned_through'), 0)")));
  ChangeLogBounds bounds;
  bounds.last_sequence = rows.Int(0, 0);
  bounds.pruned_through = rows.Int(0, 1);
  return bounds;
}

absl::StatusOr<std::vector<ChangeRecord>> PostgresStore::ReadChanges(
    int64_t after_sequence, int limit) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelect[] = R"sql(
      SELECT sequence, instance_id, run_id, change, object, type, data,
             previous, time_ms
      FROM changes WHERE sequence > $1 ORDER BY sequence LIMIT $2)sql";
  return CollectRows<ChangeRecord>(
      *db_, kSelect, PgParams().Int(after_sequence).Limit(limit),
      [](const PgRow& row) -> absl::StatusOr<ChangeRecord> {
        ChangeRecord change;
        change.sequence = row.Int(0);
        change.instance_id = row.Text(1);
        change.run_id = row.Int(2);
        change.kind = static_cast<v1::ChangeKind>(row.Int(3));
        change.is_relationship = row.Int(4) == kRelationshipObject;
        change.type = row.Text(5);
        change.data = row.Text(6);
        change.previous = row.Text(7);
        change.time_ms = row.Int(8);
        return change;
      });
}

absl::StatusOr<int64_t> PostgresStore::PruneChanges(int64_t max_age_ms,
                                                    int64_t max_count,
                                                    int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  int64_t pruned = 0;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    pruned = 0;
    // The newest change older than the age limit, and the newest beyond the
    // `max_count` newest (counted, not computed from the last sequence: a
    // rolled-back transaction leaves a gap in the sequence).
    constexpr char kSelectBound[] = R"sql(
        SELECT GREATEST(
          CASE WHEN $1 > 0 THEN
            COALESCE((SELECT MAX(sequence) FROM changes
                      WHERE time_ms < $3 - $1), 0)
          ELSE 0 END,
          CASE WHEN $2 > 0 THEN
            COALESCE((SELECT sequence FROM changes
                      ORDER BY sequence DESC OFFSET $2 LIMIT 1), 0)
          ELSE 0 END))sql";
    GM_ASSIGN_OR_RETURN(
        PgResult bound,
        db_->Query(kSelectBound,
                   PgParams().Int(max_age_ms).Int(max_count).Int(now_ms)));
    const int64_t through = bound.Int(0, 0);
    if (through <= 0) return absl::OkStatus();
    GM_ASSIGN_OR_RETURN(PgResult removed,
                        db_->Query("DELETE FROM changes WHERE sequence <= $1",
                                   PgParams().Int(through)));
    pruned = removed.affected();
    constexpr char kMarkPruned[] = R"sql(
        INSERT INTO meta (name, value) VALUES ('changes_pruned_through', $1)
        ON CONFLICT (name) DO UPDATE
          SET value = GREATEST(meta.value, excluded.value))sql";
    return db_->Query(kMarkPruned, PgParams().Int(through)).status();
  }));
  return pruned;
}

}  // namespace graphmill::coordinator
