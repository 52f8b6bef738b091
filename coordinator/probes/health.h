// Keeps the coordinator's grpc.health.v1.Health answers current: SERVING
// while a cheap store query succeeds, NOT_SERVING while it fails, and
// NOT_SERVING for good once draining starts (SIGTERM). The service
// kLivenessService is SERVING from Start on whatever the store does: a
// liveness probe asks it, so a store outage does not restart the process.
#ifndef GRAPHMILL_COORDINATOR_PROBES_HEALTH_H_
#define GRAPHMILL_COORDINATOR_PROBES_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace graphmill::coordinator {

// Health service name for liveness probes.
inline constexpr char kLivenessService[] = "graphmill.liveness";

struct HealthReporterOptions {
  // How often the check runs.
  absl::Duration interval = absl::Seconds(5);
  // Service names whose status follows the server's overall one ("" is always
  // set), e.g. "graphmill.v1.Admin".
  std::vector<std::string> services;
  // What `interval` is measured on; must outlive the reporter.
  Clock* clock = Clock::Real();
  // More health services told the same status, e.g. that of the plaintext
  // probe port (--health_listen); each must outlive the reporter.
  std::vector<grpc::HealthCheckServiceInterface*> mirrors;
};

// Sets the status on a server's health service (grpc::Server::
// GetHealthCheckService(), with grpc::EnableDefaultHealthCheckService(true)
// called before the server was built). Thread-safe.
class HealthReporter {
 public:
  // `health` must outlive the reporter. `check` is the store query: OK means
  // the store answers.
  HealthReporter(grpc::HealthCheckServiceInterface* health,
                 std::function<absl::Status()> check,
                 HealthReporterOptions options = {});
  // Stops the checks.
  ~HealthReporter();

  HealthReporter(const HealthReporter&) = delete;
  HealthReporter& operator=(const HealthReporter&) = delete;

  // Runs the first check now, sets the status from it, and then checks every
  // interval on a thread of its own. A check that hangs leaves the status as
  // it was until it returns.
  void Start();

  // NOT_SERVING from now on, whatever the checks say (they stop).
  void StartDraining();

  // What the health service was last told.
  bool serving() const;

 private:
  void CheckOnce();
  bool StoppedLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void SetServingLocked(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::HealthCheckServiceInterface* const health_;
  const std::function<absl::Status()> check_;
  const HealthReporterOptions options_;

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // 1 SERVING, 0 NOT_SERVING, -1 not set yet.
  int serving_ ABSL_GUARDED_BY(mu_) = -1;
  std::thread thread_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_PROBES_HEALTH_H_
