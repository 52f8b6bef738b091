// Finalize: once every step of a run has settled, decide from the steps'
// completeness (coordinator/completeness.h) what the run may delete and how
// it ends, and hand that to Store::Finalize, which applies the graph diff,
// ends the run and marks its upload pending in one transaction.
//
// PlanFinalize is a plain function of its inputs; FinalizeRun does the store
// calls. Not thread-safe by itself: the engine calls it under its lock (the
// store is thread-safe). Errors are the store's; the run then stays active
// and the engine fails it.
#ifndef GRAPHMILL_COORDINATOR_RUN_FINALIZE_H_
#define GRAPHMILL_COORDINATOR_RUN_FINALIZE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "coordinator/run/events.h"
#include "coordinator/run/planner.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

// What to apply and what to tell the operator before it is applied.
struct FinalizePlan {
  FinalizeRequest request;
  // One "type_incomplete" event per incomplete type.
  std::vector<RunEvent> events;
  // PARTIAL: some type incomplete by error, or some step failed or partial.
  bool degraded = false;
};

// The plan for run `run_id` of `info`, from its settled `steps`.
// `upload_pending`: the instance has an upload target.
FinalizePlan PlanFinalize(int64_t run_id, const RunInfo& info,
                          const std::vector<StepRecord>& steps,
                          bool upload_pending, int64_t now_ms);

// Finalizes a settled run: plans it, records the plan's events, applies it
// (Store::Finalize) and records the outcome (event, log, metrics).
absl::Status FinalizeRun(Store& store, Clock& clock, RunEvents& events,
                         int64_t run_id, const RunInfo& info);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_FINALIZE_H_
