// PostgresStore: staging task results and reading them back.
//
// An object is written once on its way to the run: StageBatch inserts it into
// staged_objects under its task and attempt. CommitAttempt writes no object
// rows: it stamps the task with a commit sequence, which makes the attempt's
// rows visible to readers (kCommitted), after removing the
// rows of keys an earlier committed attempt of the run holds (the first
// committed version of a key wins). ReleaseTask and CancelRun delete the rows
// of attempts that will never commit.
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "coordinator/store/object_diff.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

namespace {

// A batch's objects as parallel columns, for one multi-row INSERT.
struct StagedColumns {
  std::vector<int64_t> object;
  std::vector<std::string> key, type, classes, from_key, to_key, data, props,
      scope;

  void Add(int kind, const std::string& object_key,
           const std::string& object_type, std::string object_classes,
           const std::string& from, const std::string& to, std::string bytes,
           std::string json, const std::string& object_scope) {
    object.push_back(kind);
    key.push_back(object_key);
    type.push_back(object_type);
    classes.push_back(std::move(object_classes));
    from_key.push_back(from);
    to_key.push_back(to);
    data.push_back(std::move(bytes));
    props.push_back(std::move(json));
    scope.push_back(object_scope);
  }
  size_t size() const { return key.size(); }
};

}  // namespace

absl::Status PostgresStore::CheckCurrentAttempt(const v1::TaskAttempt& attempt,
                                                TaskRecord* task) {
  GM_ASSIGN_OR_RETURN(*task, GetTaskLocked(attempt.task_id(), /*lock=*/true));
  return CheckLease(*task, attempt);
}

absl::Status PostgresStore::RecordConflict(const v1::TaskAttempt& attempt,
                                           int object, const std::string& type,
                                           const std::string& key,
                                           const std::string& first,
                                           const std::string& second,
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
  constexpr char kInsertEvent[] = R"sql(
      INSERT INTO attempt_events
        (task_id, attempt, time_ms, level, name, description)
      VALUES ($1, $2, $3, $4, $5, $6))sql";
  GM_RETURN_IF_ERROR(
      db_->Query(
             kInsertEvent,
             PgParams()
                 .Int(attempt.task_id())
                 .Int(attempt.attempt())
                 .Int(now_ms)
                 .Int(v1::EVENT_LEVEL_WARN)
                 .Text("duplicate_key_conflict")
                 .Text(absl::StrCat(
                     object == kEntityObject ? "entity '" : "relationship '",
                     key, "' (", type,
                     ") was produced again with different content; the "
                     "first version is kept and ",
                     type, " is treated as partial; differing fields: ",
                     absl::StrJoin(fields, ", "))))
          .status());
  constexpr char kInsertPartial[] = R"sql(
      INSERT INTO attempt_incomplete (task_id, attempt, type, scope, reason)
      VALUES ($1, $2, $3, '', $4) ON CONFLICT DO NOTHING)sql";
  return db_
      ->Query(kInsertPartial,
              PgParams()
                  .Int(attempt.task_id())
                  .Int(attempt.attempt())
                  .Text(type)
                  .Text("a key was produced twice with different content"))
      .status();
}

