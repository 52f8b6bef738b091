// PostgresStore::ApplyPatch (not yet implemented).
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

absl::StatusOr<PatchCounts> PostgresStore::ApplyPatch(const GraphPatch&) {
  return absl::UnimplementedError("PostgresStore::ApplyPatch");
}

}  // namespace graphmill::coordinator
