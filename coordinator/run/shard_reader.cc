// Implementation of coordinator/run/shard_reader.h.
#include "coordinator/run/shard_reader.h"

#include <string>

#include "common/grpc_limits.h"
#include "common/status_macros.h"

namespace graphmill::coordinator {

absl::Status EntityBatcher::Add(const v1::Entity& entity,
                                const std::string* scope) {
  const size_t size =
      entity.ByteSizeLong() + (scope == nullptr ? 0 : scope->size());
  if (batch_.entities_size() > 0 && batch_bytes_ + size > max_bytes_) {
    GM_RETURN_IF_ERROR(Flush());
  }
  *batch_.add_entities() = entity;
  if (scope != nullptr) batch_.add_scopes(*scope);
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
  if (request.known()) {
    if (task.run_id == 0) {
      return absl::InvalidArgumentError(
          "known: a validation task has no run to read for");
    }
    // The children of the shard's parents are the objects listed for them.
    const bool children = !task.shard.parent_type().empty() && !shard;
    if (children && task.shard.first_key().empty()) return absl::OkStatus();
    const bool ranged = shard || children;
    GM_RETURN_IF_ERROR(store.ForEachGraphEntity(
        task.instance_id, request.type(), ranged ? task.shard.first_key() : "",
        ranged ? task.shard.last_key() : "", children, batch_size,
        [&](const v1::Entity& entity, const std::string& scope) {
          return batcher.Add(entity, &scope);
        }));
    return batcher.Flush();
  }
  GM_RETURN_IF_ERROR(store.ForEachStagedEntity(
      task.run_id, request.type(), shard ? task.shard.first_key() : "",
      shard ? task.shard.last_key() : "", batch_size,
      [&](const v1::Entity& entity) { return batcher.Add(entity); }));
  return batcher.Flush();
}

}  // namespace graphmill::coordinator