absl::Status PostgresStore::StageBatch(const v1::TaskAttempt& attempt,
                                       const v1::ResultBatch& batch,
                                       int64_t now_ms) {
  // Encoded before the lock is taken: serializing is the costly part.
  StagedColumns columns;
  static const std::string kUnscoped;
  // Scopes are parallel to the objects, or absent (all unscoped); callers
  // check the sizes (ValidateResultBatch).
  auto scope_of = [](const auto& scopes, int i) -> const std::string& {
    return i < scopes.size() ? scopes[i] : kUnscoped;
  };
  for (int i = 0; i < batch.entities_size(); ++i) {
    const v1::Entity& entity = batch.entities(i);
    columns.Add(kEntityObject, entity.key(), entity.type(),
                JoinClasses(entity.classes()), "", "",
                SerializeDeterministic(entity), PropsJson(entity.properties()),
                scope_of(batch.entity_scopes(), i));
  }
  for (int i = 0; i < batch.relationships_size(); ++i) {
    const v1::Relationship& relationship = batch.relationships(i);
    columns.Add(kRelationshipObject, relationship.key(), relationship.type(),
                absl::StrCat("|", relationship.class_name(), "|"),
                relationship.from_entity_key(), relationship.to_entity_key(),
                SerializeDeterministic(relationship),
                PropsJson(relationship.properties()),
                scope_of(batch.relationship_scopes(), i));
  }
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    if (columns.size() > 0) {
      // One statement for the batch, in batch order: of two versions of a key
      // the earlier is inserted and the later skipped.
      constexpr char kInsert[] = R"sql(
          INSERT INTO staged_objects (run_id, task_id, attempt, object, key,
            type, classes, from_key, to_key, data, props, scope)
          SELECT $1, $2, $3, o.object, o.key, o.type, o.classes, o.from_key,
                 o.to_key, o.data, o.props, o.scope
          FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[],
                      $8::text[], $9::text[], $10::bytea[], $11::jsonb[],
                      $12::text[])
            WITH ORDINALITY
            AS o (object, key, type, classes, from_key, to_key, data, props,
                  scope, position)
          ORDER BY o.position
          ON CONFLICT (task_id, attempt, object, key) DO NOTHING
          RETURNING type)sql";
      GM_ASSIGN_OR_RETURN(PgResult inserted,
                          db_->Query(kInsert, PgParams()
                                                  .Int(task.run_id)
                                                  .Int(attempt.task_id())
                                                  .Int(attempt.attempt())
                                                  .IntArray(columns.object)
                                                  .TextArray(columns.key)
                                                  .TextArray(columns.type)
                                                  .TextArray(columns.classes)
                                                  .TextArray(columns.from_key)
                                                  .TextArray(columns.to_key)
                                                  .BytesArray(columns.data)
                                                  .JsonbArray(columns.props)
                                                  .TextArray(columns.scope)));
      // The attempt's objects by type so far, for progress (GetRun).
      std::map<std::string, int64_t> type_counts;
      for (int row = 0; row < inserted.rows(); ++row) {
        ++type_counts[inserted.Text(row, 0)];
      }
      if (!type_counts.empty()) {
        std::vector<std::string> types;
        std::vector<int64_t> counts;
        for (const auto& [type, count] : type_counts) {
          types.push_back(type);
          counts.push_back(count);
        }
        constexpr char kCountTypes[] = R"sql(
            INSERT INTO attempt_type_counts (task_id, attempt, type, count)
            SELECT $1, $2, c.type, c.count
            FROM unnest($3::text[], $4::bigint[]) AS c (type, count)
            ON CONFLICT (task_id, attempt, type) DO UPDATE
              SET count = attempt_type_counts.count + excluded.count)sql";
        GM_RETURN_IF_ERROR(db_->Query(kCountTypes, PgParams()
                                                       .Int(attempt.task_id())
                                                       .Int(attempt.attempt())
                                                       .TextArray(types)
                                                       .IntArray(counts))
                               .status());
      }
      if (static_cast<size_t>(inserted.rows()) < columns.size()) {
        // Some keys were staged before (in this batch or an earlier one): an
        // identical version merges, a different one is a conflict. The
        // stored version is the first, so comparing each object of the batch
        // with it finds every later, different version.
        constexpr char kSelectStored[] = R"sql(
            SELECT s.object, s.key, s.data FROM staged_objects s
            WHERE s.task_id = $1 AND s.attempt = $2
              AND (s.object, s.key) IN
                (SELECT * FROM unnest($3::bigint[], $4::text[])))sql";
        std::map<std::pair<int64_t, std::string>, std::string> stored;
        GM_RETURN_IF_ERROR(
            db_->ForEachRow(kSelectStored,
                            PgParams()
                                .Int(attempt.task_id())
                                .Int(attempt.attempt())
                                .IntArray(columns.object)
                                .TextArray(columns.key),
                            [&](const PgRow& row) {
                              stored[{row.Int(0), row.Text(1)}] = row.Text(2);
                              return absl::OkStatus();
                            }));
        for (size_t i = 0; i < columns.size(); ++i) {
          auto found = stored.find({columns.object[i], columns.key[i]});
          if (found == stored.end() || found->second == columns.data[i]) {
            continue;
          }
          GM_RETURN_IF_ERROR(RecordConflict(
              attempt, static_cast<int>(columns.object[i]), columns.type[i],
              columns.key[i], found->second, columns.data[i], now_ms));
        }
      }
    }
    for (const v1::Event& e : batch.events()) {
      constexpr char kInsertEvent[] = R"sql(
          INSERT INTO attempt_events
            (task_id, attempt, time_ms, level, name, description)
          VALUES ($1, $2, $3, $4, $5, $6))sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kInsertEvent, PgParams()
                                       .Int(attempt.task_id())
                                       .Int(attempt.attempt())
                                       .Int(e.time_ms() ? e.time_ms() : now_ms)
                                       .Int(e.level())
                                       .Text(e.name())
                                       .Text(e.description()))
              .status());
    }
    return absl::OkStatus();
  });
}

