// Implementation of coordinator/run/shard_reader.h.
#include "coordinator/run/shard_reader.h"

#include "common/grpc_limits.h"
#include "common/status_macros.h"

namespace graphmill::coordinator {

absl::Status EntityBatcher::Add(const v1::Entity& entity) {
  const size_t size = entity.ByteSizeLong();
  if (batch_.entities_size() > 0 && batch_bytes_ + size > max_bytes_) {
    GM_RETURN_IF_ERROR(Flush());
  }
  *batch_.add_entities() = entity;
  batch_bytes_ += size;
  if (batch_.entities_size() >= max_count_) return Flush();
  return absl::OkStatus();
}

absl::Status EntityBatcher::Flush() {
  if (batch_.entities_size() == 0) return absl::OkStatus();
  const bool sent = send_(batch_);
  batch_.Clear();
  batch_bytes_ = 0;
  return sent ? absl::OkStatus() : absl::CancelledError("reader went away");
}

absl::Status ReadEntities(Store& store, const v1::ReadEntitiesRequest& request,
                          int batch_size, const EntityBatchSendFn& send) {
  GM_ASSIGN_OR_RETURN(TaskRecord task,
                      store.GetTask(request.attempt().task_id()));
  GM_RETURN_IF_ERROR(CheckLease(task, request.attempt()));
  if (request.type().empty())
    return absl::InvalidArgumentError("type is required");
  const bool shard = !task.shard.parent_type().empty() &&
                     task.shard.parent_type() == request.type();
  if (shard && task.shard.first_key().empty())
    return absl::OkStatus();  // no parents
  EntityBatcher batcher(batch_size, static_cast<size_t>(kGraphPageBytes), send);
  GM_RETURN_IF_ERROR(store.ForEachStagedEntity(
      task.run_id, request.type(), shard ? task.shard.first_key() : "",
      shard ? task.shard.last_key() : "", batch_size,
      [&](const v1::Entity& entity) { return batcher.Add(entity); }));
  return batcher.Flush();
}

}  // namespace graphmill::coordinator
