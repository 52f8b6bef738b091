// Implementation of coordinator/probes/health.h.
#include "coordinator/probes/health.h"

#include <utility>

#include "common/log.h"

namespace graphmill::coordinator {

HealthReporter::HealthReporter(grpc::HealthCheckServiceInterface* health,
                               std::function<absl::Status()> check,
                               HealthReporterOptions options)
    : health_(health), check_(std::move(check)), options_(std::move(options)) {}

HealthReporter::~HealthReporter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void HealthReporter::Start() {
  Clock* const clock = options_.clock;
  // Each check is due an interval after the previous one began, read before
  // it runs (the first here, not on the new thread), so time that passes
  // meanwhile is not lost.
  absl::Time next_check = clock->Now() + options_.interval;
  CheckOnce();
  thread_ = std::thread([this, clock, next_check]() mutable {
    absl::MutexLock lock(&mu_);
    while (true) {
      if (clock->AwaitWithDeadline(
              &mu_, absl::Condition(this, &HealthReporter::StoppedLocked),
              next_check)) {
        return;
      }
      next_check = clock->Now() + options_.interval;
      mu_.Unlock();
      CheckOnce();
      mu_.Lock();
    }
  });
}

void HealthReporter::CheckOnce() {
  const absl::Status status = check_();
  absl::MutexLock lock(&mu_);
  if (draining_) return;
  const bool serving = status.ok();
  // Logged on each change, not on each check.
  if (!serving && serving_ != 0) {
    LogError("health: NOT_SERVING: the store does not answer: ",
             status.ToString());
  } else if (serving && serving_ == 0) {
    LogInfo("health: SERVING: the store answers again");
  }
  SetServingLocked(serving);
}

void HealthReporter::StartDraining() {
  absl::MutexLock lock(&mu_);
  if (draining_) return;
  draining_ = true;
  SetServingLocked(false);
}

bool HealthReporter::StoppedLocked() const { return stopping_ || draining_; }

bool HealthReporter::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_ == 1;
}

void HealthReporter::SetServingLocked(bool serving) {
  serving_ = serving ? 1 : 0;
  std::vector<grpc::HealthCheckServiceInterface*> targets = {health_};
  targets.insert(targets.end(), options_.mirrors.begin(),
                 options_.mirrors.end());
  for (grpc::HealthCheckServiceInterface* target : targets) {
    target->SetServingStatus(serving);  // every service it knows, "" included
    for (const std::string& service : options_.services) {
      target->SetServingStatus(service, serving);
    }
    // Set after the overall status, which covers every known service.
    target->SetServingStatus(kLivenessService, true);
  }
}

}  // namespace graphmill::coordinator