absl::Status PostgresStore::CommitAttempt(
    const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
    const std::vector<v1::Incompleteness>& incomplete) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    // The run row first (as CancelRun locks it), then the task: attempts of
    // one run commit one at a time, so each sees what the previous committed
    // and "first committed" is well defined.
    constexpr char kLockRun[] = R"sql(
        SELECT 1 FROM runs
        WHERE id = (SELECT run_id FROM tasks WHERE id = $1) FOR UPDATE)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kLockRun, PgParams().Int(attempt.task_id())).status());
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    const int64_t task_id = attempt.task_id();
    const int64_t number = attempt.attempt();
    auto params = [&] {
      return PgParams().Int(task.run_id).Int(task_id).Int(number);
    };
    // Every object the attempt produced counts for its step, also those
    // another task produced first.
    constexpr char kCountTypes[] = R"sql(
        INSERT INTO step_type_counts (run_id, step_id, type, count)
        SELECT $1, $4, type, COUNT(*) FROM staged_objects
        WHERE task_id = $2 AND attempt = $3 GROUP BY type
        ON CONFLICT (run_id, step_id, type) DO UPDATE
          SET count = step_type_counts.count + excluded.count)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kCountTypes, params().Text(task.step_id)).status());
    // Keys an earlier committed attempt of the run holds: this attempt's rows
    // of them go (the first committed version wins), and those with other
    // content are reported.
    // Looked up per row of this attempt (LATERAL ... LIMIT 1, the task by its
    // key), so the cost follows the attempt's size, not the run's.
    constexpr char kDropLaterVersions[] = R"sql(
        WITH later AS (
          SELECT a.object, a.key, a.type, c.data AS first, a.data AS second
          FROM staged_objects a
            CROSS JOIN LATERAL (
              SELECT s.data FROM staged_objects s
              WHERE s.run_id = $1 AND s.object = a.object AND s.key = a.key
                AND s.task_id != a.task_id
                AND (SELECT t.commit_seq FROM tasks t
                     WHERE t.id = s.task_id AND t.attempt = s.attempt) > 0
              LIMIT 1) c
          WHERE a.task_id = $2 AND a.attempt = $3),
        dropped AS (
          DELETE FROM staged_objects a USING later l
          WHERE a.task_id = $2 AND a.attempt = $3 AND a.object = l.object
            AND a.key = l.key)
        SELECT object, key, type, first, second FROM later
        WHERE first != second ORDER BY object, key)sql";
    GM_RETURN_IF_ERROR(
        db_->ForEachRow(kDropLaterVersions, params(), [&](const PgRow& row) {
          return RecordConflict(attempt, static_cast<int>(row.Int(0)),
                                row.Text(2), row.Text(1), row.Text(3),
                                row.Text(4), 0);
        }));
    constexpr char kCopyEvents[] = R"sql(
        INSERT INTO events (run_id, time_ms, level, name, description, step_id)
        SELECT $1, CASE WHEN time_ms = 0 THEN $5 ELSE time_ms END, level,
               name, description, $4
        FROM attempt_events WHERE task_id = $2 AND attempt = $3
        ORDER BY id)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(
               kCopyEvents,
               params().Text(task.step_id).Int(absl::ToUnixMillis(absl::Now())))
            .status());
    // What the worker reported incomplete joins what this attempt's conflicts
    // made partial; all of it becomes the run's, under the task's step.
    for (const v1::Incompleteness& entry : incomplete) {
      constexpr char kInsertIncomplete[] = R"sql(
          INSERT INTO attempt_incomplete (task_id, attempt, type, scope, reason)
          VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING)sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kInsertIncomplete, PgParams()
                                            .Int(task_id)
                                            .Int(number)
                                            .Text(entry.type())
                                            .Text(entry.scope())
                                            .Text(entry.reason()))
              .status());
    }
    constexpr char kKeepIncomplete[] = R"sql(
        INSERT INTO run_incomplete (run_id, step_id, type, scope, reason)
        SELECT $1, $4, type, scope, reason FROM attempt_incomplete
        WHERE task_id = $2 AND attempt = $3
        ON CONFLICT DO NOTHING)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kKeepIncomplete, params().Text(task.step_id)).status());
    for (const char* table :
         {"attempt_events", "attempt_incomplete", "attempt_type_counts"}) {
      GM_RETURN_IF_ERROR(
          db_->Query(absl::StrCat("DELETE FROM ", table,
                                  " WHERE task_id = $1 AND attempt = $2"),
                     PgParams().Int(task_id).Int(number))
              .status());
    }
    // The commit itself: the attempt's rows become the run's.
    constexpr char kCommit[] = R"sql(
        UPDATE tasks SET state = $1, error = $2,
          commit_seq = nextval('attempt_commits')
        WHERE id = $3)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kCommit, PgParams()
                                .Int(StateCode(succeeded ? TaskState::kSucceeded
                                                         : TaskState::kFailed))
                                .Text(error)
                                .Int(task_id))
            .status());
    return NotifyReplicas(ReplicaChange::kRuns);
  });
}

