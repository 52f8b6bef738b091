// Implementation of coordinator/api/services.h.
#include "coordinator/api/services.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/graph_objects.h"
#include "common/grpc_limits.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/auth/tokens.h"
#include "coordinator/definitions.h"
#include "coordinator/instances.h"
#include "coordinator/metrics.h"
#include "coordinator/scheduler/schedule.h"
#include "google/protobuf/io/coded_stream.h"
#include "re2/re2.h"

namespace graphmill::coordinator {
namespace {

constexpr int kDefaultPageSize = 500;
constexpr int kMaxPageSize = 5000;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Page tokens are the last key of the previous page, web-safe base64 encoded.
std::string EncodePageToken(const std::string& last_key) {
  return absl::WebSafeBase64Escape(last_key);
}

absl::StatusOr<std::string> DecodePageToken(const std::string& token) {
  std::string key;
  if (!absl::WebSafeBase64Unescape(token, &key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_token '", token, "' is not valid"));
  }
  return key;
}

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size must be between 0 and ", kMaxPageSize, ", got ", requested));
  }
  return requested == 0 ? kDefaultPageSize : requested;
}

absl::Status CheckFilter(const v1::GraphFilter& filter) {
  if (filter.instance_id().empty()) {
    return absl::InvalidArgumentError("filter.instance_id is required");
  }
  for (const auto& [name, value] : filter.properties()) {
    if (!IsValidPropertyName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filter.properties: '", name,
          "' is not a property name (^(_|tag\\.)?[A-Za-z0-9. -]+$)"));
    }
  }
  return absl::OkStatus();
}

// A watched run is "still going" while it runs and while its upload is pending
// or under way.
bool IsActive(const v1::Run& run) {
  return run.status() == v1::RUN_STATUS_VALIDATING ||
         run.status() == v1::RUN_STATUS_RUNNING ||
         run.upload().state() == v1::UPLOAD_STATE_PENDING ||
         run.upload().state() == v1::UPLOAD_STATE_UPLOADING;
}

}  // namespace

// --- Admin ---

v1::Instance AdminService::Presented(v1::Instance instance) {
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store_->GetIntegration(instance.integration());
  if (definition.ok()) {
    MaskSecrets(*definition, &instance);
  } else {
    // Without the definition secrets cannot be told apart: mask every value.
    for (auto& [name, value] : *instance.mutable_config())
      value = kMaskedSecret;
    if (instance.has_upload())
      instance.mutable_upload()->set_api_token(kMaskedSecret);
  }
  if (instance.has_schedule()) {
    absl::StatusOr<int64_t> last = store_->GetLastScheduledSlot(instance.id());
    const int64_t last_ms =
        last.ok() && *last > 0 ? *last : instance.created_at_ms();
    std::optional<absl::Time> next =
        NextRunTime(instance.schedule(), instance.id(),
                    absl::FromUnixMillis(last_ms), absl::Now());
    if (next.has_value())
      instance.set_next_run_at_ms(absl::ToUnixMillis(*next));
  }
  return instance;
}

grpc::Status AdminService::ListIntegrations(
    grpc::ServerContext*, const v1::ListIntegrationsRequest*,
    v1::ListIntegrationsResponse* response) {
  absl::StatusOr<std::vector<v1::IntegrationDefinition>> list =
      store_->ListIntegrations();
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (auto& definition : *list)
    *response->add_integrations() = std::move(definition);
  return grpc::Status::OK;
}

grpc::Status AdminService::CreateInstance(
    grpc::ServerContext*, const v1::CreateInstanceRequest* request,
    v1::Instance* response) {
  v1::Instance instance = request->instance();
  if (!IsValidInstanceId(instance.id())) {
    return Invalid(
        absl::StrCat("instance id '", instance.id(),
                     "' is not valid: use 1-63 lower-case letters, digits and "
                     "'-', starting with a letter or digit"));
  }
  if (instance.integration().empty()) {
    return Invalid(absl::StrCat("instance '", instance.id(),
                                "': integration is required"));
  }
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store_->GetIntegration(instance.integration());
  if (!definition.ok()) {
    return Invalid(absl::StrCat("instance '", instance.id(),
                                "': ", definition.status().message()));
  }
  instance.clear_next_run_at_ms();
  absl::Status valid = ValidateInstanceSettings(*definition, instance);
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::Status sealed = secrets_->Seal(*definition, &instance);
  if (!sealed.ok()) return ToGrpcStatus(sealed);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  instance.set_created_at_ms(now);
  instance.set_updated_at_ms(now);
  absl::Status created = store_->CreateInstance(instance);
  if (!created.ok()) return ToGrpcStatus(created);
  LogInfo("instance '", instance.id(), "' created (", instance.integration(),
          ")");
  *response = Presented(std::move(instance));
  engine_->NotifyExternalChange();
  return grpc::Status::OK;
}

