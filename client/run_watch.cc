// Implementation of client/run_watch.h.
#include "client/run_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "client/render.h"
#include "client/table.h"
#include "google/protobuf/util/message_differencer.h"

namespace graphmill::cli {
namespace {

constexpr char kEraseLine[] = "\r\033[K";
constexpr char kYellow[] = "\033[33m";
constexpr char kRed[] = "\033[31m";
constexpr char kReset[] = "\033[0m";

}  // namespace

RunWatchPrinter::RunWatchPrinter(std::ostream& out, bool terminal)
    : out_(out), terminal_(terminal) {}

void RunWatchPrinter::SetRelationshipTypes(
    std::set<std::string> relationship_types) {
  absl::MutexLock lock(&mutex_);
  relationship_types_ = std::move(relationship_types);
}

void RunWatchPrinter::OnUpdate(const v1::RunUpdate& update, int64_t now_ms) {
  absl::MutexLock lock(&mutex_);
  EraseProgress();
  const v1::Run& run = update.run();
  if (!terminal_ && !IsFinished(run.status())) {
    if (!run_.has_value()) {
      out_ << "run " << run.id() << " " << RunStatusName(run.status())
           << " for instance " << run.instance_id() << "\n";
    } else if (run_->status() != run.status()) {
      out_ << "run " << run.id() << " " << RunStatusName(run.status()) << "\n";
    }
  }
  for (const v1::Event& event : update.new_events()) {
    const char* color = !terminal_                               ? ""
                        : event.level() == v1::EVENT_LEVEL_WARN  ? kYellow
                        : event.level() == v1::EVENT_LEVEL_ERROR ? kRed
                                                                 : "";
    out_ << color << RenderEventLine(event) << (*color != '\0' ? kReset : "")
         << "\n";
  }
  for (const v1::StepRun& step : run.steps()) {
    auto previous =
        step_status_.try_emplace(step.step_id(), v1::STEP_STATUS_PENDING).first;
    if (previous->second == step.status()) continue;
    previous->second = step.status();
    if (terminal_ && !IsSettled(step.status())) continue;
    const bool failed = step.status() == v1::STEP_STATUS_FAILURE;
    out_ << (terminal_ && failed ? kRed : "")
         << RenderStepChangeLine(step, now_ms)
         << (terminal_ && failed ? kReset : "") << "\n";
  }
  if (run.upload().state() != v1::UPLOAD_STATE_UNSPECIFIED) {
    const v1::UploadStatus& upload = run.upload();
    const bool state_changed =
        !upload_.has_value() || upload_->state() != upload.state();
    const bool changed =
        state_changed ||
        !google::protobuf::util::MessageDifferencer::Equals(*upload_, upload);
    if (terminal_ ? state_changed : changed) {
      const bool failed = upload.state() == v1::UPLOAD_STATE_FAILED;
      out_ << (terminal_ && failed ? kRed : "") << RenderUploadLine(upload)
           << (terminal_ && failed ? kReset : "") << "\n";
    }
    upload_ = upload;
  }
  run_ = run;
  DrawProgress(now_ms);
  out_.flush();
}

void RunWatchPrinter::Tick(int64_t now_ms) {
  absl::MutexLock lock(&mutex_);
  if (!terminal_) {
    // A log or CI job sees no redraws: a plain line now and then instead, so
    // a long step does not look stalled.
    if (!run_.has_value() || IsFinished(run_->status())) return;
    if (last_plain_progress_ms_ == 0) last_plain_progress_ms_ = now_ms;
    if (now_ms - last_plain_progress_ms_ < kPlainProgressIntervalMs) return;
    last_plain_progress_ms_ = now_ms;
    out_ << FormatTimestampMs(now_ms) << " progress "
         << RenderProgressLine(*run_,
                               relationship_types_.has_value()
                                   ? &*relationship_types_
                                   : nullptr,
                               now_ms)
         << "\n";
    out_.flush();
    return;
  }
  if (!progress_drawn_) return;
  EraseProgress();
  DrawProgress(now_ms);
  out_.flush();
}

void RunWatchPrinter::Finish() {
  absl::MutexLock lock(&mutex_);
  EraseProgress();
  out_.flush();
}

void RunWatchPrinter::DrawProgress(int64_t now_ms) {
  if (!terminal_ || !run_.has_value()) return;
  out_ << RenderProgressLine(
      *run_, relationship_types_.has_value() ? &*relationship_types_ : nullptr,
      now_ms);
  progress_drawn_ = true;
}

void RunWatchPrinter::EraseProgress() {
  if (!progress_drawn_) return;
  out_ << kEraseLine;
  progress_drawn_ = false;
}

}  // namespace graphmill::cli
