// PostgresStore: integrations, instances and tokens.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

// --- Integrations ---

absl::Status PostgresStore::PutIntegration(
    const v1::IntegrationDefinition& definition) {
  absl::MutexLock lock(&mu_);
  constexpr char kPut[] = R"sql(
      INSERT INTO integrations (name, version, definition) VALUES ($1, $2, $3)
      ON CONFLICT (name) DO UPDATE
        SET version = excluded.version, definition = excluded.definition)sql";
  return db_
      ->Query(kPut, PgParams()
                        .Text(definition.name())
                        .Text(definition.version())
                        .Bytes(SerializeDeterministic(definition)))
      .status();
}

absl::StatusOr<v1::IntegrationDefinition> PostgresStore::GetIntegration(
    const std::string& name) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT definition FROM integrations WHERE name = $1",
                 PgParams().Text(name)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat("unknown integration '", name,
                     "' (no connected worker has advertised it)"));
  }
  return Parse<v1::IntegrationDefinition>(rows.Text(0, 0),
                                          "integration definition");
}

absl::StatusOr<std::vector<v1::IntegrationDefinition>>
PostgresStore::ListIntegrations() {
  absl::MutexLock lock(&mu_);
  return CollectRows<v1::IntegrationDefinition>(
      *db_, "SELECT definition FROM integrations ORDER BY name", PgParams(),
      [](const PgRow& row) {
        return Parse<v1::IntegrationDefinition>(row.Text(0), "definition");
      });
}

// --- Instances ---

namespace {

// What the settings column holds: the instance without its identity and
// timestamps.
std::string Settings(const v1::Instance& instance) {
  v1::Instance settings = instance;
  settings.clear_id();
  settings.clear_integration();
  settings.clear_created_at_ms();
  settings.clear_updated_at_ms();
  settings.clear_next_run_at_ms();
  return SerializeDeterministic(settings);
}

constexpr char kInstanceColumns[] =
    "id, integration, settings, created_ms, updated_ms";

absl::StatusOr<v1::Instance> InstanceFromRow(const PgRow& row) {
  GM_ASSIGN_OR_RETURN(v1::Instance instance,
                      Parse<v1::Instance>(row.Text(2), "instance settings"));
  instance.set_id(row.Text(0));
  instance.set_integration(row.Text(1));
  instance.set_created_at_ms(row.Int(3));
  instance.set_updated_at_ms(row.Int(4));
  return instance;
}

}  // namespace

absl::Status PostgresStore::CreateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  constexpr char kInsert[] = R"sql(
      INSERT INTO instances (id, integration, settings, created_ms, updated_ms)
      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING)sql";
  GM_ASSIGN_OR_RETURN(PgResult inserted,
                      db_->Query(kInsert, PgParams()
                                              .Text(instance.id())
                                              .Text(instance.integration())
                                              .Bytes(Settings(instance))
                                              .Int(instance.created_at_ms())
                                              .Int(instance.updated_at_ms())));
  if (inserted.affected() == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("instance '", instance.id(), "' already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Instance> PostgresStore::GetInstance(const std::string& id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query(absl::StrCat("SELECT ", kInstanceColumns,
                                              " FROM instances WHERE id = $1"),
                                 PgParams().Text(id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
  }
  return InstanceFromRow(PgRow(rows, 0));
}

absl::StatusOr<std::vector<v1::Instance>> PostgresStore::ListInstances() {
  absl::MutexLock lock(&mu_);
  return CollectRows<v1::Instance>(
      *db_,
      absl::StrCat("SELECT ", kInstanceColumns, " FROM instances ORDER BY id"),
      PgParams(), InstanceFromRow);
}

absl::Status PostgresStore::UpdateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult updated,
      db_->Query(
          "UPDATE instances SET settings = $1, updated_ms = $2 WHERE id = $3",
          PgParams()
              .Bytes(Settings(instance))
              .Int(instance.updated_at_ms())
              .Text(instance.id())));
  if (updated.affected() == 0) {
    return absl::NotFoundError(
        absl::StrCat("instance '", instance.id(), "' not found"));
  }
  return absl::OkStatus();
}

absl::Status PostgresStore::DeleteInstance(const std::string& id,
                                           int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    // The instance row is locked first, as CreateRun and Finalize do: no run
    // can start or finalize while it goes.
    GM_ASSIGN_OR_RETURN(
        PgResult exists,
        db_->Query("SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
                   PgParams().Text(id)));
    if (exists.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
    }
    GM_ASSIGN_OR_RETURN(
        PgResult active,
        db_->Query(absl::StrCat("SELECT id FROM runs WHERE instance_id = $1 "
                                "AND status IN ",
                                ActiveRunStatuses()),
                   PgParams().Text(id)));
    if (active.rows() > 0) {
      const int64_t run = active.Int(0, 0);
      return absl::FailedPreconditionError(
          absl::StrCat("instance '", id, "' has an active run ", run,
                       "; cancel it first (graphmill run cancel ", run, ")"));
    }
    GM_RETURN_IF_ERROR(LockChangeLog());
    // Subscribers see the graph go: every object is logged as deleted
    // (relationships first, then entities, as finalize orders deletions).
    constexpr char kLogDeletions[] = R"sql(
        INSERT INTO changes
          (instance_id, run_id, change, object, key, type, data, previous, time_ms)
        SELECT $1, 0, $3, object, key, type, data, data, $2 FROM graph_objects
        WHERE instance_id = $1 ORDER BY object DESC, key)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kLogDeletions,
                   PgParams().Text(id).Int(now_ms).Int(v1::CHANGE_KIND_DELETED))
            .status());
    const char* kStatements[] = {
        "DELETE FROM graph_objects WHERE instance_id = $1",
        "DELETE FROM staged_objects WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM attempt_events WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = $1)",
        "DELETE FROM attempt_incomplete WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = $1)",
        "DELETE FROM attempt_type_counts WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = $1)",
        "DELETE FROM run_incomplete WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM run_incomplete_types WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM tasks WHERE instance_id = $1",
        "DELETE FROM steps WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM step_type_counts WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM events WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM runs WHERE instance_id = $1",
        "DELETE FROM webhook_events WHERE instance_id = $1",
        "DELETE FROM patch_marks WHERE instance_id = $1",
        "DELETE FROM instances WHERE id = $1",
    };
    for (const char* sql : kStatements) {
      GM_RETURN_IF_ERROR(db_->Query(sql, PgParams().Text(id)).status());
    }
    return NotifyReplicas(ReplicaChange::kRuns);
  });
}

