// Whether a new run is incremental (Run.incremental_since_ms, see
// v1.IncrementalRuns): pure functions of the instance's settings, the
// operator's request and the instance's earlier runs, and the one reader of
// those runs. Stateless, thread-safe.
#ifndef GRAPHMILL_COORDINATOR_RUN_RUN_MODE_H_
#define GRAPHMILL_COORDINATOR_RUN_RUN_MODE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

// How a run's tasks may use the instance's graph: TaskAssignment's
// incremental_since_ms (0: a full run) and not_carried_types.
struct IncrementalMode {
  int64_t since_ms = 0;
  std::vector<std::string> not_carried_types;
};

// Defaults of v1.IncrementalRuns' zero fields.
inline constexpr int64_t kDefaultLookBackHours = 24;
inline constexpr int64_t kDefaultFullRunEveryHours = 24;
// Earlier runs read to decide, newest first: kRunsReadFirst, then (if the
// runs sought are not among them) kRunsToDecideMode. An instance whose last
// finalized full run is not among those runs full.
inline constexpr int kRunsReadFirst = 8;
inline constexpr int kRunsToDecideMode = 64;

// Whether `earlier` holds a finalized full run (what IncrementalSince needs).
bool HasFinalizedFullRun(const std::vector<v1::Run>& earlier);

// The instance's runs, newest first: the kRunsReadFirst newest, or the
// kRunsToDecideMode newest when those are not `enough` (and there are more).
// The store's errors.
absl::StatusOr<std::vector<v1::Run>> ReadEarlierRuns(
    Store& store, const std::string& instance_id,
    const std::function<bool(const std::vector<v1::Run>&)>& enough);

// Run.incremental_since_ms for a run of `instance` starting at `now_ms`: 0 (a
// full run) if incremental runs are disabled, `full_requested`, no run of
// `earlier` (newest first) was finalized, or no finalized full run started
// within the instance's full_run_every_hours; otherwise `now_ms` minus the
// look-back window.
int64_t IncrementalSince(const v1::Instance& instance, bool full_requested,
                         const std::vector<v1::Run>& earlier, int64_t now_ms);

// The types an incremental run may not carry forward: those the newest
// finalized run of `earlier` (newest first) did not look at completely (its
// incomplete_types), since the graph may hold stale objects of them.
std::vector<std::string> NotCarriedTypes(const std::vector<v1::Run>& earlier);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_RUN_MODE_H_
