// SqliteStore: integration definitions, instances and bearer tokens.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {

using sqlite::ActiveRunStatuses;
using sqlite::Code;
using sqlite::InstanceSettings;
using sqlite::Parse;

// --- Integrations ---

absl::Status SqliteStore::PutIntegration(
    const v1::IntegrationDefinition& definition) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO integrations VALUES (?, ?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET version = excluded.version,"
                   " definition = excluded.definition"));
  insert.Bind(1, definition.name()).Bind(2, definition.version());
  insert.BindBlob(3, SerializeDeterministic(definition));
  return insert.Run();
}

absl::StatusOr<v1::IntegrationDefinition> SqliteStore::GetIntegration(
    const std::string& name) {
  return Read<v1::IntegrationDefinition>(
      [&](SqliteDatabase& db) -> absl::StatusOr<v1::IntegrationDefinition> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare("SELECT definition FROM integrations WHERE name = ?"));
        select.Bind(1, name);
        GM_ASSIGN_OR_RETURN(bool found, select.Step());
        if (!found) {
          return absl::NotFoundError(
              absl::StrCat("unknown integration '", name,
                           "' (no connected worker has advertised it)"));
        }
        return Parse<v1::IntegrationDefinition>(select.ColumnView(0),
                                                "integration definition");
      });
}

absl::StatusOr<std::vector<v1::IntegrationDefinition>>
SqliteStore::ListIntegrations() {
  return Read<std::vector<v1::IntegrationDefinition>>(
      [&](SqliteDatabase& db)
          -> absl::StatusOr<std::vector<v1::IntegrationDefinition>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare("SELECT definition FROM integrations ORDER BY name"));
        std::vector<v1::IntegrationDefinition> result;
        GM_RETURN_IF_ERROR(
            select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
              GM_ASSIGN_OR_RETURN(result.emplace_back(),
                                  Parse<v1::IntegrationDefinition>(
                                      row.ColumnView(0), "definition"));
              return absl::OkStatus();
            }));
        return result;
      });
}

// --- Instances ---

absl::Status SqliteStore::CreateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO instances (id, integration, settings, "
                   "created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)"));
  insert.Bind(1, instance.id()).Bind(2, instance.integration());
  insert.BindBlob(3, InstanceSettings(instance));
  insert.Bind(4, instance.created_at_ms()).Bind(5, instance.updated_at_ms());
  absl::Status status = insert.Run();
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(
        absl::StrCat("instance '", instance.id(), "' already exists"));
  }
  return status;
}

namespace {

constexpr char kInstanceColumns[] =
    "id, integration, settings, created_ms, updated_ms";

absl::StatusOr<v1::Instance> InstanceFromRow(const SqliteStatement& row) {
  GM_ASSIGN_OR_RETURN(
      v1::Instance instance,
      Parse<v1::Instance>(row.ColumnView(2), "instance settings"));
  instance.set_id(row.ColumnText(0));
  instance.set_integration(row.ColumnText(1));
  instance.set_created_at_ms(row.ColumnInt(3));
  instance.set_updated_at_ms(row.ColumnInt(4));
  return instance;
}

absl::Status InstanceNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
}

}  // namespace

absl::StatusOr<v1::Instance> SqliteStore::GetInstance(const std::string& id) {
  return Read<v1::Instance>(
      [&](SqliteDatabase& db) -> absl::StatusOr<v1::Instance> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(absl::StrCat("SELECT ", kInstanceColumns,
                                    " FROM instances WHERE id = ?")));
        select.Bind(1, id);
        GM_ASSIGN_OR_RETURN(bool found, select.Step());
        if (!found) return InstanceNotFound(id);
        return InstanceFromRow(select);
      });
}

absl::StatusOr<std::vector<v1::Instance>> SqliteStore::ListInstances() {
  return Read<std::vector<v1::Instance>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<v1::Instance>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(absl::StrCat("SELECT ", kInstanceColumns,
                                    " FROM instances ORDER BY id")));
        std::vector<v1::Instance> result;
        GM_RETURN_IF_ERROR(
            select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
              GM_ASSIGN_OR_RETURN(result.emplace_back(), InstanceFromRow(row));
              return absl::OkStatus();
            }));
        return result;
      });
}

