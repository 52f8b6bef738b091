// Implementation of coordinator/run_uploader.h.
#include "coordinator/run_uploader.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/http/provider_metrics.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/engine.h"
#include "coordinator/metrics.h"

namespace graphmill::coordinator {
namespace {

constexpr int kReadPageSize = 500;

// The run's objects, streamed from the store page by page.
class StagedObjectSource final : public sinks::ObjectSource {
 public:
  StagedObjectSource(Store* store, int64_t run_id)
      : store_(store), run_id_(run_id) {}

  absl::Status ForEachEntity(
      const std::function<absl::Status(const v1::Entity&)>& fn) override {
    return store_->ForEachStagedObject(
        run_id_, false, kReadPageSize,
        [&](const std::string& data) -> absl::Status {
          v1::Entity entity;
          if (!entity.ParseFromString(data)) {
            return absl::DataLossError("corrupt staged entity");
          }
          return fn(entity);
        });
  }
  absl::Status ForEachRelationship(
      const std::function<absl::Status(const v1::Relationship&)>& fn) override {
    return store_->ForEachStagedObject(
        run_id_, true, kReadPageSize,
        [&](const std::string& data) -> absl::Status {
          v1::Relationship relationship;
          if (!relationship.ParseFromString(data)) {
            return absl::DataLossError("corrupt staged relationship");
          }
          return fn(relationship);
        });
  }

 private:
  Store* const store_;
  const int64_t run_id_;
};

bool IsFinalized(v1::RunStatus status) {
  return status == v1::RUN_STATUS_SUCCEEDED || status == v1::RUN_STATUS_PARTIAL;
}

// The sink an instance's upload config names.
std::unique_ptr<sinks::Sink> SinkFor(const v1::JupiterOneUpload& upload,
                                     const sinks::UploaderOptions& options) {
  sinks::JupiterOneTarget target;
  if (!upload.base_url().empty()) target.base_url = upload.base_url();
  target.account_id = upload.account_id();
  target.api_token = upload.api_token();
  target.integration_instance_id = upload.integration_instance_id();
  target.compress = upload.compress();
  return std::make_unique<sinks::JupiterOneSink>(std::move(target), options);
}

}  // namespace

RunUploader::RunUploader(Store* store, const InstanceSecrets* secrets,
                         sinks::UploaderOptions options,
                         std::function<void()> notify, Clock* clock)
    : store_(store),
      secrets_(secrets),
      options_(std::move(options)),
      notify_(std::move(notify)),
      clock_(clock != nullptr ? clock : Clock::Real()) {}

RunUploader::~RunUploader() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void RunUploader::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void RunUploader::ResumeUnfinished() {
  // Uploads a previous process left pending or under way start again (a new
  // job).
  absl::StatusOr<std::vector<v1::Run>> runs = store_->ListRuns("", 1000);
  if (runs.ok()) {
    for (auto it = runs->rbegin(); it != runs->rend(); ++it) {
      const v1::UploadState state = it->upload().state();
      if (state == v1::UPLOAD_STATE_PENDING ||
          state == v1::UPLOAD_STATE_UPLOADING) {
        Queue(it->id());
      }
    }
  }
}

void RunUploader::Queue(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  if (!queued_or_uploading_.insert(run_id).second) return;
  queue_.push_back(run_id);
  CoordinatorMetrics::Get().UploadsQueued(queue_.size());
}

void RunUploader::OnFinalized(int64_t run_id) {
  // Finalize marked the upload pending if the instance has a target.
  absl::StatusOr<v1::Run> run = store_->GetRun(run_id);
  if (run.ok() && run->upload().state() == v1::UPLOAD_STATE_PENDING)
    Queue(run_id);
}

absl::Status RunUploader::Retry(int64_t run_id) {
  GM_ASSIGN_OR_RETURN(v1::Run run, store_->GetRun(run_id));
  if (!IsFinalized(run.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "run ", run_id, " was not finalized, so there is nothing to upload"));
  }
  GM_ASSIGN_OR_RETURN(v1::Instance instance,
                      store_->GetInstance(run.instance_id()));
  if (!instance.has_upload()) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance '", run.instance_id(),
                     "' has no JupiterOne upload configured"));
  }
  const v1::UploadState state = run.upload().state();
  if (state == v1::UPLOAD_STATE_PENDING ||
      state == v1::UPLOAD_STATE_UPLOADING) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", run_id, "'s upload is already under way"));
  }
  GM_ASSIGN_OR_RETURN(bool kept, store_->HasStagedObjects(run_id));
  if (!kept && run.created_count() + run.updated_count() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "run ", run_id,
        "'s collected objects were replaced by a later run of instance '",
        run.instance_id(), "'; upload that run instead"));
  }
  v1::UploadStatus pending;
  pending.set_state(v1::UPLOAD_STATE_PENDING);
  GM_RETURN_IF_ERROR(store_->SetRunUpload(run_id, pending));
  GM_RETURN_IF_ERROR(store_->AddEvent(
      run_id, v1::EVENT_LEVEL_INFO, "sync_upload_retry",
      "upload to JupiterOne queued again", "", clock_->NowMs()));
  Queue(run_id);
  if (notify_) notify_();
  return absl::OkStatus();
}