absl::Status PostgresStore::ForEachStagedEntity(
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
          page, CollectRows<v1::Entity>(
                    *db_,
                    absl::StrCat("SELECT s.data FROM staged_objects s "
                                 "WHERE s.run_id = $1 AND s.object = ",
                                 kEntityObject, " AND s.type = $2 AND s.key ",
                                 inclusive ? ">=" : ">",
                                 " $3 AND ($4 = '' OR s.key <= $4) AND ",
                                 kCommitted, " ORDER BY s.key LIMIT $5"),
                    PgParams()
                        .Int(run_id)
                        .Text(type)
                        .Text(after)
                        .Text(last_key)
                        .Limit(page_size),
                    [](const PgRow& row) {
                      return Parse<v1::Entity>(row.Text(0), "staged entity");
                    }));
    }
    for (const v1::Entity& entity : page) GM_RETURN_IF_ERROR(visit(entity));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().key();
    inclusive = false;
  }
}

absl::Status PostgresStore::ForEachStagedObject(
    int64_t run_id, bool relationships, int page_size,
    const std::function<absl::Status(const std::string& data)>& visit) {
  std::string after;
  while (true) {
    std::vector<std::pair<std::string, std::string>> page;  // (key, data)
    {
      absl::MutexLock lock(&mu_);
      const std::string select_page = absl::StrCat(
          "SELECT s.key, s.data FROM staged_objects s WHERE s.run_id = $1 AND "
          "s.object = $2 AND s.key > $3 AND ",
          kCommitted, " ORDER BY s.key LIMIT $4");
      GM_ASSIGN_OR_RETURN(
          page,
          (CollectRows<std::pair<std::string, std::string>>(
              *db_, select_page,
              PgParams()
                  .Int(run_id)
                  .Int(relationships ? kRelationshipObject : kEntityObject)
                  .Text(after)
                  .Limit(page_size),
              [](const PgRow& row) {
                return std::make_pair(row.Text(0), row.Text(1));
              })));
    }
    for (const auto& [key, data] : page) GM_RETURN_IF_ERROR(visit(data));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().first;
  }
}

absl::StatusOr<bool> PostgresStore::HasStagedObjects(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = $1 "
                 "AND t.commit_seq > 0 AND EXISTS (SELECT 1 FROM "
                 "staged_objects s WHERE s.task_id = t.id AND "
                 "s.attempt = t.attempt))",
                 PgParams().Int(run_id)));
  return rows.Bool(0, 0);
}

absl::Status PostgresStore::ForEachStagedKey(
    int64_t run_id, const std::string& type,
    const std::function<void(const std::string&)>& visit) {
  // In pages, so memory stays bounded however many entities the type has.
  constexpr int kPageSize = 10000;
  std::string after;
  bool first = true;
  while (true) {
    std::vector<std::string> page;
    {
      absl::MutexLock lock(&mu_);
      GM_ASSIGN_OR_RETURN(
          page,
          CollectRows<std::string>(
              *db_,
              absl::StrCat("SELECT s.key FROM staged_objects s "
                           "WHERE s.run_id = $1 AND s.object = ",
                           kEntityObject, " AND s.type = $2 AND s.key ",
                           first ? ">=" : ">", " $3 AND ", kCommitted,
                           " ORDER BY s.key LIMIT $4"),
              PgParams().Int(run_id).Text(type).Text(after).Int(kPageSize),
              [](const PgRow& row) { return row.Text(0); }));
    }
    for (const std::string& key : page) visit(key);
    if (static_cast<int>(page.size()) < kPageSize) return absl::OkStatus();
    after = page.back();
    first = false;
  }
}

}  // namespace graphmill::coordinator