absl::Status SqliteStore::UpdateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE instances SET settings = ?, updated_ms = ? "
                   "WHERE id = ?"));
  update.BindBlob(1, InstanceSettings(instance))
      .Bind(2, instance.updated_at_ms())
      .Bind(3, instance.id());
  GM_RETURN_IF_ERROR(update.Run());
  if (db_->changes() == 0) return InstanceNotFound(instance.id());
  return absl::OkStatus();
}

absl::Status SqliteStore::DeleteInstance(const std::string& id,
                                         int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(SqliteStatement exists,
                        db_->Prepare("SELECT 1 FROM instances WHERE id = ?"));
    exists.Bind(1, id);
    GM_ASSIGN_OR_RETURN(bool found, exists.Step());
    if (!found) return InstanceNotFound(id);
    exists.Reset();  // a statement still reading would stop a DROP TABLE
    GM_ASSIGN_OR_RETURN(
        SqliteStatement active,
        db_->Prepare(absl::StrCat("SELECT id FROM runs WHERE instance_id = ? "
                                  "AND status IN ",
                                  ActiveRunStatuses())));
    active.Bind(1, id);
    GM_ASSIGN_OR_RETURN(bool busy, active.Step());
    if (busy) {
      return absl::FailedPreconditionError(absl::StrCat(
          "instance '", id, "' has an active run ", active.ColumnInt(0),
          "; cancel it first (graphmill run cancel ", active.ColumnInt(0),
          ")"));
    }
    GM_RETURN_IF_ERROR(
        DropStagedTables("SELECT id FROM runs WHERE instance_id = ?",
                         [&](SqliteStatement& s) { s.Bind(1, id); }));
    const std::string statements[] = {
        // Subscribers see the graph go: every object is logged as deleted
        // (relationships first, then entities).
        "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
        "data, previous, time_ms) SELECT ?1, 0, ?3, object, key, type, data, "
        "NULL, ?2 FROM graph_objects WHERE instance_id = ?1 "
        "ORDER BY object DESC, key",
        "DELETE FROM graph_objects WHERE instance_id = ?1",
        "DELETE FROM attempt_events WHERE task_id IN (SELECT id FROM tasks "
        "WHERE instance_id = ?1)",
        "DELETE FROM attempt_incomplete WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = ?1)",
        "DELETE FROM attempt_type_counts WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = ?1)",
        "DELETE FROM attempt_shared_keys WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = ?1)",
        "DELETE FROM run_incomplete WHERE run_id IN (SELECT id FROM runs "
        "WHERE instance_id = ?1)",
        "DELETE FROM run_incomplete_types WHERE run_id IN (SELECT id FROM "
        "runs WHERE instance_id = ?1)",
        "DELETE FROM tasks WHERE instance_id = ?1",
        "DELETE FROM steps WHERE run_id IN (SELECT id FROM runs WHERE "
        "instance_id = ?1)",
        "DELETE FROM step_type_counts WHERE run_id IN (SELECT id FROM runs "
        "WHERE instance_id = ?1)",
        "DELETE FROM events WHERE run_id IN (SELECT id FROM runs WHERE "
        "instance_id = ?1)",
        "DELETE FROM runs WHERE instance_id = ?1",
        "DELETE FROM webhook_events WHERE instance_id = ?1",
        "DELETE FROM patch_marks WHERE instance_id = ?1",
        "DELETE FROM instances WHERE id = ?1",
    };
    for (const std::string& sql : statements) {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      // Statements without ?2 and ?3 ignore them (SQLite leaves unused
      // indexes unbound).
      statement.Bind(1, id).Bind(2, now_ms).Bind(3,
                                                 Code(v1::CHANGE_KIND_DELETED));
      GM_RETURN_IF_ERROR(statement.Run());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> SqliteStore::GetLastScheduledSlot(
    const std::string& id) {
  return Read<int64_t>([&](SqliteDatabase& db) -> absl::StatusOr<int64_t> {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare("SELECT last_slot_ms FROM instances WHERE id = ?"));
    select.Bind(1, id);
    GM_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) return InstanceNotFound(id);
    return select.ColumnInt(0);
  });
}

absl::Status SqliteStore::SetLastScheduledSlot(const std::string& id,
                                               int64_t slot_ms) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE instances SET last_slot_ms = ? WHERE id = ?"));
  update.Bind(1, slot_ms).Bind(2, id);
  return update.Run();
}

// --- Tokens ---

