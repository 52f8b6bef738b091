// Run events as the layers of coordinator/run record them: one line in the
// run's event list (what `run show` prints), stamped with the injected
// clock's time. Pure layers return RunEvent values; the layer that owns the
// store call records them.
//
// Thread-safe (the store is). Recording never fails the caller: an event the
// store refuses is logged and dropped, because a run must not stop over its
// own narration.
#ifndef GRAPHMILL_COORDINATOR_RUN_EVENTS_H_
#define GRAPHMILL_COORDINATOR_RUN_EVENTS_H_

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

// One event to record on a run.
struct RunEvent {
  v1::EventLevel level = v1::EVENT_LEVEL_INFO;
  std::string name;
  std::string description;
  std::string step_id;  // empty: the run as a whole
};

class RunEvents {
 public:
  // `store` and `clock` must outlive this.
  RunEvents(Store* store, Clock* clock) : store_(store), clock_(clock) {}

  void Record(int64_t run_id, const RunEvent& event);
  void Record(int64_t run_id, v1::EventLevel level, const std::string& name,
              const std::string& description, const std::string& step_id) {
    Record(run_id, RunEvent{level, name, description, step_id});
  }

 private:
  Store* const store_;
  Clock* const clock_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_EVENTS_H_
