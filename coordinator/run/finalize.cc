// Implementation of coordinator/run/finalize.h.
#include "coordinator/run/finalize.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/completeness.h"
#include "coordinator/metrics.h"

namespace graphmill::coordinator {

FinalizePlan PlanFinalize(int64_t run_id, const RunInfo& info,
                          const std::vector<StepRecord>& steps,
                          bool upload_pending, int64_t now_ms) {
  const RunCompleteness completeness =
      ComputeCompleteness(info.definition, steps);
  FinalizePlan plan;
  plan.degraded = completeness.degraded();
  for (const StepRecord& step : steps) {
    plan.degraded |= step.status == v1::STEP_STATUS_FAILURE ||
                     step.status == v1::STEP_STATUS_PARTIAL;
  }
  FinalizeRequest& request = plan.request;
  request.incomplete_types = completeness.IncompleteTypes();
  for (const v1::IncompleteType& type : request.incomplete_types) {
    plan.events.push_back(
        RunEvent{type.error() ? v1::EVENT_LEVEL_WARN : v1::EVENT_LEVEL_INFO,
                 "type_incomplete",
                 absl::StrCat(type.type(), ": ", type.reason(),
                              type.all_kept()
                                  ? " (nothing of it deleted)"
                                  : " (deleted only where listed completely)"),
                 ""});
  }
  const std::string error_types = completeness.ErrorTypesList();
  request.run_id = run_id;
  request.instance_id = info.instance_id;
  request.rules = completeness.DeletionRules();
  request.status =
      plan.degraded ? v1::RUN_STATUS_PARTIAL : v1::RUN_STATUS_SUCCEEDED;
  request.error = !plan.degraded ? ""
                  : error_types.empty()
                      ? "some steps failed or were partial"
                      : absl::StrCat("not looked at completely: ", error_types,
                                     " (see run show)");
  // The upload is pending when the run is seen as ended, so watchers wait for
  // it.
  request.upload_pending = upload_pending;
  request.now_ms = now_ms;
  return plan;
}

absl::Status FinalizeRun(Store& store, Clock& clock, RunEvents& events,
                         int64_t run_id, const RunInfo& info) {
  auto timer = CoordinatorMetrics::Get().TimeFinalize(info.definition.name());
  GM_ASSIGN_OR_RETURN(std::vector<StepRecord> steps, store.GetSteps(run_id));
  absl::StatusOr<v1::Instance> instance = store.GetInstance(info.instance_id);
  FinalizePlan plan =
      PlanFinalize(run_id, info, steps, instance.ok() && instance->has_upload(),
                   clock.NowMs());
  for (const RunEvent& event : plan.events) events.Record(run_id, event);
  // The run ends when finalize commits, not when it began.
  plan.request.end_ms = [&clock] { return clock.NowMs(); };
  GM_ASSIGN_OR_RETURN(FinalizeCounts counts, store.Finalize(plan.request));
  CoordinatorMetrics::Get().GraphChanged(info.definition.name(), counts.created,
                                         counts.updated, counts.deleted);
  CoordinatorMetrics::Get().ChangeLog(store.GetChangeLogBounds());
  const std::string summary =
      absl::StrCat("graph finalized: ", counts.created, " created, ",
                   counts.updated, " updated, ", counts.deleted, " deleted");
  // After the run ended (its counts are on the run record as well).
  events.Record(run_id, v1::EVENT_LEVEL_INFO, "run_finalized", summary, "");
  LogInfo("run ", run_id, " ended ", plan.degraded ? "partial" : "succeeded",
          "; ", summary);
  CoordinatorMetrics::Get().RunEnded(store, run_id, clock.NowMs());
  return absl::OkStatus();
}

}  // namespace graphmill::coordinator