namespace {

// How the tokens table spells roles ("" for none).
std::string TokenRoleText(v1::TokenRole role) {
  switch (role) {
    case v1::TOKEN_ROLE_ADMIN:
      return "admin";
    case v1::TOKEN_ROLE_READER:
      return "reader";
    case v1::TOKEN_ROLE_WORKER:
      return "worker";
    default:
      return "";
  }
}

v1::TokenRole TokenRoleFromText(const std::string& text) {
  if (text == "admin") return v1::TOKEN_ROLE_ADMIN;
  if (text == "reader") return v1::TOKEN_ROLE_READER;
  if (text == "worker") return v1::TOKEN_ROLE_WORKER;
  return v1::TOKEN_ROLE_UNSPECIFIED;
}

}  // namespace

absl::Status SqliteStore::CreateToken(const std::string& name,
                                      v1::TokenRole role,
                                      const std::string& hash, int64_t now_ms) {
  const std::string role_text = TokenRoleText(role);
  if (role_text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token '", name, "': role is required"));
  }
  if (hash.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token '", name, "': hash is required"));
  }
  absl::MutexLock lock(&mu_);
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(SqliteStatement exists,
                        db_->Prepare("SELECT 1 FROM tokens WHERE name = ?"));
    exists.Bind(1, name);
    GM_ASSIGN_OR_RETURN(bool taken, exists.Step());
    if (taken) {
      return absl::AlreadyExistsError(
          absl::StrCat("token '", name, "' already exists"));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare("INSERT INTO tokens (name, role, hash, created_ms) "
                     "VALUES (?, ?, ?, ?)"));
    insert.Bind(1, name).Bind(2, role_text);
    insert.BindBlob(3, hash);
    insert.Bind(4, now_ms);
    absl::Status inserted = insert.Run();
    if (absl::IsAlreadyExists(inserted)) {
      // Only the hash can collide here; never say more about it.
      return absl::AlreadyExistsError(absl::StrCat(
          "token '", name, "': an identical token exists; generate another"));
    }
    return inserted;
  });
  if (status.ok()) token_generation_.fetch_add(1, std::memory_order_release);
  return status;
}

absl::StatusOr<std::vector<TokenRecord>> SqliteStore::ListTokens() {
  return Read<std::vector<TokenRecord>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<TokenRecord>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(
                "SELECT name, role, created_ms FROM tokens ORDER BY name"));
        std::vector<TokenRecord> tokens;
        GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
          TokenRecord& token = tokens.emplace_back();
          token.name = row.ColumnText(0);
          token.role = TokenRoleFromText(row.ColumnText(1));
          token.created_ms = row.ColumnInt(2);
          return absl::OkStatus();
        }));
        return tokens;
      });
}

absl::Status SqliteStore::RevokeToken(const std::string& name) {
  absl::MutexLock lock(&mu_);
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_->Prepare("SELECT role, (SELECT COUNT(*) FROM tokens WHERE role = "
                     "'admin') FROM tokens WHERE name = ?"));
    select.Bind(1, name);
    GM_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("token '", name, "' not found"));
    }
    if (select.ColumnText(0) == "admin" && select.ColumnInt(1) <= 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "token '", name,
          "' is the last admin token; create another admin token first"));
    }
    GM_ASSIGN_OR_RETURN(SqliteStatement remove,
                        db_->Prepare("DELETE FROM tokens WHERE name = ?"));
    remove.Bind(1, name);
    return remove.Run();
  });
  if (status.ok()) token_generation_.fetch_add(1, std::memory_order_release);
  return status;
}

absl::StatusOr<TokenRecord> SqliteStore::FindTokenByHash(
    const std::string& hash) {
  return Read<TokenRecord>([&](SqliteDatabase& db)
                               -> absl::StatusOr<TokenRecord> {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare(
            "SELECT name, role, hash, created_ms FROM tokens WHERE hash = ?"));
    select.BindBlob(1, hash);
    GM_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) return absl::NotFoundError("unknown or revoked token");
    TokenRecord token;
    token.name = select.ColumnText(0);
    token.role = TokenRoleFromText(select.ColumnText(1));
    token.hash = select.ColumnBlob(2);
    token.created_ms = select.ColumnInt(3);
    return token;
  });
}

absl::StatusOr<bool> SqliteStore::HasAdminToken() {
  return Read<bool>([&](SqliteDatabase& db) -> absl::StatusOr<bool> {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare(
            "SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin')"));
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    return row && select.ColumnInt(0) != 0;
  });
}

}  // namespace graphmill::coordinator
