// Implementation of coordinator/run/events.h.
#include "coordinator/run/events.h"

#include "common/log.h"

namespace graphmill::coordinator {

namespace {

LogLevel LevelOf(v1::EventLevel level) {
  switch (level) {
    case v1::EVENT_LEVEL_WARN:
      return LogLevel::kWarn;
    case v1::EVENT_LEVEL_ERROR:
      return LogLevel::kError;
    default:
      return LogLevel::kInfo;
  }
}

}  // namespace

void RunEvents::Record(int64_t run_id, const RunEvent& event) {
  // Also a log line, with fields a log pipeline can select on (--log_format
  // json). Event texts are what Admin.GetRun shows: already free of secrets.
  LogFields fields = {{"run", run_id}, {"event", event.name}};
  if (!event.step_id.empty()) fields.emplace_back("step", event.step_id);
  Log(LevelOf(event.level), fields, event.description);
  absl::Status status =
      store_->AddEvent(run_id, event.level, event.name, event.description,
                       event.step_id, clock_->NowMs());
  if (!status.ok())
    LogError("run ", run_id, ": cannot record event: ", status.ToString());
}

}  // namespace graphmill::coordinator
