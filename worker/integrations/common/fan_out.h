// Bounded concurrency for a step's per-parent requests (workflows per pipeline,
// ...).
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_FAN_OUT_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_FAN_OUT_H_

#include <cstddef>
#include <functional>

#include "absl/status/status.h"

namespace graphmill::worker {

// Most threads one fan-out runs at once.
inline constexpr int kMaxFanOutThreads = 64;

// Runs `task(i)` for every i in [0, count) on at most `max_in_flight` threads
// (the caller's among them; at most kMaxFanOutThreads). Once a task fails or
// `should_stop` (may be null; called from the workers) returns true, no
// further task starts. `current_limit` (may be null; called from the workers
// between items) replaces `max_in_flight` as it changes: when it drops below
// the number of threads, the surplus threads stop taking items (at least one
// goes on); when it rises, more threads start (never more than the items
// left). So a task's share of requests in flight applies within a fan-out,
// both ways. Returns the first failure, CANCELLED if stopped, else OK. A task
// that throws is reported as INTERNAL; nothing escapes a thread.
absl::Status RunConcurrently(size_t count, int max_in_flight,
                             const std::function<absl::Status(size_t)>& task,
                             const std::function<bool()>& should_stop,
                             const std::function<int()>& current_limit = {});

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_FAN_OUT_H_
