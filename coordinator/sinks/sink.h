// A sink: where the coordinator sends a finalized run besides its own store
// (JupiterOne today: JupiterOneSink in jupiterone_uploader.h). The coordinator
// (coordinator/run_uploader.h) knows sinks only through this interface.
//
// Contract:
//   - Ownership: the caller owns the sink, the FinalizedRun and its
//     ObjectSource; they outlive Deliver(), and the sink keeps no reference to
//     them afterwards.
//   - Threads: Deliver() blocks until the run is delivered or has failed. One
//     Deliver() at a time per sink object; the sink may use threads of its
//     own, and then calls the callbacks from them, one call at a time.
//   - Memory: objects are streamed from the ObjectSource; a sink holds a
//     bounded part of a run whatever its size.
//   - Errors: INVALID_ARGUMENT naming the setting when the destination is
//     misconfigured; otherwise why the delivery failed, fit to show the user
//     as it is (never a secret). A failed delivery leaves nothing at the
//     destination that would replace what an earlier delivery put there.
#ifndef GRAPHMILL_COORDINATOR_SINKS_SINK_H_
#define GRAPHMILL_COORDINATOR_SINKS_SINK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::sinks {

namespace v1 = ::graphmill::v1;

// The run's objects, streamed (the coordinator implements it over its store).
class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  // Calls `fn` once per object of the run, in any order, without holding them
  // all in memory. Stops at the first non-OK status `fn` returns and returns
  // it; returns its own error if reading fails. Called from one thread; `fn`
  // may block (back-pressure while batches are in flight).
  virtual absl::Status ForEachEntity(
      const std::function<absl::Status(const v1::Entity&)>& fn) = 0;
  virtual absl::Status ForEachRelationship(
      const std::function<absl::Status(const v1::Relationship&)>& fn) = 0;
};

// A finalized run, as a sink receives it.
struct FinalizedRun {
  int64_t run_id = 0;  // for logs
  ObjectSource* objects = nullptr;
  // The types the run did not look at completely: the destination must keep
  // what it has of them rather than delete what this run did not send.
  std::vector<std::string> partial_types;
};

// Counts so far; given to SinkCallbacks::on_progress after each part the
// destination accepted.
struct UploadProgress {
  int64_t entities_uploaded = 0;
  int64_t relationships_uploaded = 0;
  int64_t skipped = 0;
  int64_t batches = 0;
};

struct SinkCallbacks {
  // Events for the run (level, name, description, time_ms set). Null: none.
  std::function<void(const v1::Event&)> on_event;
  // Null: none.
  std::function<void(const UploadProgress&)> on_progress;
};

// What a successful delivery did.
struct Delivery {
  std::string id;  // the destination's name for it (JupiterOne: the job id)
  int64_t entities_uploaded = 0;
  int64_t relationships_uploaded = 0;
  int64_t skipped = 0;  // objects the destination could not take
};

class Sink {
 public:
  virtual ~Sink() = default;

  // The destination, for messages: "upload to <name> failed".
  virtual std::string name() const = 0;

  // Delivers every object of `run` (see the contract above).
  virtual absl::StatusOr<Delivery> Deliver(const FinalizedRun& run,
                                           const SinkCallbacks& callbacks) = 0;
};

}  // namespace graphmill::sinks

#endif  // GRAPHMILL_COORDINATOR_SINKS_SINK_H_
