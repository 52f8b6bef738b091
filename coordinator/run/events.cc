// Implementation of coordinator/run/events.h.
#include "coordinator/run/events.h"

#include "common/log.h"

namespace graphmill::coordinator {

void RunEvents::Record(int64_t run_id, const RunEvent& event) {
  absl::Status status =
      store_->AddEvent(run_id, event.level, event.name, event.description,
                       event.step_id, clock_->NowMs());
  if (!status.ok())
    LogError("run ", run_id, ": cannot record event: ", status.ToString());
}

}  // namespace graphmill::coordinator