absl::StatusOr<int64_t> PostgresStore::GetLastScheduledSlot(
    const std::string& id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT last_slot_ms FROM instances WHERE id = $1",
                 PgParams().Text(id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
  }
  return rows.Int(0, 0);
}

absl::Status PostgresStore::SetLastScheduledSlot(const std::string& id,
                                                 int64_t slot_ms) {
  absl::MutexLock lock(&mu_);
  return db_
      ->Query("UPDATE instances SET last_slot_ms = $1 WHERE id = $2",
              PgParams().Int(slot_ms).Text(id))
      .status();
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

absl::Status PostgresStore::CreateToken(const std::string& name,
                                        v1::TokenRole role,
                                        const std::string& hash,
                                        int64_t now_ms) {
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
  // One statement: a taken name inserts nothing; a taken hash (never in
  // practice) is a unique violation.
  constexpr char kInsert[] = R"sql(
      INSERT INTO tokens (name, role, hash, created_ms) VALUES ($1, $2, $3, $4)
      ON CONFLICT (name) DO NOTHING)sql";
  absl::StatusOr<PgResult> inserted = db_->Query(
      kInsert, PgParams().Text(name).Text(role_text).Bytes(hash).Int(now_ms));
  if (absl::IsAlreadyExists(inserted.status())) {
    // Never say more about the hash.
    return absl::AlreadyExistsError(absl::StrCat(
        "token '", name, "': an identical token exists; generate another"));
  }
  GM_RETURN_IF_ERROR(inserted.status());
  if (inserted->affected() == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("token '", name, "' already exists"));
  }
  token_generation_.fetch_add(1, std::memory_order_release);
  WakeReplicas(ReplicaChange::kTokens);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TokenRecord>> PostgresStore::ListTokens() {
  absl::MutexLock lock(&mu_);
  return CollectRows<TokenRecord>(
      *db_, "SELECT name, role, created_ms FROM tokens ORDER BY name",
      PgParams(), [](const PgRow& row) -> absl::StatusOr<TokenRecord> {
        TokenRecord token;
        token.name = row.Text(0);
        token.role = TokenRoleFromText(row.Text(1));
        token.created_ms = row.Int(2);
        return token;
      });
}

absl::Status PostgresStore::RevokeToken(const std::string& name) {
  absl::MutexLock lock(&mu_);
  absl::Status status = Transaction([&]() -> absl::Status {
    // Every admin row is locked: of two revocations of the last two admin
    // tokens, the second sees one left and refuses.
    constexpr char kLockAdmins[] = R"sql(
        SELECT name FROM tokens WHERE role = 'admin'
        ORDER BY name FOR UPDATE)sql";
    GM_ASSIGN_OR_RETURN(PgResult admins, db_->Query(kLockAdmins));
    GM_ASSIGN_OR_RETURN(
        PgResult token,
        db_->Query("SELECT role FROM tokens WHERE name = $1 FOR UPDATE",
                   PgParams().Text(name)));
    if (token.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("token '", name, "' not found"));
    }
    if (token.Text(0, 0) == "admin" && admins.rows() <= 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "token '", name,
          "' is the last admin token; create another admin token first"));
    }
    GM_RETURN_IF_ERROR(
        db_->Query("DELETE FROM tokens WHERE name = $1", PgParams().Text(name))
            .status());
    return NotifyReplicas(ReplicaChange::kTokens);
  });
  if (status.ok()) token_generation_.fetch_add(1, std::memory_order_release);
  return status;
}

absl::StatusOr<TokenRecord> PostgresStore::FindTokenByHash(
    const std::string& hash) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(
          "SELECT name, role, hash, created_ms FROM tokens WHERE hash = $1",
          PgParams().Bytes(hash)));
  if (rows.rows() == 0) return absl::NotFoundError("unknown or revoked token");
  TokenRecord token;
  token.name = rows.Text(0, 0);
  token.role = TokenRoleFromText(rows.Text(0, 1));
  token.hash = rows.Text(0, 2);
  token.created_ms = rows.Int(0, 3);
  return token;
}

absl::StatusOr<bool> PostgresStore::HasAdminToken() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin')"));
  return rows.Bool(0, 0);
}

}  // namespace graphmill::coordinator
