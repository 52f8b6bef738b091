// PostgresStore: reading the graph.
#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/graph_json.h"
#include "common/status_macros.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

// --- Graph reads ---

namespace {

// A graph listing: $1 instance, $2 object kind, $3 type, $4 class, $5 after
// key, $6 limit, then per property filter (in name order) its name and, but
// for null, its value. A property matches as SQLite's json_extract comparison
// does: by JSON type and value (numbers numerically).
std::string GraphQuery(const v1::GraphFilter& filter, PgParams& params) {
  std::string sql =
      "SELECT data FROM graph_objects WHERE instance_id = $1 AND object = $2 "
      "AND ($3 = '' OR type = $3) "
      "AND ($4 = '' OR strpos(classes, '|' || $4 || '|') > 0) AND key > $5";
  std::vector<std::string> names;
  for (const auto& [name, value] : filter.properties()) names.push_back(name);
  std::sort(names.begin(), names.end());
  int parameter = 7;
  for (const std::string& name : names) {
    const v1::Value& value = filter.properties().at(name);
    const int name_parameter = parameter++;
    params.Text(name);
    const std::string property = absl::StrCat("props -> $", name_parameter);
    switch (value.kind_case()) {
      case v1::Value::kNullValue:
      case v1::Value::KIND_NOT_SET:
        absl::StrAppend(&sql, " AND jsonb_typeof(", property, ") = 'null'");
        continue;
      case v1::Value::kListValue:
        absl::StrAppend(&sql, " AND ", property, " = $", parameter);
        params.Jsonb(JsonbSafe(ValueToJson(WithoutNonFinite(value))));
        break;
      case v1::Value::kBoolValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Bool(value.bool_value());
        break;
      case v1::Value::kIntValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Int(value.int_value());
        break;
      case v1::Value::kDoubleValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Double(value.double_value());
        break;
      case v1::Value::kStringValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Text(value.string_value());
        break;
    }
    ++parameter;
  }
  absl::StrAppend(&sql, " ORDER BY key LIMIT $6");
  return sql;
}

}  // namespace

template <typename Object>
absl::StatusOr<std::vector<Object>> PostgresStore::ListGraphObjects(
    const v1::GraphFilter& filter, int object, const std::string& after_key,
    int limit) {
  PgParams params;
  params.Text(filter.instance_id())
      .Int(object)
      .Text(filter.type())
      .Text(filter.class_name())
      .Text(after_key)
      .Limit(limit);
  const std::string sql = GraphQuery(filter, params);
  absl::MutexLock lock(&mu_);
  return CollectRows<Object>(*db_, sql, params, [](const PgRow& row) {
    return Parse<Object>(row.Text(0), "graph object");
  });
}

absl::StatusOr<std::vector<v1::Entity>> PostgresStore::ListEntities(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Entity>(filter, kEntityObject, after_key, limit);
}

absl::StatusOr<std::vector<v1::Relationship>> PostgresStore::ListRelationships(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Relationship>(filter, kRelationshipObject,
                                            after_key, limit);
}

absl::Status PostgresStore::ForEachGraphEntity(
    const std::string& instance_id, const std::string& type,
    const std::string& first_key, const std::string& last_key, bool by_scope,
    int page_size,
    const std::function<absl::Status(const v1::Entity&, const std::string&)>&
        visit) {
  // Keyset pagination on (scope, key) or key, a query per page, never across
  // `visit`. Each bound is in the SQL only when it applies, so the index is
  // walked from the page's start to the range's end and no further. By scope,
  // the literal entity code and `scope <> ''` let the planner use the partial
  // index graph_entities_by_scope.
  bool first_page = true;
  std::string after_scope;
  std::string after_key;
  while (true) {
    PgParams params;
    params.Text(instance_id).Text(type);
    std::string where = absl::StrCat(
        "instance_id = $1 AND object = ", kEntityObject, " AND type = $2");
    if (by_scope) absl::StrAppend(&where, " AND scope <> ''");
    int next = 3;
    auto bind = [&](const std::string& value) {
      params.Text(value);
      return absl::StrCat("$", next++);
    };
    if (first_page) {
      absl::StrAppend(&where, by_scope ? " AND scope >= " : " AND key >= ",
                      bind(first_key));
    } else if (by_scope) {
      const std::string scope = bind(after_scope);
      absl::StrAppend(&where, " AND (scope, key) > (", scope, ", ",
                      bind(after_key), ")");
    } else {
      absl::StrAppend(&where, " AND key > ", bind(after_key));
    }
    if (!last_key.empty()) {
      absl::StrAppend(
          &where, by_scope ? " AND scope <= " : " AND key <= ", bind(last_key));
    }
    params.Limit(page_size);
    const std::string select = absl::StrCat(
        "SELECT data, scope, key FROM graph_objects WHERE ", where,
        " ORDER BY ", by_scope ? "scope, key" : "key", " LIMIT $", next);
    std::vector<std::pair<v1::Entity, std::string>> page;
    {
      absl::MutexLock lock(&mu_);
      GM_ASSIGN_OR_RETURN(PgResult rows, db_->Query(select, params));
      for (int row = 0; row < rows.rows(); ++row) {
        GM_ASSIGN_OR_RETURN(v1::Entity entity,
                            Parse<v1::Entity>(rows.Text(row, 0), "entity"));
        page.emplace_back(std::move(entity), rows.Text(row, 1));
      }
    }
    for (const auto& [entity, scope] : page) {
      GM_RETURN_IF_ERROR(visit(entity, scope));
    }
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    first_page = false;
    after_scope = page.back().second;
    after_key = page.back().first.key();
  }
}

