// SqliteStore: reads of the finalized graph and snapshots of it.
#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "common/graph_json.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {

using sqlite::kEntityObject;
using sqlite::kRelationshipObject;
using sqlite::Parse;

namespace {

// WHERE clause of a graph listing: ?1 instance, ?2 object kind, ?3 type, ?4
// class, ?5 after key, ?6 limit, then one parameter per property filter (names
// are validated by the caller against the data model's property-name pattern,
// so they are safe inside a JSON path).
std::string GraphWhere(const v1::GraphFilter& filter) {
  std::string where =
      "instance_id = ?1 AND object = ?2 AND (?3 = '' OR type = ?3) AND "
      "(?4 = '' OR classes LIKE '%|' || ?4 || '|%') AND key > ?5";
  int parameter = 7;
  std::vector<std::string> names;
  for (const auto& [name, value] : filter.properties()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = absl::StrCat("'$.\"", name, "\"'");
    const v1::Value& value = filter.properties().at(name);
    switch (value.kind_case()) {
      case v1::Value::kNullValue:
      case v1::Value::KIND_NOT_SET:
        absl::StrAppend(&where, " AND json_type(props, ", path,
                        ") = 'null' AND ?", parameter, " IS NULL");
        break;
      case v1::Value::kListValue:
        absl::StrAppend(&where, " AND json(json_extract(props, ", path,
                        ")) = json(?", parameter, ")");
        break;
      case v1::Value::kBoolValue:
        absl::StrAppend(&where, " AND json_type(props, ", path,
                        ") = (CASE WHEN ?", parameter,
                        " THEN 'true' ELSE 'false' END)");
        break;
      default:
        absl::StrAppend(&where, " AND json_extract(props, ", path, ") = ?",
                        parameter);
    }
    ++parameter;
  }
  absl::StrAppend(&where, " ORDER BY key LIMIT ?6");
  return where;
}

void BindGraphFilter(SqliteStatement& select, const v1::GraphFilter& filter,
                     int64_t object, const std::string& after_key, int limit) {
  select.Bind(1, filter.instance_id()).Bind(2, object).Bind(3, filter.type());
  select.Bind(4, filter.class_name())
      .Bind(5, after_key)
      .Bind(6, int64_t{limit});
  std::vector<std::string> names;
  for (const auto& [name, value] : filter.properties()) names.push_back(name);
  std::sort(names.begin(), names.end());
  int parameter = 7;
  for (const std::string& name : names) {
    const v1::Value& value = filter.properties().at(name);
    switch (value.kind_case()) {
      case v1::Value::kBoolValue:
        select.Bind(parameter, int64_t{value.bool_value()});
        break;
      case v1::Value::kIntValue:
        select.Bind(parameter, value.int_value());
        break;
      case v1::Value::kDoubleValue:
        select.Bind(parameter, value.double_value());
        break;
      case v1::Value::kStringValue:
        select.Bind(parameter, value.string_value());
        break;
      case v1::Value::kListValue:
        select.Bind(parameter, ValueToJson(value));
        break;
      default:
        select.BindNull(parameter);
    }
    ++parameter;
  }
}

}  // namespace

template <typename Object>
absl::StatusOr<std::vector<Object>> SqliteStore::ListGraphObjects(
    const v1::GraphFilter& filter, int64_t object, const std::string& after_key,
    int limit) {
  return Read<std::vector<Object>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<Object>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(absl::StrCat("SELECT data FROM graph_objects WHERE ",
                                    GraphWhere(filter))));
        BindGraphFilter(select, filter, object, after_key, limit);
        std::vector<Object> result;
        GM_RETURN_IF_ERROR(
            select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
              GM_ASSIGN_OR_RETURN(
                  result.emplace_back(),
                  Parse<Object>(row.ColumnView(0), "graph object"));
              return absl::OkStatus();
            }));
        return result;
      });
}

absl::StatusOr<std::vector<v1::Entity>> SqliteStore::ListEntities(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Entity>(filter, kEntityObject, after_key, limit);
}

absl::StatusOr<std::vector<v1::Relationship>> SqliteStore::ListRelationships(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Relationship>(filter, kRelationshipObject,
                                            after_key, limit);
}

