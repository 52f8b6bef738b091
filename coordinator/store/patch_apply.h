// Store::ApplyPatch's algorithm, shared by both backends: checks, the event
// id, ordering marks, upserts, deletions with their scoped children, and the
// change log. A backend supplies the primitives (PatchTransaction) and runs
// ApplyPatchIn inside one transaction of its own. Internal to
// coordinator/store; not part of the Store contract (store.h has it).
#ifndef GRAPHMILL_COORDINATOR_STORE_PATCH_APPLY_H_
#define GRAPHMILL_COORDINATOR_STORE_PATCH_APPLY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

// Entity or relationship; each backend maps it to its `object` codes.
enum class PatchObject { kEntity = 0, kRelationship = 1 };

// A graph row as both backends store it.
struct PatchRow {
  PatchObject object = PatchObject::kEntity;
  std::string key;
  std::string type;
  std::string classes;  // "|A|B|" (entities) or "|HAS|" (relationships)
  std::string from_key;
  std::string to_key;
  std::string data;  // SerializeDeterministic of the object
  // The object's properties (owned by the patch), which each backend encodes
  // as its staging does.
  const google::protobuf::Map<std::string, v1::Value>* properties = nullptr;
  std::string scope;
};

// What ApplyPatchIn reads and writes, all within the caller's transaction and
// all about `GraphPatch::instance_id`. Errors abort the patch (the caller
// rolls back).
class PatchTransaction {
 public:
  virtual ~PatchTransaction() = default;
  virtual absl::StatusOr<bool> InstanceExists() = 0;
  // Forgets event ids received before `forget_before_ms`, then records
  // `event_id`; false if it was recorded already.
  virtual absl::StatusOr<bool> RecordEvent(const std::string& event_id,
                                           int64_t now_ms,
                                           int64_t forget_before_ms) = 0;
  // When the instance's newest finalized run was created (0: none).
  virtual absl::StatusOr<int64_t> NewestFinalizedRunStart() = 0;
  // The object's ordering mark (the as_of_ms of the last patch to touch it).
  virtual absl::StatusOr<std::optional<int64_t>> Mark(
      PatchObject object, const std::string& key) = 0;
  virtual absl::Status SetMark(PatchObject object, const std::string& key,
                               int64_t as_of_ms) = 0;
  // The stored object's data and scope, or nullopt.
  struct Stored {
    std::string data;
    std::string scope;
    std::string type;
  };
  virtual absl::StatusOr<std::optional<Stored>> Read(
      PatchObject object, const std::string& key) = 0;
  // Inserts the row, or replaces the stored one of the same key.
  virtual absl::Status Write(const PatchRow& row) = 0;
  virtual absl::Status Delete(PatchObject object, const std::string& key) = 0;
  // Appends to the change log with run id 0. `previous` empty: none (a
  // creation, or a deletion, whose `data` is the object as it was).
  virtual absl::Status Log(v1::ChangeKind kind, PatchObject object,
                           const std::string& key, const std::string& type,
                           const std::string& data, const std::string& previous,
                           int64_t time_ms) = 0;
  // Keys of the entities of `type` whose scope is `scope`.
  virtual absl::StatusOr<std::vector<std::string>> ScopedEntities(
      const std::string& type, const std::string& scope) = 0;
  // Keys of the relationships from or to entity `key`.
  virtual absl::StatusOr<std::vector<std::string>> RelationshipsTouching(
      const std::string& key) = 0;
};

// INVALID_ARGUMENT for an empty event id or scopes not parallel to their
// objects; nothing is read. Call before the transaction begins.
absl::Status CheckPatch(const GraphPatch& patch);

// The patch, as store.h's ApplyPatch describes it, through `tx`. NOT_FOUND
// naming the instance if it does not exist.
absl::StatusOr<PatchCounts> ApplyPatchIn(PatchTransaction& tx,
                                         const GraphPatch& patch);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_PATCH_APPLY_H_