grpc::Status AdminService::UpdateInstance(
    grpc::ServerContext*, const v1::UpdateInstanceRequest* request,
    v1::Instance* response) {
  absl::StatusOr<v1::Instance> stored =
      store_->GetInstance(request->instance().id());
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store_->GetIntegration(stored->integration());
  if (!definition.ok()) return ToGrpcStatus(definition.status());
  absl::StatusOr<v1::Instance> merged =
      MergeUpdate(*definition, *stored, request->instance());
  if (!merged.ok()) return ToGrpcStatus(merged.status());
  v1::Instance updated = *std::move(merged);
  updated.clear_next_run_at_ms();
  absl::Status valid = ValidateInstanceSettings(*definition, updated);
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::Status sealed = secrets_->Seal(*definition, &updated);
  if (!sealed.ok()) return ToGrpcStatus(sealed);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  updated.set_updated_at_ms(now);
  absl::Status status = store_->UpdateInstance(updated);
  if (!status.ok()) return ToGrpcStatus(status);
  // A changed schedule starts from now: the change is not a missed slot to
  // catch up on.
  if (SerializeDeterministic(updated.schedule()) !=
      SerializeDeterministic(stored->schedule())) {
    status = store_->SetLastScheduledSlot(updated.id(), now);
    if (!status.ok()) return ToGrpcStatus(status);
  }
  LogInfo("instance '", updated.id(), "' updated");
  *response = Presented(std::move(updated));
  engine_->NotifyExternalChange();
  return grpc::Status::OK;
}

grpc::Status AdminService::DeleteInstance(
    grpc::ServerContext*, const v1::DeleteInstanceRequest* request,
    v1::DeleteInstanceResponse*) {
  absl::Status status = store_->DeleteInstance(request->instance_id(),
                                               absl::ToUnixMillis(absl::Now()));
  if (!status.ok()) return ToGrpcStatus(status);
  LogInfo("instance '", request->instance_id(), "' deleted");
  engine_->NotifyExternalChange();
  return grpc::Status::OK;
}

grpc::Status AdminService::ValidateInstance(
    grpc::ServerContext*, const v1::ValidateInstanceRequest* request,
    v1::ValidateInstanceResponse* response) {
  absl::StatusOr<v1::ValidateInstanceResponse> result =
      engine_->ValidateInstance(request->instance_id(), absl::Seconds(60));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status AdminService::RetryUpload(grpc::ServerContext*,
                                       const v1::RetryUploadRequest* request,
                                       v1::Run* response) {
  if (uploader_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "uploads are not enabled");
  }
  absl::Status status = uploader_->Retry(request->run_id());
  if (!status.ok()) return ToGrpcStatus(status);
  absl::StatusOr<v1::Run> run = store_->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = std::move(*run);
  return grpc::Status::OK;
}

