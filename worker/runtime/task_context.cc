// Implementation of worker/runtime/task_context.h.
#include "worker/runtime/task_context.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"

namespace graphmill::worker {

namespace {

InstanceConfig ConfigOf(const v1::TaskAssignment& assignment) {
  return InstanceConfig(assignment.config().begin(), assignment.config().end());
}

}  // namespace

TaskContext::TaskContext(v1::WorkerGateway::StubInterface* stub,
                         const v1::TaskAssignment& assignment,
                         ResultBatchLimits limits,
                         RateLimitedCallback on_rate_limited, Clock* clock,
                         RemainingCallback on_remaining)
    : stub_(stub),
      clock_(clock != nullptr ? clock : Clock::Real()),
      attempt_(assignment.attempt()),
      run_id_(assignment.run_id()),
      step_id_(assignment.step_id()),
      config_(ConfigOf(assignment)),
      results_(stub, assignment.attempt(), limits),
      pacer_(assignment.rate_limit_per_second(), clock_),
      on_rate_limited_(std::move(on_rate_limited)),
      on_remaining_(std::move(on_remaining)),
      max_in_flight_(assignment.max_requests_in_flight()),
      incremental_since_ms_(assignment.incremental_since_ms()),
      not_carried_types_(assignment.not_carried_types().begin(),
                         assignment.not_carried_types().end()) {}

bool TaskContext::CanCarry(absl::string_view type) const {
  return incremental_since_ms_ != 0 && !not_carried_types_.contains(type);
}

absl::Status TaskContext::ForEachEntity(
    absl::string_view type,
    const std::function<absl::Status(const v1::Entity&)>& visit) {
  return Read(type, /*known=*/false,
              [&](const v1::Entity& entity, const std::string&) {
                return visit(entity);
              });
}

absl::Status TaskContext::ForEachKnownEntity(
    absl::string_view type,
    const std::function<absl::Status(const v1::Entity&, const std::string&)>&
        visit) {
  if (incremental_since_ms_ == 0) {
    return absl::FailedPreconditionError(
        "the instance's graph is read only in incremental runs");
  }
  return Read(type, /*known=*/true, visit);
}

absl::Status TaskContext::Read(
    absl::string_view type, bool known,
    const std::function<absl::Status(const v1::Entity&, const std::string&)>&
        visit) {
  grpc::ClientContext call;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return CancelledStatus();
    reads_.insert(&call);
  }
  v1::ReadEntitiesRequest request;
  *request.mutable_attempt() = attempt_;
  request.set_type(std::string(type));
  request.set_known(known);

  std::unique_ptr<grpc::ClientReaderInterface<v1::EntityBatch>> reader;
  absl::Status visit_status = absl::OkStatus();
  grpc::Status finished;
  // The visitor is integration code: whatever it does, the call is finished and
  // unregistered.
  try {
    reader = stub_->ReadEntities(&call, request);
    v1::EntityBatch batch;
    static const std::string kNoScope;
    while (visit_status.ok() && reader->Read(&batch)) {
      if (known && batch.scopes_size() != batch.entities_size()) {
        visit_status = absl::DataLossError(absl::StrCat(
            "the coordinator sent ", batch.scopes_size(), " scopes for ",
            batch.entities_size(), " known entities of type '", type, "'"));
        break;
      }
      for (int i = 0; i < batch.entities_size(); ++i) {
        visit_status =
            visit(batch.entities(i), known ? batch.scopes(i) : kNoScope);
        if (!visit_status.ok()) break;
      }
    }
    // Stopping early: the rest of the stream is not wanted.
    if (!visit_status.ok()) call.TryCancel();
    finished = reader->Finish();
  } catch (...) {
    call.TryCancel();
    if (reader != nullptr) reader->Finish();
    absl::MutexLock lock(&mu_);
    reads_.erase(&call);
    throw;
  }
  {
    absl::MutexLock lock(&mu_);
    reads_.erase(&call);
  }
  if (!visit_status.ok()) return visit_status;
  if (cancelled_) return CancelledStatus();
  if (!finished.ok()) {
    absl::Status status = FromGrpcStatus(finished);
    return absl::Status(
        status.code(),
        absl::StrCat("reading ", known ? "known " : "", "entities of type '",
                     type, "' from the coordinator: ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status TaskContext::AddEntity(v1::Entity entity,
                                    absl::string_view scope) {
  if (cancelled_) return CancelledStatus();
  return results_.AddEntity(std::move(entity), scope);
}

absl::Status TaskContext::AddRelationship(v1::Relationship relationship,
                                          absl::string_view scope) {
  if (cancelled_) return CancelledStatus();
  return results_.AddRelationship(std::move(relationship), scope);
}

void TaskContext::AddEvent(v1::EventLevel level, absl::string_view name,
                           absl::string_view description) {
  if (cancelled_) return;
  v1::Event event;
  event.set_run_id(run_id_);
  event.set_time_ms(clock_->NowMs());
  event.set_level(level);
  event.set_name(Redact(name));
  event.set_description(Redact(description));
  event.set_step_id(step_id_);
  results_.AddEvent(std::move(event)).IgnoreError();
}

void TaskContext::AwaitRequestSlot() { pacer_.Wait(); }

void TaskContext::OnProviderResponse(int http_status) {
  constexpr int kTooManyRequests = 429;
  if (http_status == kTooManyRequests && on_rate_limited_ && !cancelled_) {
    on_rate_limited_(attempt_);
  }
}

void TaskContext::OnProviderRemaining(int64_t remaining) {
  if (!on_remaining_ || cancelled_) return;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    if (remaining >= kRemainingReportAlways &&
        now - last_remaining_report_ < kRemainingReportInterval) {
      return;
    }
    last_remaining_report_ = now;
  }
  on_remaining_(attempt_, remaining);
}

void TaskContext::MarkPartial(absl::string_view type,
                              absl::string_view reason) {
  absl::MutexLock lock(&mu_);
  incomplete_.try_emplace({std::string(type), ""}, redactor_.Redact(reason));
}

void TaskContext::MarkScopeIncomplete(absl::string_view scope,
                                      absl::string_view reason) {
  absl::MutexLock lock(&mu_);
  incomplete_.try_emplace({"", std::string(scope)}, redactor_.Redact(reason));
}

std::string TaskContext::Redact(absl::string_view text) const {
  absl::MutexLock lock(&mu_);
  return redactor_.Redact(text);
}

void TaskContext::SetSecrets(const std::vector<std::string>& secrets) {
  Redactor redactor(secrets);
  absl::MutexLock lock(&mu_);
  redactor_ = std::move(redactor);
}

void TaskContext::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    for (grpc::ClientContext* read : reads_) read->TryCancel();
  }
  pacer_.Cancel();
  results_.Abort();
}

std::vector<v1::Incompleteness> TaskContext::incomplete() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Incompleteness> entries;
  entries.reserve(incomplete_.size());
  for (const auto& [what, reason] : incomplete_) {
    v1::Incompleteness& entry = entries.emplace_back();
    entry.set_type(what.first);
    entry.set_scope(what.second);
    entry.set_reason(reason);
  }
  return entries;
}

absl::Status TaskContext::CancelledStatus() const {
  return absl::CancelledError(
      absl::StrCat(AttemptLabel(attempt_), " was cancelled"));
}

}  // namespace graphmill::worker
