// Uploads finalized runs to JupiterOne, one at a time on its own thread, so an
// upload never holds up the run engine. Each run's upload state is kept with
// the run in the store; pending uploads resume after a restart (or on the
// replica that takes over from one that died), and a failed one can be
// retried. The upload itself is a sink's (coordinator/sinks/sink.h:
// JupiterOneSink, built from the instance's upload config); this class owns
// the queue, the store's upload state and the run's events about it.
#ifndef GRAPHMILL_COORDINATOR_RUN_UPLOADER_H_
#define GRAPHMILL_COORDINATOR_RUN_UPLOADER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "coordinator/instances.h"
#include "coordinator/sinks/jupiterone_uploader.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

// Thread-safe.
class RunUploader {
 public:
  // `notify` is called whenever a run's upload state changes (e.g. to wake run
  // watchers). `store`, `secrets` and `clock` (event times and upload
  // durations) must outlive the uploader.
  RunUploader(Store* store, const InstanceSecrets* secrets,
              sinks::UploaderOptions options, std::function<void()> notify,
              Clock* clock = Clock::Real());
  ~RunUploader();
  RunUploader(const RunUploader&) = delete;
  RunUploader& operator=(const RunUploader&) = delete;

  // Starts the upload thread.
  void Start();

  // Queues the uploads a previous process (or a replica that died) left
  // pending or under way. Called when this process becomes the replica that
  // takes run-level decisions (EngineOptions::on_leadership).
  void ResumeUnfinished();

  // A run was finalized: if finalize marked its upload pending, the upload is
  // queued.
  void OnFinalized(int64_t run_id);

  // Queues a finalized run's upload again (Admin.RetryUpload).
  // FAILED_PRECONDITION when the run is not finalized, its instance has no
  // upload target, its upload is under way, or its objects were replaced by a
  // later run of the instance.
  absl::Status Retry(int64_t run_id);

 private:
  void Loop();
  void Upload(int64_t run_id);
  void Queue(int64_t run_id);

  Store* const store_;
  const InstanceSecrets* const secrets_;
  const sinks::UploaderOptions options_;
  const std::function<void()> notify_;
  Clock* const clock_;

  absl::Mutex mu_;
  std::deque<int64_t> queue_ ABSL_GUARDED_BY(mu_);
  // Runs queued or uploading now: queued again, they would upload twice.
  std::set<int64_t> queued_or_uploading_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_UPLOADER_H_