grpc::Status AdminService::CancelRun(grpc::ServerContext*,
                                     const v1::CancelRunRequest* request,
                                     v1::Run* response) {
  // The store cannot tell an unknown run from one that has ended (both leave
  // nothing to cancel); only the latter is a FAILED_PRECONDITION.
  absl::Status exists = store_->GetRun(request->run_id()).status();
  if (!exists.ok()) return ToGrpcStatus(exists);
  absl::StatusOr<v1::Run> run = engine_->CancelRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = std::move(*run);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetInstance(grpc::ServerContext*,
                                       const v1::GetInstanceRequest* request,
                                       v1::Instance* response) {
  absl::StatusOr<v1::Instance> instance =
      store_->GetInstance(request->instance_id());
  if (!instance.ok()) return ToGrpcStatus(instance.status());
  *response = Presented(std::move(*instance));
  return grpc::Status::OK;
}

grpc::Status AdminService::ListInstances(grpc::ServerContext*,
                                         const v1::ListInstancesRequest*,
                                         v1::ListInstancesResponse* response) {
  absl::StatusOr<std::vector<v1::Instance>> instances = store_->ListInstances();
  if (!instances.ok()) return ToGrpcStatus(instances.status());
  for (auto& instance : *instances) {
    *response->add_instances() = Presented(std::move(instance));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::StartRun(grpc::ServerContext*,
                                    const v1::StartRunRequest* request,
                                    v1::Run* response) {
  if (request->instance_id().empty()) return Invalid("instance_id is required");
  absl::StatusOr<v1::Run> run = engine_->StartRun(request->instance_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = std::move(*run);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetRun(grpc::ServerContext*,
                                  const v1::GetRunRequest* request,
                                  v1::GetRunResponse* response) {
  absl::StatusOr<v1::Run> run = store_->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  absl::StatusOr<std::vector<v1::Event>> events =
      store_->ListEvents(request->run_id(), 0);
  if (!events.ok()) return ToGrpcStatus(events.status());
  *response->mutable_run() = std::move(*run);
  for (auto& event : *events) *response->add_events() = std::move(event);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListRuns(grpc::ServerContext*,
                                    const v1::ListRunsRequest* request,
                                    v1::ListRunsResponse* response) {
  if (request->limit() < 0) return Invalid("limit must not be negative");
  absl::StatusOr<std::vector<v1::Run>> runs = store_->ListRuns(
      request->instance_id(), request->limit() == 0 ? 50 : request->limit());
  if (!runs.ok()) return ToGrpcStatus(runs.status());
  for (auto& run : *runs) *response->add_runs() = std::move(run);
  return grpc::Status::OK;
}

grpc::Status AdminService::WatchRun(grpc::ServerContext* context,
                                    const v1::WatchRunRequest* request,
                                    grpc::ServerWriter<v1::RunUpdate>* writer) {
  int64_t seen_version = -1;
  int64_t last_event = 0;
  std::string last_sent;
  while (!context->IsCancelled()) {
    const int64_t version =
        engine_->WaitForChange(seen_version, absl::Seconds(1));
    seen_version = version;
    absl::StatusOr<v1::Run> run = store_->GetRun(request->run_id());
    if (!run.ok()) return ToGrpcStatus(run.status());
    absl::StatusOr<std::vector<v1::Event>> events =
        store_->ListEvents(request->run_id(), last_event);
    if (!events.ok()) return ToGrpcStatus(events.status());
    const std::string snapshot = SerializeDeterministic(*run);
    if (snapshot == last_sent && events->empty()) continue;
    v1::RunUpdate update;
    *update.mutable_run() = *run;
    for (auto& event : *events) {
      last_event = event.sequence();
      *update.add_new_events() = std::move(event);
    }
    if (!writer->Write(update)) return grpc::Status::OK;
    last_sent = snapshot;
    if (!IsActive(*run)) return grpc::Status::OK;
  }
  return grpc::Status::OK;
}

// --- Admin: tokens ---

grpc::Status AdminService::CreateToken(grpc::ServerContext*,
                                       const v1::CreateTokenRequest* request,
                                       v1::CreateTokenResponse* response) {
  const std::string& name = request->name();
  if (name.empty()) return Invalid("name is required");
  if (name.size() > 64) return Invalid("name is longer than 64 characters");
  if (!IsValidTokenName(name)) {
    return Invalid(absl::StrCat(
        "name '", name,
        "' is not valid: use lower-case letters, digits, '.', '_' and '-', "
        "starting with a letter or digit"));
  }
  if (request->role() == v1::TOKEN_ROLE_UNSPECIFIED) {
    return Invalid("role is required (admin, reader or worker)");
  }
  const std::optional<Role> role = RoleFromProto(request->role());
  if (!role.has_value()) {
    return Invalid(absl::StrCat("role ", static_cast<int>(request->role()),
                                " is not valid (admin, reader or worker)"));
  }
  absl::StatusOr<std::string> token = GenerateToken();
  if (!token.ok()) return ToGrpcStatus(token.status());
  absl::Status created =
      store_->CreateToken(name, request->role(), HashToken(*token),
                          absl::ToUnixMillis(absl::Now()));
  if (!created.ok()) return ToGrpcStatus(created);
  LogInfo("token '", name, "' created (role ", RoleName(*role), ")");
  response->set_token(*std::move(token));
  response->set_name(name);
  response->set_role(request->role());
  return grpc::Status::OK;
}

grpc::Status AdminService::ListTokens(grpc::ServerContext*,
                                      const v1::ListTokensRequest*,
                                      v1::ListTokensResponse* response) {
  absl::StatusOr<std::vector<TokenRecord>> tokens = store_->ListTokens();
  if (!tokens.ok()) return ToGrpcStatus(tokens.status());
  for (const TokenRecord& token : *tokens) {
    v1::TokenInfo& info = *response->add_tokens();
    info.set_name(token.name);
    info.set_role(token.role);
    info.set_created_at_ms(token.created_ms);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::RevokeToken(grpc::ServerContext*,
                                       const v1::RevokeTokenRequest* request,
                                       v1::RevokeTokenResponse*) {
  if (request->name().empty()) return Invalid("name is required");
  absl::Status status = store_->RevokeToken(request->name());
  if (!status.ok()) return ToGrpcStatus(status);
  LogInfo("token '", request->name(), "' revoked");
  return grpc::Status::OK;
}

// --- Graph ---

namespace {

// Objects read from the store per query at the start of a page. Kept small
// because each may carry MBs of raw data; later reads are sized from the
// objects seen (see FillPage).
constexpr int kFirstStoreRead = 16;
// Objects per store page while a snapshot streams: the store holds one such
// page in memory, raw data included.
constexpr int kSnapshotStorePage = 100;

// Bytes a message of `body` bytes adds to its parent as an element of a
// repeated field (field numbers below 16): tag, length, body.
size_t WireBytes(size_t body) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(body) + body;
}

// Bytes the next_page_token after `key` adds to a reply.
size_t TokenWireBytes(const std::string& key) {
  return WireBytes((key.size() + 2) / 3 * 4);
}

// Raw data leaves only when the caller asks for it.
void Trim(bool include_raw_data, v1::Entity& entity) {
  if (!include_raw_data) entity.clear_raw_data();
}
void Trim(bool, v1::Relationship&) {}
void Trim(bool include_raw_data, v1::Neighbor& neighbor) {
  Trim(include_raw_data, *neighbor.mutable_entity());
}

// Whether the object (as it will be sent) carries raw data: then it can be
// read without.
bool CarriesRawData(const v1::Entity& entity) {
  return entity.raw_data_size() > 0;
}
bool CarriesRawData(const v1::Relationship&) { return false; }
bool CarriesRawData(const v1::Neighbor& neighbor) {
  return CarriesRawData(neighbor.entity());
}

// The key a list call pages by.
const std::string& PagingKey(const v1::Entity& entity) { return entity.key(); }
const std::string& PagingKey(const v1::Relationship& relationship) {
  return relationship.key();
}
const std::string& PagingKey(const v1::Neighbor& neighbor) {
  return neighbor.relationship().key();
}

// How an error names the object.
std::string Describe(const v1::Entity& entity) {
  return absl::StrCat("entity '", entity.key(), "'");
}
std::string Describe(const v1::Relationship& relationship) {
  return absl::StrCat("relationship '", relationship.key(), "'");
}
std::string Describe(const v1::Neighbor& neighbor) {
  return absl::StrCat("neighbor entity '", neighbor.entity().key(),
                      "' (relationship '", neighbor.relationship().key(), "')");
}

// An object that cannot travel in one message even on its own. Named, with its
// size, so the caller learns what to read differently instead of seeing gRPC's
// opaque "Received message larger than max".
absl::Status TooLarge(const std::string& what, size_t bytes,
                      bool with_raw_data) {
  return absl::ResourceExhaustedError(absl::StrCat(
      what, " is ", bytes, " bytes", with_raw_data ? " with raw data" : "",
      ", more than the ", kMaxGrpcMessageBytes, "-byte message limit",
      with_raw_data ? "; read it without raw data (include_raw_data = false)"
                    : ""));
}

// Fills one page of a Graph list call. `read(after, limit)` returns up to
// `limit` objects with a paging key greater than `after`, in key order; `add`
// appends one to the reply. Objects are added while the page stays within
// `page_size` objects and kGraphPageBytes (always at least one), and
// `next_page_token` is set, to continue after the last one added, only when
// another object follows.
template <typename Object, typename Read, typename Add>
absl::Status FillPage(std::string after, int page_size, bool include_raw_data,
                      Read read, Add add, std::string* next_page_token) {
  size_t page_bytes = 0;
  int count = 0;
  // One more than the page holds tells whether another page follows.
  int limit = std::min(page_size + 1, kFirstStoreRead);
  while (true) {
    GM_ASSIGN_OR_RETURN(std::vector<Object> objects, read(after, limit));
    for (Object& object : objects) {
      Trim(include_raw_data, object);
      const size_t bytes = WireBytes(object.ByteSizeLong());
      if (count == page_size ||
          (count > 0 && page_bytes + bytes > kGraphPageBytes)) {
        *next_page_token = EncodePageToken(after);
        return absl::OkStatus();
      }
      if (bytes + TokenWireBytes(PagingKey(object)) > kMaxGrpcMessageBytes) {
        return TooLarge(Describe(object), object.ByteSizeLong(),
                        CarriesRawData(object));
      }
      after = PagingKey(object);
      page_bytes += bytes;
      ++count;
      add(std::move(object));
    }
    if (static_cast<int>(objects.size()) < limit) return absl::OkStatus();
    // The store may hold more: read about as many as the rest of the budget
    // takes at the average size so far, plus the look-ahead, so large objects
    // are not read only to be dropped.
    const size_t average = std::max<size_t>(page_bytes / count, 1);
    const size_t left = page_bytes < kGraphPageBytes
                            ? kGraphPageBytes - page_bytes
                            : 0;  // one object larger than the budget
    const size_t fit = left / average;
    limit = static_cast<int>(
        std::min<size_t>(fit + 1, static_cast<size_t>(page_size - count + 1)));
  }
}

}  // namespace

absl::Status GraphService::CheckInstance(const std::string& instance_id,
                                         const std::string& field) {
  if (instance_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  return store_->GetInstance(instance_id).status();
}

grpc::Status GraphService::ListEntities(grpc::ServerContext*,
                                        const v1::ListEntitiesRequest* request,
                                        v1::ListEntitiesResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    GM_RETURN_IF_ERROR(CheckFilter(request->filter()));
    GM_ASSIGN_OR_RETURN(int page_size, PageSize(request->page_size()));
    GM_ASSIGN_OR_RETURN(std::string after,
                        DecodePageToken(request->page_token()));
    GM_RETURN_IF_ERROR(
        CheckInstance(request->filter().instance_id(), "filter.instance_id"));
    return FillPage<v1::Entity>(
        std::move(after), page_size, request->include_raw_data(),
        [&](const std::string& after_key, int limit) {
          return store_->ListEntities(request->filter(), after_key, limit);
        },
        [&](v1::Entity entity) {
          *response->add_entities() = std::move(entity);
        },
        response->mutable_next_page_token());
  }());
}

grpc::Status GraphService::ListRelationships(
    grpc::ServerContext*, const v1::ListRelationshipsRequest* request,
    v1::ListRelationshipsResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    GM_RETURN_IF_ERROR(CheckFilter(request->filter()));
    GM_ASSIGN_OR_RETURN(int page_size, PageSize(request->page_size()));
    GM_ASSIGN_OR_RETURN(std::string after,
                        DecodePageToken(request->page_token()));
    GM_RETURN_IF_ERROR(
        CheckInstance(request->filter().instance_id(), "filter.instance_id"));
    return FillPage<v1::Relationship>(
        std::move(after), page_size, /*include_raw_data=*/false,
        [&](const std::string& after_key, int limit) {
          return store_->ListRelationships(request->filter(), after_key, limit);
        },
        [&](v1::Relationship relationship) {
          *response->add_relationships() = std::move(relationship);
        },
        response->mutable_next_page_token());
  }());
}

grpc::Status GraphService::GetEntity(grpc::ServerContext*,
                                     const v1::GetEntityRequest* request,
                                     v1::Entity* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    GM_RETURN_IF_ERROR(CheckInstance(request->instance_id(), "instance_id"));
    GM_ASSIGN_OR_RETURN(
        v1::Entity entity,
        store_->GetEntity(request->instance_id(), request->key()));
    Trim(request->include_raw_data(), entity);
    if (entity.ByteSizeLong() > kMaxGrpcMessageBytes) {
      return TooLarge(Describe(entity), entity.ByteSizeLong(),
                      CarriesRawData(entity));
    }
    *response = std::move(entity);
    return absl::OkStatus();
  }());
}

grpc::Status GraphService::ListNeighbors(
    grpc::ServerContext*, const v1::ListNeighborsRequest* request,
    v1::ListNeighborsResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    if (request->instance_id().empty()) {
      return absl::InvalidArgumentError("instance_id is required");
    }
    if (request->key().empty()) {
      return absl::InvalidArgumentError("key is required");
    }
    if (!v1::Direction_IsValid(request->direction())) {
      return absl::InvalidArgumentError(
          absl::StrCat("direction: ", request->direction(),
                       " is not a Direction (0 both, 1 out, 2 in)"));
    }
    GM_ASSIGN_OR_RETURN(int page_size, PageSize(request->page_size()));
    GM_ASSIGN_OR_RETURN(std::string after,
                        DecodePageToken(request->page_token()));
    GM_RETURN_IF_ERROR(CheckInstance(request->instance_id(), "instance_id"));
    // NOT_FOUND names the key when the entity itself is absent.
    GM_RETURN_IF_ERROR(
        store_->GetEntity(request->instance_id(), request->key()).status());
    const int direction = request->direction() == v1::DIRECTION_OUT  ? 1
                          : request->direction() == v1::DIRECTION_IN ? 2
                                                                     : 0;
    return FillPage<v1::Neighbor>(
        std::move(after), page_size, request->include_raw_data(),
        [&](const std::string& after_key,
            int limit) -> absl::StatusOr<std::vector<v1::Neighbor>> {
          GM_ASSIGN_OR_RETURN(
              std::vector<NeighborRecord> records,
              store_->ListNeighbors(request->instance_id(), request->key(),
                                    direction, request->relationship_class(),
                                    after_key, limit));
          std::vector<v1::Neighbor> neighbors(records.size());
          for (size_t i = 0; i < records.size(); ++i) {
            *neighbors[i].mutable_relationship() =
                std::move(records[i].relationship);
            *neighbors[i].mutable_entity() = std::move(records[i].entity);
            neighbors[i].set_direction(records[i].outgoing ? v1::DIRECTION_OUT
                                                           : v1::DIRECTION_IN);
          }
          return neighbors;
        },
        [&](v1::Neighbor neighbor) {
          *response->add_neighbors() = std::move(neighbor);
        },
        response->mutable_next_page_token());
  }());
}

