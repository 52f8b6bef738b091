// Implementation of coordinator/api/graph_service.h: the paged reads. The
// streams are in graph_streams.cc.
#include "coordinator/api/graph_service.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "common/grpc_limits.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "coordinator/api/service_util.h"

namespace graphmill::coordinator {
namespace {

using api_internal::CarriesRawData;
using api_internal::DecodePageToken;
using api_internal::Describe;
using api_internal::EncodePageToken;
using api_internal::PageSize;
using api_internal::TooLarge;
using api_internal::Trim;
using api_internal::WireBytes;

// Objects read from the store per query at the start of a page. Kept small
// because each may carry MBs of raw data; later reads are sized from the
// objects seen (see FillPage).
constexpr int kFirstStoreRead = 16;

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

// Bytes the next_page_token after `key` adds to a reply.
size_t TokenWireBytes(const std::string& key) {
  return WireBytes((key.size() + 2) / 3 * 4);
}

// The key a list call pages by.
const std::string& PagingKey(const v1::Entity& entity) { return entity.key(); }
const std::string& PagingKey(const v1::Relationship& relationship) {
  return relationship.key();
}
const std::string& PagingKey(const v1::Neighbor& neighbor) {
  return neighbor.relationship().key();
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

}  // namespace graphmill::coordinator