absl::Status SqliteStore::ForEachGraphEntity(
    const std::string& instance_id, const std::string& type,
    const std::string& first_key, const std::string& last_key, bool by_scope,
    int page_size,
    const std::function<absl::Status(const v1::Entity&, const std::string&)>&
        visit) {
  // Keyset pagination on (scope, key) or key: a read transaction per page,
  // never across `visit`. Each bound is in the SQL only when it applies, so
  // the planner walks the index from the page's start to the range's end and
  // no further (an `OR` with an unset bound would scan to the type's end).
  // By scope, the literal entity code and `scope != ''` let it use the
  // partial index graph_entities_by_scope.
  const char* order = by_scope ? "scope, key" : "key";
  bool first_page = true;
  std::string after_scope;
  std::string after_key;
  while (true) {
    std::string where = absl::Substitute(
        "instance_id = ?1 AND object = $0 AND type = ?2", kEntityObject);
    if (by_scope) absl::StrAppend(&where, " AND scope != ''");
    if (first_page) {
      absl::StrAppend(&where, by_scope ? " AND scope >= ?3" : " AND key >= ?3");
    } else {
      absl::StrAppend(
          &where, by_scope ? " AND (scope, key) > (?5, ?6)" : " AND key > ?6");
    }
    if (!last_key.empty()) {
      absl::StrAppend(&where, by_scope ? " AND scope <= ?4" : " AND key <= ?4");
    }
    const std::string sql =
        absl::StrCat("SELECT data, scope, key FROM graph_objects WHERE ", where,
                     " ORDER BY ", order, " LIMIT ?7");
    std::vector<std::pair<v1::Entity, std::string>> page;
    GM_RETURN_IF_ERROR(ReadOnly([&](SqliteDatabase& db) -> absl::Status {
      GM_ASSIGN_OR_RETURN(SqliteStatement select, db.Prepare(sql));
      select.Bind(1, instance_id).Bind(2, type);
      if (first_page) {
        select.Bind(3, first_key);
      } else {
        if (by_scope) select.Bind(5, after_scope);
        select.Bind(6, after_key);
      }
      if (!last_key.empty()) select.Bind(4, last_key);
      select.Bind(7, int64_t{page_size});
      return select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
        GM_ASSIGN_OR_RETURN(v1::Entity entity,
                            Parse<v1::Entity>(row.ColumnView(0), "entity"));
        page.emplace_back(std::move(entity), row.ColumnText(1));
        return absl::OkStatus();
      });
    }));
    for (const auto& [entity, scope] : page) {
      GM_RETURN_IF_ERROR(visit(entity, scope));
    }
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    first_page = false;
    after_scope = page.back().second;
    after_key = page.back().first.key();
  }
}

absl::StatusOr<v1::Entity> SqliteStore::GetEntity(
    const std::string& instance_id, const std::string& key) {
  return Read<v1::Entity>(
      [&](SqliteDatabase& db) -> absl::StatusOr<v1::Entity> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(
                "SELECT data FROM graph_objects WHERE instance_id = ? AND "
                "object = ? AND key = ?"));
        select.Bind(1, instance_id).Bind(2, kEntityObject).Bind(3, key);
        GM_ASSIGN_OR_RETURN(bool found, select.Step());
        if (!found) {
          return absl::NotFoundError(absl::StrCat(
              "entity '", key, "' not found in instance '", instance_id, "'"));
        }
        return Parse<v1::Entity>(select.ColumnView(0), "entity");
      });
}

