// Serves a task the staged entities it may read (WorkerGateway.ReadEntities):
// for the step's parent type only its shard's key range, other types of the
// run whole. Only the current attempt (its lease id) may read, so a task
// cannot be read through a guessed attempt. A `known` read (an incremental
// run's task) reads the instance's graph instead, with scopes: the shard's
// parents, the entities listed for them (by scope), or, unsharded, every
// entity of the type.
//
// Batches are bounded by count and by bytes, as Graph reads are: entities
// with MBs of raw data must not add up past a worker's message limit
// (common/grpc_limits.h). EntityBatcher is that rule alone, without a store.
// Thread-safe (no state; the store is thread-safe). Errors: the store's,
// FAILED_PRECONDITION for a stale attempt, CANCELLED once `send` fails.
#ifndef GRAPHMILL_COORDINATOR_RUN_SHARD_READER_H_
#define GRAPHMILL_COORDINATOR_RUN_SHARD_READER_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator {

// Writes one batch to the reader; false once it went away.
using EntityBatchSendFn = std::function<bool(const v1::EntityBatch&)>;

// Sends entities in batches of at most `max_count` entities and `max_bytes`
// (a single larger entity still goes, alone). Not thread-safe.
class EntityBatcher {
 public:
  EntityBatcher(int max_count, size_t max_bytes, const EntityBatchSendFn& send)
      : max_count_(max_count), max_bytes_(max_bytes), send_(send) {}

  // With a `scope`, the batch carries it parallel to the entity (known
  // reads).
  absl::Status Add(const v1::Entity& entity,
                   const std::string* scope = nullptr);
  // Sends what is left.
  absl::Status Flush();

 private:
  const int max_count_;
  const size_t max_bytes_;
  const EntityBatchSendFn& send_;
  v1::EntityBatch batch_;
  size_t batch_bytes_ = 0;
};

// Reads what `request` asks for, `batch_size` entities per store page and
// batch at most.
absl::Status ReadEntities(Store& store, const v1::ReadEntitiesRequest& request,
                          int batch_size, const EntityBatchSendFn& send);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_SHARD_READER_H_
