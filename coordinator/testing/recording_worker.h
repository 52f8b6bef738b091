// A worker session for engine tests: records what the coordinator sends it and
// waits for what a test expects. Thread-safe (the engine writes from the
// session's own thread); it must outlive the engine it is connected to.
#ifndef GRAPHMILL_COORDINATOR_TESTING_RECORDING_WORKER_H_
#define GRAPHMILL_COORDINATOR_TESTING_RECORDING_WORKER_H_

#include <cstddef>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/engine.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator::testing {

class RecordingWorker {
 public:
  // What to pass to Engine::ConnectWorker.
  Engine::SendFn Send();
  // Waits (up to 10 s) for the next assignment not yet returned; a test
  // failure and an empty assignment if none comes.
  v1::TaskAssignment NextAssignment();
  // Everything received so far.
  std::vector<v1::CoordinatorMessage> messages();
  // Waits (up to 10 s) for a message `matches` accepts; returns the messages
  // received by then.
  std::vector<v1::CoordinatorMessage> WaitFor(
      const std::function<bool(const v1::CoordinatorMessage&)>& matches);

 private:
  absl::Mutex mu_;
  std::vector<v1::CoordinatorMessage> messages_ ABSL_GUARDED_BY(mu_);
  size_t seen_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace graphmill::coordinator::testing

#endif  // GRAPHMILL_COORDINATOR_TESTING_RECORDING_WORKER_H_
