// What `graphmill run watch` prints as RunUpdates arrive: a progress line
// redrawn in place on a terminal, plain lines (step changes and events)
// otherwise.
#ifndef GRAPHMILL_CLIENT_RUN_WATCH_H_
#define GRAPHMILL_CLIENT_RUN_WATCH_H_

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "graphmill/v1/admin.pb.h"

namespace graphmill::cli {

// Turns a sequence of RunUpdates into output on `out`. Thread-safe, so a timer
// thread may call Tick while the stream reader calls OnUpdate.
//
// Terminal mode: each update prints its new events (WARN yellow, ERROR red),
// the steps that settled and the upload's state changes (RenderUploadLine),
// then redraws the progress line (see RenderProgressLine) with "\r\033[K".
// Plain mode: one line per step status change (a step first seen PENDING is
// not a change), one per event, and one per change of the upload's status
// (state or counts); the run's status changes except the final one get a line
// too. The final status is left to the caller (RenderRunEndLine).
class RunWatchPrinter {
 public:
  // `out` must outlive the printer.
  RunWatchPrinter(std::ostream& out, bool terminal);
  RunWatchPrinter(const RunWatchPrinter&) = delete;
  RunWatchPrinter& operator=(const RunWatchPrinter&) = delete;

  // The integration's relationship types, so progress splits entities from
  // relationships.
  void SetRelationshipTypes(std::set<std::string> relationship_types);

  // Prints what `update` changed since the previous one.
  void OnUpdate(const v1::RunUpdate& update, int64_t now_ms);

  // Terminal mode: redraws the progress line so its elapsed time moves.
  // Plain mode: prints the progress as a line of its own at most every
  // kPlainProgressIntervalMs while the run is active.
  void Tick(int64_t now_ms);
  static constexpr int64_t kPlainProgressIntervalMs = 5'000;

  // Terminal mode: erases the progress line. Call before printing the final
  // line.
  void Finish();

 private:
  void DrawProgress(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void EraseProgress() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  std::ostream& out_;
  const bool terminal_;
  absl::Mutex mutex_;
  std::optional<std::set<std::string>> relationship_types_
      ABSL_GUARDED_BY(mutex_);
  std::optional<v1::Run> run_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, v1::StepStatus> step_status_ ABSL_GUARDED_BY(mutex_);
  // The last upload status printed.
  std::optional<v1::UploadStatus> upload_ ABSL_GUARDED_BY(mutex_);
  bool progress_drawn_ ABSL_GUARDED_BY(mutex_) = false;
  // Plain mode: when the last progress line was printed (0: not yet).
  int64_t last_plain_progress_ms_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_RUN_WATCH_H_