namespace {

// A change-log row as the event a subscriber receives; entities' raw data only
// if asked.
absl::StatusOr<v1::ChangeEvent> ToChangeEvent(const ChangeRecord& change,
                                              bool include_raw_data) {
  v1::ChangeEvent event;
  event.set_sequence(change.sequence);
  event.set_kind(change.kind);
  event.set_instance_id(change.instance_id);
  event.set_run_id(change.run_id);
  event.set_time_ms(change.time_ms);
  const bool ok =
      change.is_relationship
          ? event.mutable_relationship()->ParseFromString(change.data) &&
                (change.previous.empty() ||
                 event.mutable_previous_relationship()->ParseFromString(
                     change.previous))
          : event.mutable_entity()->ParseFromString(change.data) &&
                (change.previous.empty() ||
                 event.mutable_previous_entity()->ParseFromString(
                     change.previous));
  if (!ok) {
    return absl::DataLossError(
        absl::StrCat("change ", change.sequence, " is corrupt"));
  }
  if (event.has_entity()) Trim(include_raw_data, *event.mutable_entity());
  if (event.has_previous_entity()) {
    Trim(include_raw_data, *event.mutable_previous_entity());
  }
  if (event.ByteSizeLong() > kMaxGrpcMessageBytes) {
    return TooLarge(
        absl::StrCat("change ", change.sequence, " (",
                     change.is_relationship ? Describe(event.relationship())
                                            : Describe(event.entity()),
                     ")"),
        event.ByteSizeLong(),
        CarriesRawData(event.entity()) ||
            CarriesRawData(event.previous_entity()));
  }
  return event;
}

// Checks a Subscribe request's fields before anything is read.
absl::Status CheckSubscribeFields(const v1::SubscribeRequest& request) {
  if (request.after_sequence() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "after_sequence must not be negative, got ", request.after_sequence()));
  }
  // proto3 enums are open: any number parses, so an unknown kind would
  // otherwise filter out every change without a word.
  for (int kind : request.kinds()) {
    if (!v1::ChangeKind_IsValid(kind)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kinds: ", kind,
          " is not a ChangeKind (1 created, 2 updated, 3 deleted)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string GraphService::CallerKey(const grpc::ServerContext& context) const {
  if (authorizer_ != nullptr) {
    absl::StatusOr<Caller> caller = authorizer_->CallerOf(context);
    if (caller.ok()) return absl::StrCat("token ", caller->token_name);
  }
  return absl::StrCat("peer ", context.peer());
}

grpc::Status GraphService::Subscribe(
    grpc::ServerContext* context, const v1::SubscribeRequest* request,
    grpc::ServerWriter<v1::ChangeEvent>* writer) {
  absl::Status valid = CheckSubscribeFields(*request);
  if (!valid.ok()) return ToGrpcStatus(valid);
  // Held until the stream ends.
  absl::StatusOr<StreamLimiter::Slot> slot =
      subscriptions_.Acquire(CallerKey(*context));
  if (!slot.ok()) return ToGrpcStatus(slot.status());
  std::unique_ptr<RE2> type_pattern;
  std::unique_ptr<RE2> class_pattern;
  for (auto [pattern, field, compiled] :
       {std::tuple{&request->type_pattern(), "type_pattern", &type_pattern},
        std::tuple{&request->class_pattern(), "class_pattern",
                   &class_pattern}}) {
    if (pattern->empty()) continue;
    *compiled = std::make_unique<RE2>(*pattern, RE2::Quiet);
    if (!(*compiled)->ok()) {
      return Invalid(
          absl::StrCat(field, " '", *pattern,
                       "' is not a valid RE2 pattern: ", (*compiled)->error()));
    }
  }
  // An unknown instance would match nothing, and the stream would wait for
  // changes that can never come.
  for (int i = 0; i < request->instance_ids_size(); ++i) {
    absl::Status known = CheckInstance(request->instance_ids(i),
                                       absl::StrCat("instance_ids[", i, "]"));
    if (!known.ok()) return ToGrpcStatus(known);
  }
  const std::set<std::string> instances(request->instance_ids().begin(),
                                        request->instance_ids().end());
  std::set<int> kinds(request->kinds().begin(), request->kinds().end());
  kinds.erase(v1::CHANGE_KIND_UNSPECIFIED);
  int64_t position = request->after_sequence();
  CoordinatorMetrics::Subscriber subscriber(position);  // count and lag
  while (!context->IsCancelled()) {
    // Read the version before the log, so a change committed in between wakes
    // us.
    const int64_t version = engine_ != nullptr ? engine_->ChangeVersion() : 0;
    absl::StatusOr<ChangeLogBounds> bounds = store_->GetChangeLogBounds();
    if (!bounds.ok()) return ToGrpcStatus(bounds.status());
    CoordinatorMetrics::Get().ChangeLog(bounds);
    if (position < bounds->pruned_through) {
      return grpc::Status(
          grpc::StatusCode::OUT_OF_RANGE,
          absl::StrCat("changes after sequence ", position,
                       " are no longer retained; the earliest available is ",
                       bounds->pruned_through + 1,
                       "; take a snapshot (GetSnapshot) and subscribe from its "
                       "sequence"));
    }
    constexpr int kPage = 500;
    absl::StatusOr<std::vector<ChangeRecord>> changes =
        store_->ReadChanges(position, kPage);
    if (!changes.ok()) return ToGrpcStatus(changes.status());
    for (const ChangeRecord& change : *changes) {
      position = change.sequence;
      subscriber.At(position);
      if (!instances.empty() && !instances.contains(change.instance_id))
        continue;
      if (!kinds.empty() && !kinds.contains(change.kind)) continue;
      if (type_pattern && !RE2::FullMatch(change.type, *type_pattern)) continue;
      absl::StatusOr<v1::ChangeEvent> event =
          ToChangeEvent(change, request->include_raw_data());
      if (!event.ok()) return ToGrpcStatus(event.status());
      if (class_pattern) {
        bool match = false;
        if (event->has_entity()) {
          for (const std::string& c : event->entity().classes()) {
            match |= RE2::FullMatch(c, *class_pattern);
          }
        } else {
          match = RE2::FullMatch(event->relationship().class_name(),
                                 *class_pattern);
        }
        if (!match) continue;
      }
      // Blocks while the subscriber is slow (flow control); nothing else waits
      // on it.
      if (!writer->Write(*event)) return grpc::Status::OK;
      subscriber.Sent();
    }
    if (static_cast<int>(changes->size()) < kPage) {
      if (engine_ == nullptr) return grpc::Status::OK;
      engine_->WaitForChange(version, absl::Seconds(1));
    }
  }
  return grpc::Status::OK;
}

grpc::Status GraphService::GetSnapshot(
    grpc::ServerContext* context, const v1::GetSnapshotRequest* request,
    grpc::ServerWriter<v1::SnapshotChunk>* writer) {
  absl::Status known = CheckInstance(request->instance_id(), "instance_id");
  if (!known.ok()) return ToGrpcStatus(known);
  const bool include_raw_data = request->include_raw_data();
  // Objects gather into a chunk until the next would take it over
  // kGraphPageBytes; a chunk always holds at least one.
  v1::SnapshotChunk chunk;
  size_t chunk_bytes = 0;
  // Set when the service, not the reader, ends the stream early.
  absl::Status refused;
  auto send = [&]() {
    if (chunk_bytes == 0) return true;
    const bool sent = !context->IsCancelled() && writer->Write(chunk);
    chunk.Clear();
    chunk_bytes = 0;
    return sent;
  };
  // Adds `object` (already trimmed) to the chunk, sending the chunk first if
  // it is full. False when the stream is over.
  auto add = [&](auto object, auto* field) {
    const size_t bytes = WireBytes(object.ByteSizeLong());
    if (bytes > kMaxGrpcMessageBytes) {
      refused = TooLarge(Describe(object), object.ByteSizeLong(),
                         CarriesRawData(object));
      return false;
    }
    if (chunk_bytes > 0 && chunk_bytes + bytes > kGraphPageBytes && !send()) {
      return false;
    }
    *field->Add() = std::move(object);
    chunk_bytes += bytes;
    return true;
  };
  absl::Status status = store_->Snapshot(
      request->instance_id(), kSnapshotStorePage,
      [&](int64_t sequence) {
        v1::SnapshotChunk header;
        header.set_as_of_sequence(sequence);
        return !context->IsCancelled() && writer->Write(header);
      },
      [&](const std::vector<v1::Entity>& entities,
          const std::vector<v1::Relationship>& relationships) {
        for (const v1::Entity& stored : entities) {
          v1::Entity entity = stored;
          Trim(include_raw_data, entity);
          if (!add(std::move(entity), chunk.mutable_entities())) return false;
        }
        for (const v1::Relationship& relationship : relationships) {
          if (!add(relationship, chunk.mutable_relationships())) return false;
        }
        return true;
      });
  if (!refused.ok()) return ToGrpcStatus(refused);
  if (!status.ok()) return ToGrpcStatus(status);
  if (!send()) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        "snapshot reader went away");
  }
  return grpc::Status::OK;
}