absl::StatusOr<std::vector<NeighborRecord>> SqliteStore::ListNeighbors(
    const std::string& instance_id, const std::string& key, int direction,
    const std::string& class_name, const std::string& after_key, int limit) {
  return Read<std::vector<
      NeighborRecord>>([&](SqliteDatabase& db)
                           -> absl::StatusOr<std::vector<NeighborRecord>> {
    // One branch per endpoint, so each walks its endpoint index (graph_by_from,
    // graph_by_to; partial indexes, hence the literal relationship code)
    // instead of every relationship of the instance. A relationship that both
    // branches would return (a self-loop) comes from the first. ?1 instance, ?2
    // key, ?3 outgoing wanted, ?4 class, ?5 after key, ?6 limit, ?7 incoming
    // wanted.
    const std::string branch = absl::Substitute(
        "SELECT r.key AS key, r.data AS relationship, e.data AS entity, "
        "r.from_key = ?2 AS outgoing FROM graph_objects r JOIN graph_objects e "
        "ON e.instance_id = ?1 AND e.object = $0 AND e.key = (CASE WHEN "
        "r.from_key = ?2 THEN r.to_key ELSE r.from_key END) WHERE "
        "r.instance_id = ?1 AND r.object = $1 AND (?4 = '' OR r.classes = '|' "
        "|| ?4 || '|') AND r.key > ?5",
        kEntityObject, kRelationshipObject);
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare(absl::StrCat(
            "SELECT relationship, entity, outgoing FROM (", branch,
            " AND ?3 AND r.from_key = ?2 UNION ALL ", branch,
            " AND ?7 AND r.to_key = ?2 AND NOT (?3 AND r.from_key = ?2)) ORDER "
            "BY key LIMIT ?6")));
    // Directions as store.h defines them: 0 both, 1 out, 2 in.
    const bool outgoing = direction == 0 || direction == 1;
    const bool incoming = direction == 0 || direction == 2;
    select.Bind(1, instance_id)
        .Bind(2, key)
        .Bind(3, int64_t{outgoing})
        .Bind(4, class_name)
        .Bind(5, after_key)
        .Bind(6, int64_t{limit})
        .Bind(7, int64_t{incoming});
    std::vector<NeighborRecord> result;
    GM_RETURN_IF_ERROR(
        select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
          NeighborRecord& neighbor = result.emplace_back();
          GM_ASSIGN_OR_RETURN(
              neighbor.relationship,
              Parse<v1::Relationship>(row.ColumnView(0), "relationship"));
          GM_ASSIGN_OR_RETURN(neighbor.entity,
                              Parse<v1::Entity>(row.ColumnView(1), "entity"));
          neighbor.outgoing = row.ColumnInt(2) != 0;
          return absl::OkStatus();
        }));
    return result;
  });
}

absl::Status SqliteStore::Snapshot(
    const std::string& instance_id, int page_size,
    const std::function<bool(int64_t)>& header,
    const std::function<bool(const std::vector<v1::Entity>&,
                             const std::vector<v1::Relationship>&)>& page) {
  // One read transaction: a consistent view while finalize goes on (on a
  // file store, without holding up the writer).
  return ReadOnly([&](SqliteDatabase& connection) -> absl::Status {
    SqliteDatabase* db = &connection;
    GM_ASSIGN_OR_RETURN(
        SqliteStatement last,
        db->Prepare("SELECT COALESCE(MAX(sequence), 0) FROM changes"));
    GM_ASSIGN_OR_RETURN(bool ignored, last.Step());
    (void)ignored;
    if (!header(last.ColumnInt(0)))
      return absl::CancelledError("snapshot reader went away");
    for (int64_t object : {kEntityObject, kRelationshipObject}) {
      std::string after;
      while (true) {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db->Prepare("SELECT key, data FROM graph_objects WHERE "
                        "instance_id = ? AND object = ? AND key > ? "
                        "ORDER BY key LIMIT ?"));
        select.Bind(1, instance_id).Bind(2, object).Bind(3, after);
        select.Bind(4, int64_t{page_size});
        std::vector<v1::Entity> entities;
        std::vector<v1::Relationship> relationships;
        int rows = 0;
        GM_RETURN_IF_ERROR(
            select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
              ++rows;
              after = row.ColumnText(0);
              if (object == kEntityObject) {
                GM_ASSIGN_OR_RETURN(
                    entities.emplace_back(),
                    Parse<v1::Entity>(row.ColumnView(1), "entity"));
              } else {
                GM_ASSIGN_OR_RETURN(
                    relationships.emplace_back(),
                    Parse<v1::Relationship>(row.ColumnView(1), "relationship"));
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
  });
}

}  // namespace graphmill::coordinator
