// Implementation of coordinator/api/services.h.
#include "coordinator/api/services.h"

#include <algorithm>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/graph_objects.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/definitions.h"
#include "coordinator/instances.h"
#include "coordinator/scheduler/schedule.h"
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
  v1::Instance updated = MergeUpdate(*definition, *stored, request->instance());
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

// --- Graph ---

namespace {

// One page of a Graph list call: `list` reads up to a limit after a key, `add`
// appends to the response; one extra object tells whether another page exists.
template <typename Object, typename Request, typename Response, typename List,
          typename Add>
grpc::Status ListPage(const Request& request, Response* response, List list,
                      Add add) {
  absl::Status valid = CheckFilter(request.filter());
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  absl::StatusOr<std::string> after = DecodePageToken(request.page_token());
  if (!after.ok()) return ToGrpcStatus(after.status());
  absl::StatusOr<std::vector<Object>> objects =
      list(request.filter(), *after, *page_size + 1);
  if (!objects.ok()) return ToGrpcStatus(objects.status());
  if (static_cast<int>(objects->size()) > *page_size) {
    objects->pop_back();
    response->set_next_page_token(EncodePageToken(objects->back().key()));
  }
  for (Object& object : *objects) add(std::move(object));
  return grpc::Status::OK;
}

}  // namespace

grpc::Status GraphService::ListEntities(grpc::ServerContext*,
                                        const v1::ListEntitiesRequest* request,
                                        v1::ListEntitiesResponse* response) {
  return ListPage<v1::Entity>(
      *request, response,
      [&](const v1::GraphFilter& filter, const std::string& after, int limit) {
        return store_->ListEntities(filter, after, limit);
      },
      [&](v1::Entity entity) {
        *response->add_entities() = std::move(entity);
      });
}

grpc::Status GraphService::ListRelationships(
    grpc::ServerContext*, const v1::ListRelationshipsRequest* request,
    v1::ListRelationshipsResponse* response) {
  return ListPage<v1::Relationship>(
      *request, response,
      [&](const v1::GraphFilter& filter, const std::string& after, int limit) {
        return store_->ListRelationships(filter, after, limit);
      },
      [&](v1::Relationship relationship) {
        *response->add_relationships() = std::move(relationship);
      });
}

grpc::Status GraphService::GetEntity(grpc::ServerContext*,
                                     const v1::GetEntityRequest* request,
                                     v1::Entity* response) {
  if (request->instance_id().empty()) return Invalid("instance_id is required");
  absl::StatusOr<v1::Entity> entity =
      store_->GetEntity(request->instance_id(), request->key());
  if (!entity.ok()) return ToGrpcStatus(entity.status());
  *response = std::move(*entity);
  return grpc::Status::OK;
}

grpc::Status GraphService::ListNeighbors(
    grpc::ServerContext*, const v1::ListNeighborsRequest* request,
    v1::ListNeighborsResponse* response) {
  if (request->instance_id().empty()) return Invalid("instance_id is required");
  if (request->key().empty()) return Invalid("key is required");
  absl::StatusOr<int> page_size = PageSize(request->page_size());
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  absl::StatusOr<std::string> after = DecodePageToken(request->page_token());
  if (!after.ok()) return ToGrpcStatus(after.status());
  absl::StatusOr<v1::Entity> entity =
      store_->GetEntity(request->instance_id(), request->key());
  if (!entity.ok()) return ToGrpcStatus(entity.status());
  const int direction = request->direction() == v1::DIRECTION_OUT  ? 1
                        : request->direction() == v1::DIRECTION_IN ? 2
                                                                   : 0;
  absl::StatusOr<std::vector<NeighborRecord>> neighbors = store_->ListNeighbors(
      request->instance_id(), request->key(), direction,
      request->relationship_class(), *after, *page_size + 1);
  if (!neighbors.ok()) return ToGrpcStatus(neighbors.status());
  const bool more = static_cast<int>(neighbors->size()) > *page_size;
  if (more) {
    neighbors->pop_back();
    response->set_next_page_token(
        EncodePageToken(neighbors->back().relationship.key()));
  }
  for (NeighborRecord& record : *neighbors) {
    v1::Neighbor* neighbor = response->add_neighbors();
    *neighbor->mutable_relationship() = std::move(record.relationship);
    *neighbor->mutable_entity() = std::move(record.entity);
    neighbor->set_direction(record.outgoing ? v1::DIRECTION_OUT
                                            : v1::DIRECTION_IN);
  }
  return grpc::Status::OK;
}

namespace {

// A change-log row as the event a subscriber receives.
absl::StatusOr<v1::ChangeEvent> ToChangeEvent(const ChangeRecord& change) {
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
  return event;
}

}  // namespace

grpc::Status GraphService::Subscribe(
    grpc::ServerContext* context, const v1::SubscribeRequest* request,
    grpc::ServerWriter<v1::ChangeEvent>* writer) {
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
  const std::set<std::string> instances(request->instance_ids().begin(),
                                        request->instance_ids().end());
  std::set<int> kinds(request->kinds().begin(), request->kinds().end());
  kinds.erase(v1::CHANGE_KIND_UNSPECIFIED);
  int64_t position = request->after_sequence();
  while (!context->IsCancelled()) {
    // Read the version before the log, so a change committed in between wakes
    // us.
    const int64_t version = engine_ != nullptr ? engine_->ChangeVersion() : 0;
    absl::StatusOr<ChangeLogBounds> bounds = store_->GetChangeLogBounds();
    if (!bounds.ok()) return ToGrpcStatus(bounds.status());
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
      if (!instances.empty() && !instances.contains(change.instance_id))
        continue;
      if (!kinds.empty() && !kinds.contains(change.kind)) continue;
      if (type_pattern && !RE2::FullMatch(change.type, *type_pattern)) continue;
      absl::StatusOr<v1::ChangeEvent> event = ToChangeEvent(change);
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
  if (request->instance_id().empty()) return Invalid("instance_id is required");
  absl::StatusOr<v1::Instance> instance =
      store_->GetInstance(request->instance_id());
  if (!instance.ok()) return ToGrpcStatus(instance.status());
  absl::Status status = store_->Snapshot(
      request->instance_id(), kDefaultPageSize,
      [&](int64_t sequence) {
        v1::SnapshotChunk chunk;
        chunk.set_as_of_sequence(sequence);
        return !context->IsCancelled() && writer->Write(chunk);
      },
      [&](const std::vector<v1::Entity>& entities,
          const std::vector<v1::Relationship>& relationships) {
        v1::SnapshotChunk chunk;
        for (const v1::Entity& e : entities) *chunk.add_entities() = e;
        for (const v1::Relationship& r : relationships)
          *chunk.add_relationships() = r;
        return !context->IsCancelled() && writer->Write(chunk);
      });
  return ToGrpcStatus(status);
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
  // Writes come from the engine's threads; gRPC allows one writer at a time.
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