absl::StatusOr<v1::Entity> PostgresStore::GetEntity(
    const std::string& instance_id, const std::string& key) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelect[] = R"sql(
      SELECT data FROM graph_objects
      WHERE instance_id = $1 AND object = $3 AND key = $2)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(kSelect,
                 PgParams().Text(instance_id).Text(key).Int(kEntityObject)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat(
        "entity '", key, "' not found in instance '", instance_id, "'"));
  }
  return Parse<v1::Entity>(rows.Text(0, 0), "entity");
}

absl::StatusOr<std::vector<NeighborRecord>> PostgresStore::ListNeighbors(
    const std::string& instance_id, const std::string& key, int direction,
    const std::string& class_name, const std::string& after_key, int limit) {
  absl::MutexLock lock(&mu_);
  // The relationship kind is literal: the endpoint indexes hold only
  // relationships, and the planner uses them only for a query that says so.
  // `direction` (0 both) is compared with v1.Direction's OUT ($7) and IN ($8).
  const std::string select = absl::StrCat(R"sql(
      SELECT r.data, e.data, r.from_key = $2
      FROM graph_objects r JOIN graph_objects e
        ON e.instance_id = $1 AND e.object = )sql",
                                          kEntityObject, R"sql(
       AND e.key = (CASE WHEN r.from_key = $2 THEN r.to_key ELSE r.from_key END)
      WHERE r.instance_id = $1 AND r.object = )sql",
                                          kRelationshipObject, R"sql(
        AND (($3 != $8 AND r.from_key = $2) OR ($3 != $7 AND r.to_key = $2))
        AND ($4 = '' OR r.classes = '|' || $4 || '|') AND r.key > $5
      ORDER BY r.key LIMIT $6)sql");
  return CollectRows<NeighborRecord>(
      *db_, select,
      PgParams()
          .Text(instance_id)
          .Text(key)
          .Int(direction)
          .Text(class_name)
          .Text(after_key)
          .Limit(limit)
          .Int(v1::DIRECTION_OUT)
          .Int(v1::DIRECTION_IN),
      [](const PgRow& row) -> absl::StatusOr<NeighborRecord> {
        NeighborRecord neighbor;
        GM_ASSIGN_OR_RETURN(
            neighbor.relationship,
            Parse<v1::Relationship>(row.Text(0), "relationship"));
        GM_ASSIGN_OR_RETURN(neighbor.entity,
                            Parse<v1::Entity>(row.Text(1), "entity"));
        neighbor.outgoing = row.Bool(2);
        return neighbor;
      });
}

absl::Status PostgresStore::Snapshot(
    const std::string& instance_id, int page_size,
    const std::function<bool(int64_t)>& header,
    const std::function<bool(const std::vector<v1::Entity>&,
                             const std::vector<v1::Relationship>&)>& page) {
  // Its own connection and REPEATABLE READ transaction: a consistent view
  // while finalize goes on, without holding the store's lock.
  GM_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> db,
                      PgConnection::Open(uri_));
  GM_RETURN_IF_ERROR(
      db->Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  absl::Status status = [&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(PgResult last,
                        db->Query(absl::StrCat("SELECT ", kLastSequence)));
    if (!header(last.Int(0, 0))) {
      return absl::CancelledError("snapshot reader went away");
    }
    for (int object : {kEntityObject, kRelationshipObject}) {
      std::string after;
      while (true) {
        constexpr char kSelectPage[] = R"sql(
            SELECT key, data FROM graph_objects
            WHERE instance_id = $1 AND object = $2 AND key > $3
            ORDER BY key LIMIT $4)sql";
        std::vector<v1::Entity> entities;
        std::vector<v1::Relationship> relationships;
        int rows = 0;
        GM_RETURN_IF_ERROR(db->ForEachRow(
            kSelectPage,
            PgParams()
                .Text(instance_id)
                .Int(object)
                .Text(after)
                .Limit(page_size),
            [&](const PgRow& row) -> absl::Status {
              ++rows;
              after = row.Text(0);
              if (object == kEntityObject) {
                GM_ASSIGN_OR_RETURN(entities.emplace_back(),
                                    Parse<v1::Entity>(row.Text(1), "entity"));
              } else {
                GM_ASSIGN_OR_RETURN(
                    relationships.emplace_back(),
                    Parse<v1::Relationship>(row.Text(1), "relationship"));
              }
              return absl::OkStatus();
            }));
        if (rows > 0 && !page(entities, relationships)) {
          return absl::CancelledError("snapshot reader went away");
        }
        if (rows < page_size) break;
      }
    }
    return absl::OkStatus();
  }();
  db->Rollback();  // read-only: nothing to commit
  return status;
}

}  // namespace graphmill::coordinator