// --- WorkerGateway ---

grpc::Status WorkerGatewayService::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::WorkerMessage>*
        stream) {
  v1::WorkerMessage message;
  if (!stream->Read(&message)) return grpc::Status::OK;
  if (!message.has_hello())
    return Invalid("the first message on Connect must be a hello");
  // Writes come from the session's SendQueue thread (coordinator/send_queue),
  // never under the engine's lock; the mutex makes the end of this call wait
  // for a write in progress.
  auto write_mutex = std::make_shared<std::mutex>();
  auto send = [stream, write_mutex,
               context](const v1::CoordinatorMessage& out) {
    std::lock_guard<std::mutex> lock(*write_mutex);
    if (context->IsCancelled()) return false;
    return stream->Write(out);
  };
  absl::StatusOr<int64_t> session =
      engine_->ConnectWorker(message.hello(), send);
  if (!session.ok()) {
    LogWarn("rejected worker: ", session.status().ToString());
    return ToGrpcStatus(session.status());
  }
  while (stream->Read(&message)) {
    if (message.has_heartbeat()) {
      engine_->Heartbeat(*session, message.heartbeat());
    } else if (message.has_draining()) {
      engine_->Drain(*session);
    } else if (message.has_rate_limited()) {
      engine_->RateLimited(*session, message.rate_limited().attempt());
    }
  }
  engine_->DisconnectWorker(*session);
  // Wait for any write in progress before the stream object goes away.
  std::lock_guard<std::mutex> lock(*write_mutex);
  return grpc::Status::OK;
}