void RunUploader::Loop() {
  while (true) {
    int64_t run_id;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      // Queue() and the destructor change the condition under mu_, which
      // wakes this wait; no timer is needed.
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      run_id = queue_.front();
      queue_.pop_front();
      CoordinatorMetrics::Get().UploadsQueued(queue_.size());
    }
    Upload(run_id);
    {
      absl::MutexLock lock(&mu_);
      queued_or_uploading_.erase(run_id);
    }
    if (notify_) notify_();
  }
}

void RunUploader::Upload(int64_t run_id) {
  const absl::Time started = clock_->Now();
  // The upload's HTTP requests count as provider requests of "jupiterone".
  const http::ProviderLabelScope provider_label("jupiterone");
  v1::UploadStatus status;
  status.set_state(v1::UPLOAD_STATE_FAILED);
  status.set_started_at_ms(absl::ToUnixMillis(started));
  auto finish = [&](const std::string& error) {
    status.set_ended_at_ms(clock_->NowMs());
    if (!error.empty()) {
      status.set_state(v1::UPLOAD_STATE_FAILED);
      status.set_error(error);
      store_
          ->AddEvent(
              run_id, v1::EVENT_LEVEL_ERROR, "sync_upload_failure",
              absl::StrCat("upload to JupiterOne failed: ", error,
                           " (retry with: graphmill run upload ", run_id, ")"),
              "", clock_->NowMs())
          .IgnoreError();
      LogWarn("run ", run_id, ": upload to JupiterOne failed: ", error);
    }
    store_->SetRunUpload(run_id, status).IgnoreError();
    CoordinatorMetrics::Get().UploadEnded(status, clock_->Now() - started);
  };
  absl::StatusOr<v1::Run> run = store_->GetRun(run_id);
  if (!run.ok()) return;
  absl::StatusOr<v1::Instance> instance =
      store_->GetInstance(run->instance_id());
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store_->GetRunDefinition(run_id);
  if (!instance.ok() || !definition.ok()) {
    return finish("the run or its instance could not be read");
  }
  if (!instance->has_upload())
    return finish("the instance has no upload configured");
  absl::Status opened = secrets_->Open(*definition, &*instance);
  if (!opened.ok()) return finish(std::string(opened.message()));

  std::unique_ptr<sinks::Sink> sink = SinkFor(instance->upload(), options_);
  // JupiterOne deletes what an upload leaves out unless its type is partial,
  // and has nothing finer than a type: every type the run did not look at
  // completely is partial there, whether our finalize kept all of it or
  // deleted within complete scopes.
  StagedObjectSource source(store_, run_id);
  sinks::FinalizedRun finalized;
  finalized.run_id = run_id;
  finalized.objects = &source;
  for (const v1::IncompleteType& type : run->incomplete_types()) {
    finalized.partial_types.push_back(type.type());
  }

  status.set_state(v1::UPLOAD_STATE_UPLOADING);
  store_->SetRunUpload(run_id, status).IgnoreError();
  sinks::SinkCallbacks callbacks;
  callbacks.on_event = [&](const v1::Event& event) {
    store_
        ->AddEvent(run_id, event.level(), event.name(), event.description(), "",
                   clock_->NowMs())
        .IgnoreError();
  };
  callbacks.on_progress = [&](const sinks::UploadProgress& progress) {
    v1::UploadStatus now = status;
    now.set_entities_uploaded(progress.entities_uploaded);
    now.set_relationships_uploaded(progress.relationships_uploaded);
    now.set_skipped(progress.skipped);
    store_->SetRunUpload(run_id, now).IgnoreError();
    if (notify_) notify_();
  };
  absl::StatusOr<sinks::Delivery> result = sink->Deliver(finalized, callbacks);
  if (!result.ok()) return finish(std::string(result.status().message()));
  status.set_state(v1::UPLOAD_STATE_SUCCEEDED);
  status.set_job_id(result->id);
  status.set_entities_uploaded(result->entities_uploaded);
  status.set_relationships_uploaded(result->relationships_uploaded);
  status.set_skipped(result->skipped);
  status.clear_error();
  finish("");
  LogInfo("run ", run_id, " uploaded to ", sink->name(), " job ", result->id);
}

}  // namespace graphmill::coordinator
