// Implementation of coordinator/api/graph_service.h: the streams, Subscribe
// (the change log, live) and GetSnapshot (an instance's whole graph as of one
// change-log sequence).
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/graph_json.h"
#include "common/grpc_limits.h"
#include "common/grpc_status.h"
#include "coordinator/api/graph_service.h"
#include "coordinator/api/service_util.h"
#include "coordinator/metrics.h"
#include "re2/re2.h"

namespace graphmill::coordinator {
namespace {

using api_internal::CarriesRawData;
using api_internal::Describe;
using api_internal::Invalid;
using api_internal::TooLarge;
using api_internal::Trim;
using api_internal::WireBytes;

// Objects per store page while a snapshot streams: the store holds one such
// page in memory, raw data included.
constexpr int kSnapshotStorePage = 100;

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
  return event;
}

// Whether one of the changed object's classes fully matches `pattern`.
bool ClassMatches(const v1::ChangeEvent& event, const RE2& pattern) {
  if (event.has_relationship()) {
    return RE2::FullMatch(event.relationship().class_name(), pattern);
  }
  for (const std::string& c : event.entity().classes()) {
    if (RE2::FullMatch(c, pattern)) return true;
  }
  return false;
}

// Fills object_json and previous_object_json from the typed objects, which are
// already trimmed: the JSON carries `_rawData` exactly when they carry raw
// data.
void AddObjectJson(v1::ChangeEvent& event) {
  if (event.has_entity()) {
    event.set_object_json(EntityToJson(event.entity(), true));
  } else if (event.has_relationship()) {
    event.set_object_json(RelationshipToJson(event.relationship()));
  }
  if (event.has_previous_entity()) {
    event.set_previous_object_json(EntityToJson(event.previous_entity(), true));
  } else if (event.has_previous_relationship()) {
    event.set_previous_object_json(
        RelationshipToJson(event.previous_relationship()));
  }
}

// RESOURCE_EXHAUSTED naming the change when the event, as it will be sent,
// cannot travel in one message.
absl::Status CheckEventSize(const v1::ChangeEvent& event) {
  if (event.ByteSizeLong() <= kMaxGrpcMessageBytes) return absl::OkStatus();
  return TooLarge(
      absl::StrCat("change ", event.sequence(), " (",
                   event.has_relationship() ? Describe(event.relationship())
                                            : Describe(event.entity()),
                   ")"),
      event.ByteSizeLong(),
      CarriesRawData(event.entity()) ||
          CarriesRawData(event.previous_entity()));
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
  // Whether the caught_up marker is still due (see SubscribeRequest).
  bool marker_due = request->mark_caught_up();
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
      if (class_pattern && !ClassMatches(*event, *class_pattern)) continue;
      // After the filters, so that no JSON is made for a change that is not
      // sent and a change that is not sent cannot end the stream as too large.
      if (request->include_object_json()) AddObjectJson(*event);
      absl::Status fits = CheckEventSize(*event);
      if (!fits.ok()) return ToGrpcStatus(fits);
      // Blocks while the subscriber is slow (flow control); nothing else waits
      // on it.
      if (!writer->Write(*event)) return grpc::Status::OK;
      subscriber.Sent();
    }
    if (static_cast<int>(changes->size()) < kPage) {
      // A short page means the log was read to its end: everything the
      // subscriber gets from here on was committed after this read, so this
      // is the one point between backlog and live. `position` is the last
      // change read (delivered or filtered out), a resume point that skips
      // nothing.
      if (marker_due) {
        v1::ChangeEvent marker;
        marker.set_sequence(position);
        marker.set_caught_up(true);
        if (!writer->Write(marker)) return grpc::Status::OK;
        marker_due = false;
      }
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

}  // namespace graphmill::coordinator