grpc::Status WorkerGatewayService::SubmitResults(
    grpc::ServerContext*, grpc::ServerReader<v1::TaskResultMessage>* reader,
    v1::SubmitResultsResponse* response) {
  v1::TaskResultMessage message;
  if (!reader->Read(&message) || !message.has_attempt()) {
    return Invalid("SubmitResults must start with the task attempt");
  }
  const v1::TaskAttempt attempt = message.attempt();
  int64_t accepted = 0;
  while (reader->Read(&message)) {
    if (message.has_batch()) {
      absl::StatusOr<int64_t> stored =
          engine_->AcceptBatch(attempt, message.batch());
      if (!stored.ok()) return ToGrpcStatus(stored.status());
      accepted += *stored;
    } else if (message.has_outcome()) {
      absl::Status status = engine_->FinishAttempt(attempt, message.outcome());
      if (!status.ok()) return ToGrpcStatus(status);
      response->set_accepted(accepted);
      return grpc::Status::OK;
    } else {
      return Invalid("SubmitResults: expected a batch or the outcome");
    }
  }
  // The stream ended without an outcome: the worker went away; the lease will
  // lapse.
  return grpc::Status(
      grpc::StatusCode::ABORTED,
      absl::StrCat("task ", attempt.task_id(), " attempt ", attempt.attempt(),
                   ": results ended without an outcome"));
}

grpc::Status WorkerGatewayService::ReadEntities(
    grpc::ServerContext* context, const v1::ReadEntitiesRequest* request,
    grpc::ServerWriter<v1::EntityBatch>* writer) {
  absl::Status status =
      engine_->ReadEntities(*request, [&](const v1::EntityBatch& batch) {
        return !context->IsCancelled() && writer->Write(batch);
      });
  return ToGrpcStatus(status);
}

}  // namespace graphmill::coordinator
