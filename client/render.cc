// Implementation of client/render.h.
#include "client/render.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/instance_settings.h"
#include "client/table.h"
#include "common/graph_json.h"

namespace graphmill::cli {
namespace {

std::string StripPrefix(const std::string& name, absl::string_view prefix) {
  if (name.empty()) return "UNKNOWN";
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

// End of an interval that may still be open.
int64_t EndOrNow(int64_t end_ms, int64_t now_ms) {
  return end_ms != 0 ? end_ms : now_ms;
}

std::string RunDuration(const v1::Run& run, int64_t now_ms) {
  if (run.created_at_ms() == 0) return "-";
  return FormatDurationMs(run.created_at_ms(),
                          EndOrNow(run.ended_at_ms(), now_ms));
}

// The run's whole duration (created to the end of its upload, else of the
// run: validation, steps, finalize and upload) and, once finalize began, where
// it went: "5.9s (steps 4.4s, finalize 1.2s, upload 300ms)". An upload under
// way counts up to now.
std::string RunDurationParts(const v1::Run& run, int64_t now_ms) {
  if (run.created_at_ms() == 0 || run.finalize_started_at_ms() == 0) {
    return RunDuration(run, now_ms);
  }
  const v1::UploadStatus& upload = run.upload();
  int64_t end_ms = EndOrNow(run.ended_at_ms(), now_ms);
  if (upload.started_at_ms() != 0)
    end_ms = std::max(end_ms, EndOrNow(upload.ended_at_ms(), now_ms));
  std::string text = FormatDurationMs(run.created_at_ms(), end_ms);
  absl::StrAppend(
      &text, " (steps ",
      FormatDurationMs(run.created_at_ms(), run.finalize_started_at_ms()),
      ", finalize ",
      FormatDurationMs(run.finalize_started_at_ms(),
                       EndOrNow(run.finalized_at_ms(), now_ms)));
  if (upload.started_at_ms() != 0) {
    absl::StrAppend(&text, ", upload ",
                    FormatDurationMs(upload.started_at_ms(),
                                     EndOrNow(upload.ended_at_ms(), now_ms)));
  }
  absl::StrAppend(&text, ")");
  return text;
}

std::string StepDuration(const v1::StepRun& step, int64_t now_ms) {
  if (step.started_at_ms() == 0) return "-";
  return FormatDurationMs(step.started_at_ms(),
                          EndOrNow(step.ended_at_ms(), now_ms));
}

std::string StepTasks(const v1::StepRun& step) {
  if (step.tasks_total() == 0) return "-";
  return absl::StrCat(step.tasks_done(), "/", step.tasks_total());
}

// "circleci_user=12 circleci_account_has_user=12", by type name.
std::string TypeCounts(const v1::StepRun& step) {
  std::vector<std::pair<std::string, int64_t>> counts(
      step.type_counts().begin(), step.type_counts().end());
  std::sort(counts.begin(), counts.end());
  return absl::StrJoin(counts, " ", absl::PairFormatter("="));
}

int64_t ObjectCount(const v1::StepRun& step) {
  int64_t total = 0;
  for (const auto& [type, count] : step.type_counts()) total += count;
  return total;
}

std::string Changes(const v1::Run& run) {
  return absl::StrCat(run.created_count(), " created, ", run.updated_count(),
                      " updated, ", run.deleted_count(), " deleted");
}

std::string TimeOfDay(int64_t epoch_ms) {
  return absl::FormatTime("%H:%M:%SZ", absl::FromUnixMillis(epoch_ms),
                          absl::UTCTimeZone());
}

std::string Classes(
    const google::protobuf::RepeatedPtrField<std::string>& classes) {
  return absl::StrJoin(classes, ",");
}

// The upload state for tables: "-" (or `none`) when the run has no upload.
std::string UploadStateText(v1::UploadState state, absl::string_view none) {
  return state == v1::UPLOAD_STATE_UNSPECIFIED ? std::string(none)
                                               : UploadStateName(state);
}

std::vector<std::pair<std::string, std::string>> UploadPairs(
    const v1::UploadStatus& upload) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"state", UploadStateText(upload.state(), "none")},
      {"job", upload.job_id().empty() ? "-" : upload.job_id()},
      {"entities uploaded", absl::StrCat(upload.entities_uploaded())},
      {"relationships uploaded", absl::StrCat(upload.relationships_uploaded())},
      {"skipped", absl::StrCat(upload.skipped())},
  };
  if (!upload.error().empty()) pairs.emplace_back("error", upload.error());
  return pairs;
}

bool HasUpload(const v1::Run& run) {
  return run.upload().state() != v1::UPLOAD_STATE_UNSPECIFIED;
}

std::string DisplayName(const v1::Entity& entity) {
  const auto display_name = entity.properties().find("displayName");
  return display_name == entity.properties().end()
             ? ""
             : ValueToText(display_name->second);
}

template <typename Map>
std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

std::string RunStatusName(v1::RunStatus status) {
  return StripPrefix(v1::RunStatus_Name(status), "RUN_STATUS_");
}

std::string StepStatusName(v1::StepStatus status) {
  return StripPrefix(v1::StepStatus_Name(status), "STEP_STATUS_");
}

std::string EventLevelName(v1::EventLevel level) {
  return StripPrefix(v1::EventLevel_Name(level), "EVENT_LEVEL_");
}

std::string UploadStateName(v1::UploadState state) {
  return StripPrefix(v1::UploadState_Name(state), "UPLOAD_STATE_");
}

std::string RunTriggerName(v1::RunTrigger trigger) {
  return StripPrefix(v1::RunTrigger_Name(trigger), "RUN_TRIGGER_");
}

std::string DirectionName(v1::Direction direction) {
  switch (direction) {
    case v1::DIRECTION_OUT:
      return "out";
    case v1::DIRECTION_IN:
      return "in";
    default:
      return "unknown";
  }
}

std::string TokenRoleName(v1::TokenRole role) {
  switch (role) {
    case v1::TOKEN_ROLE_ADMIN:
      return "admin";
    case v1::TOKEN_ROLE_READER:
      return "reader";
    case v1::TOKEN_ROLE_WORKER:
      return "worker";
    default:
      return "unknown";
  }
}

bool IsFinished(v1::RunStatus status) {
  return status == v1::RUN_STATUS_SUCCEEDED ||
         status == v1::RUN_STATUS_PARTIAL || status == v1::RUN_STATUS_FAILED ||
         status == v1::RUN_STATUS_CANCELLED;
}

bool IsSettled(v1::StepStatus status) {
  return status == v1::STEP_STATUS_SUCCESS ||
         status == v1::STEP_STATUS_FAILURE ||
         status == v1::STEP_STATUS_PARTIAL ||
         status == v1::STEP_STATUS_DISABLED;
}

std::string ValueToText(const v1::Value& value) {
  if (value.kind_case() == v1::Value::kStringValue) return value.string_value();
  return ValueToJson(value);
}

std::string RenderIntegrations(const v1::ListIntegrationsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::IntegrationDefinition& integration : response.integrations()) {
    rows.push_back({integration.name(), integration.version(),
                    integration.display_name(),
                    absl::StrCat(integration.steps_size())});
  }
  return FormatTable({"NAME", "VERSION", "DISPLAY NAME", "STEPS"}, rows);
}

std::string RenderInstances(const v1::ListInstancesResponse& response,
                            const std::map<std::string, v1::Run>& last_runs) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Instance& instance : response.instances()) {
    std::string schedule = RenderSchedule(instance);
    schedule = schedule.substr(0, schedule.find(" (manual runs only)"));
    std::string last_run = "-";
    auto run = last_runs.find(instance.id());
    if (run != last_runs.end()) {
      const int64_t at_ms = run->second.ended_at_ms() > 0
                                ? run->second.ended_at_ms()
                                : run->second.created_at_ms();
      last_run = absl::StrCat(run->second.id(), " ",
                              RunStatusName(run->second.status()), " ",
                              FormatTimestampMs(at_ms));
    }
    rows.push_back({instance.id(), instance.integration(), schedule, last_run,
                    FormatTimestampMs(instance.next_run_at_ms())});
  }
  return FormatTable({"ID", "INTEGRATION", "SCHEDULE", "LAST RUN", "NEXT RUN"},
                     rows);
}

std::string RenderTokens(const v1::ListTokensResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::TokenInfo& token : response.tokens()) {
    rows.push_back({token.name(), TokenRoleName(token.role()),
                    FormatTimestampMs(token.created_at_ms())});
  }
  return FormatTable({"NAME", "ROLE", "CREATED"}, rows);
}

std::string RenderSchedule(const v1::Instance& instance) {
  constexpr char kManualOnly[] = " (manual runs only)";
  const v1::Schedule& schedule = instance.schedule();
  std::string text;
  if (schedule.when_case() == v1::Schedule::kCron) {
    text = absl::StrCat("cron ", schedule.cron());
  } else if (schedule.when_case() == v1::Schedule::kInterval &&
             schedule.interval() == v1::POLLING_INTERVAL_DISABLED) {
    return absl::StrCat("disabled", kManualOnly);
  } else if (schedule.when_case() == v1::Schedule::kInterval &&
             schedule.interval() != v1::POLLING_INTERVAL_UNSPECIFIED) {
    text = absl::StrCat("every ", PollingIntervalName(schedule.interval()));
  } else {
    return absl::StrCat("none", kManualOnly);
  }
  if (schedule.jitter_seconds() > 0) {
    absl::StrAppend(&text, " (jitter ", schedule.jitter_seconds(), "s)");
  }
  return text;
}

namespace {

// v1.IncrementalRuns as `instance get` shows it, defaults filled in.
std::string RenderIncrementalRuns(const v1::IncrementalRuns& incremental) {
  if (incremental.disabled()) return "full only";
  auto hours = [](int64_t value) {
    return absl::StrCat(value > 0 ? value : 24, "h");
  };
  return absl::StrCat(
      "incremental (look back ", hours(incremental.look_back_hours()),
      ", a full run every ", hours(incremental.full_run_every_hours()), ")");
}

}  // namespace

std::string RenderInstance(const v1::Instance& instance) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"id", instance.id()},
      {"integration", instance.integration()},
      {"created", FormatTimestampMs(instance.created_at_ms())},
      {"updated", FormatTimestampMs(instance.updated_at_ms())},
      {"schedule", RenderSchedule(instance)},
      {"next run", FormatTimestampMs(instance.next_run_at_ms())},
      {"disabled steps", instance.disabled_steps().empty()
                             ? "-"
                             : absl::StrJoin(instance.disabled_steps(), ",")},
      {"rate limit",
       instance.rate_limit_per_second() > 0
           ? absl::StrCat(instance.rate_limit_per_second(), " requests/s")
           : "integration default"},
      {"runs", RenderIncrementalRuns(instance.incremental())},
  };
  if (!instance.has_upload()) {
    pairs.emplace_back("upload", "none");
  } else {
    const v1::JupiterOneUpload& upload = instance.upload();
    pairs.emplace_back("upload.account", upload.account_id());
    pairs.emplace_back("upload.integrationInstance",
                       upload.integration_instance_id());
    pairs.emplace_back("upload.baseUrl",
                       upload.base_url().empty()
                           ? "https://api.us.jupiterone.io (default)"
                           : upload.base_url());
    pairs.emplace_back("upload.token",
                       upload.api_token().empty() ? "-" : "***");
    pairs.emplace_back("upload.compress", upload.compress() ? "yes" : "no");
  }
  for (const std::string& key : SortedKeys(instance.config())) {
    pairs.emplace_back(absl::StrCat("config.", key), instance.config().at(key));
  }
  return FormatKeyValues(pairs);
}

v1::Instance MaskUploadToken(v1::Instance instance) {
  if (!instance.upload().api_token().empty()) {
    instance.mutable_upload()->set_api_token("***");
  }
  return instance;
}

std::string RenderValidation(const v1::ValidateInstanceResponse& response) {
  std::string line = response.valid() ? "valid" : "invalid";
  if (!response.message().empty())
    absl::StrAppend(&line, ": ", response.message());
  if (!response.worker_id().empty()) {
    absl::StrAppend(&line, " (worker ", response.worker_id(), ")");
  }
  return SanitizeCell(line);
}

std::string RenderWebhookInstall(const v1::InstallWebhooksResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::WebhookInstallResult& result : response.results()) {
    const char* outcome = !result.error().empty() ? "error"
                          : result.created()      ? "created"
                                                  : "exists";
    rows.push_back({result.resource(), outcome, result.error()});
  }
  return absl::StrCat(
      SanitizeCell(absl::StrCat("webhooks to ", response.endpoint_url())), "\n",
      FormatTable({"RESOURCE", "WEBHOOK", "ERROR"}, rows));
}

std::string RenderRunStarted(const v1::Run& run) {
  return absl::StrCat("run ", run.id(), " started for instance ",
                      run.instance_id(), "\n");
}

std::string RenderRuns(const v1::ListRunsResponse& response, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Run& run : response.runs()) {
    int settled = 0;
    for (const v1::StepRun& step : run.steps())
      settled += IsSettled(step.status()) ? 1 : 0;
    std::string error = run.error();
    if (error.empty() && !run.upload().error().empty()) {
      error = absl::StrCat("upload: ", run.upload().error());
    }
    rows.push_back(
        {absl::StrCat(run.id()), run.instance_id(),
         run.trigger() == v1::RUN_TRIGGER_UNSPECIFIED
             ? "-"
             : RunTriggerName(run.trigger()),
         RunStatusName(run.status()), FormatTimestampMs(run.created_at_ms()),
         RunDuration(run, now_ms), absl::StrCat(settled, "/", run.steps_size()),
         absl::StrCat("+", run.created_count(), " ~", run.updated_count(), " -",
                      run.deleted_count()),
         UploadStateText(run.upload().state(), "-"), error});
  }
  return FormatTable({"ID", "INSTANCE", "TRIGGER", "STATUS", "STARTED",
                      "DURATION", "STEPS", "CHANGES", "UPLOAD", "ERROR"},
                     rows);
}

std::string RenderRunSummary(const v1::GetRunResponse& response,
                             int64_t now_ms) {
  const v1::Run& run = response.run();
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"run", absl::StrCat(run.id())},
      {"status", RunStatusName(run.status())},
      {"instance", run.instance_id()},
      {"trigger", run.trigger() == v1::RUN_TRIGGER_UNSPECIFIED
                      ? "-"
                      : RunTriggerName(run.trigger())},
      {"mode",
       run.incremental_since_ms() > 0
           ? absl::StrCat("incremental (pipelines since ",
                          FormatTimestampMs(run.incremental_since_ms()), ")")
           : "full"},
      {"created", FormatTimestampMs(run.created_at_ms())},
      {"started", FormatTimestampMs(run.started_at_ms())},
      {"ended", FormatTimestampMs(run.ended_at_ms())},
      {"duration", RunDurationParts(run, now_ms)},
  };
  if (!run.error().empty()) pairs.emplace_back("error", run.error());
  pairs.emplace_back("changes", Changes(run));
  std::string text = FormatKeyValues(pairs);

  std::vector<std::vector<std::string>> steps;
  std::vector<std::pair<std::string, std::string>> step_errors;
  for (const v1::StepRun& step : run.steps()) {
    steps.push_back({step.step_id(), StepStatusName(step.status()),
                     StepDuration(step, now_ms), StepTasks(step),
                     TypeCounts(step)});
    if (!step.error().empty()) {
      step_errors.emplace_back(absl::StrCat("  ", step.step_id()),
                               step.error());
    }
  }
  absl::StrAppend(
      &text, "\n",
      FormatTable({"STEP", "STATUS", "DURATION", "TASKS", "COUNTS"}, steps));
  if (!step_errors.empty()) {
    absl::StrAppend(&text, "\nStep errors:\n", FormatKeyValues(step_errors));
  }
  if (run.incomplete_types_size() > 0) {
    // What the run did not look at completely, and so did not delete.
    std::vector<std::vector<std::string>> kept;
    for (const v1::IncompleteType& type : run.incomplete_types()) {
      kept.push_back({type.type(), type.all_kept() ? "all" : "unlisted scopes",
                      SanitizeCell(type.reason())});
    }
    absl::StrAppend(&text, "\nIncomplete types (kept, not deleted):\n",
                    FormatTable({"TYPE", "KEPT", "WHY"}, kept));
  }
  if (HasUpload(run)) {
    absl::StrAppend(&text, "\nUpload to JupiterOne:\n",
                    FormatKeyValues(UploadPairs(run.upload())));
  }

  absl::StrAppend(&text, "\nEvents:\n");
  if (response.events().empty()) {
    absl::StrAppend(&text, "(none)\n");
  } else {
    std::vector<std::vector<std::string>> events;
    for (const v1::Event& event : response.events()) {
      events.push_back({FormatTimestampMs(event.time_ms()),
                        EventLevelName(event.level()), event.name(),
                        event.step_id().empty() ? "-" : event.step_id(),
                        event.description()});
    }
    absl::StrAppend(
        &text,
        FormatTable({"TIME", "LEVEL", "NAME", "STEP", "DESCRIPTION"}, events));
  }
  return text;
}

std::string RenderUploadStatus(const v1::Run& run) {
  return absl::StrCat("run ", run.id(), " upload to JupiterOne\n",
                      FormatKeyValues(UploadPairs(run.upload())));
}

std::string RenderUploadLine(const v1::UploadStatus& upload) {
  std::string line =
      absl::StrCat("upload ", UploadStateText(upload.state(), "none"));
  if (!upload.job_id().empty())
    absl::StrAppend(&line, " job ", upload.job_id());
  absl::StrAppend(&line, ": ", upload.entities_uploaded(), " entities, ",
                  upload.relationships_uploaded(), " relationships uploaded, ",
                  upload.skipped(), " skipped");
  if (!upload.error().empty()) absl::StrAppend(&line, ": ", upload.error());
  return SanitizeCell(line);
}

std::optional<int64_t> EstimateRemainingMs(const v1::Run& run, int64_t now_ms) {
  if (IsFinished(run.status()) || run.created_at_ms() == 0) return std::nullopt;
  int64_t done = 0;
  int64_t total = 0;
  for (const v1::StepRun& step : run.steps()) {
    done += step.tasks_done();
    total += step.tasks_total();
  }
  const int64_t elapsed_ms = now_ms - run.created_at_ms();
  if (done <= 0 || done >= total || elapsed_ms < 1000) return std::nullopt;
  // In double: elapsed times tasks could overflow int64 for a long, big run.
  return static_cast<int64_t>(static_cast<double>(elapsed_ms) *
                              static_cast<double>(total - done) /
                              static_cast<double>(done));
}

std::string FormatEta(int64_t remaining_ms) {
  // Rounded up, so a run about to end shows "1s", never "0s".
  const int64_t seconds = std::max<int64_t>(1, (remaining_ms + 999) / 1000);
  if (seconds < 60) return absl::StrCat(seconds, "s");
  return FormatShortDuration(absl::Seconds(seconds));
}

std::string RenderProgressLine(const v1::Run& run,
                               const std::set<std::string>* relationship_types,
                               int64_t now_ms) {
  constexpr int kBarWidth = 20;
  int settled = 0;
  int64_t entities = 0;
  int64_t relationships = 0;
  for (const v1::StepRun& step : run.steps()) {
    if (IsSettled(step.status())) ++settled;
    // Committed objects and those running tasks have sent so far, so the
    // counts move while a long task runs.
    for (const auto* counts :
         {&step.type_counts(), &step.arriving_type_counts()}) {
      for (const auto& [type, count] : *counts) {
        if (relationship_types != nullptr &&
            relationship_types->count(type) > 0) {
          relationships += count;
        } else {
          entities += count;
        }
      }
    }
  }
  int64_t tasks_done = 0;
  int64_t tasks_total = 0;
  for (const v1::StepRun& step : run.steps()) {
    tasks_done += step.tasks_done();
    tasks_total += step.tasks_total();
  }
  const int total = run.steps_size();
  const int filled = total == 0 ? 0 : settled * kBarWidth / total;
  std::string line = absl::StrCat(
      "run ", run.id(), " ", RunStatusName(run.status()), " [",
      std::string(filled, '#'), std::string(kBarWidth - filled, '-'), "] ",
      settled, "/", total, " steps  ");
  if (tasks_total > 0)
    absl::StrAppend(&line, "tasks ", tasks_done, "/", tasks_total, "  ");
  if (relationship_types != nullptr) {
    absl::StrAppend(&line, entities, " entities  ", relationships,
                    " relationships  ");
  } else {
    absl::StrAppend(&line, entities, " objects  ");
  }
  absl::StrAppend(&line, RunDuration(run, now_ms));
  // Objects per second so far, while the run collects.
  const int64_t elapsed_ms =
      EndOrNow(run.ended_at_ms(), now_ms) - run.created_at_ms();
  const int64_t objects = entities + relationships;
  if (!IsFinished(run.status()) && run.created_at_ms() > 0 &&
      elapsed_ms >= 1000 && objects > 0) {
    absl::StrAppend(&line, "  ",
                    absl::StrFormat("%.0f", objects * 1000.0 / elapsed_ms),
                    " objects/s");
  }
  if (std::optional<int64_t> eta = EstimateRemainingMs(run, now_ms)) {
    absl::StrAppend(&line, "  ETA ", FormatEta(*eta));
  }
  if (HasUpload(run)) {
    absl::StrAppend(&line, "  upload ", UploadStateName(run.upload().state()),
                    " ",
                    run.upload().entities_uploaded() +
                        run.upload().relationships_uploaded(),
                    " uploaded");
  }
  return line;
}

std::string RenderEventLine(const v1::Event& event) {
  std::string line =
      absl::StrCat(TimeOfDay(event.time_ms()), " ",
                   EventLevelName(event.level()), " ", event.name());
  if (!event.step_id().empty())
    absl::StrAppend(&line, " [", event.step_id(), "]");
  if (!event.description().empty())
    absl::StrAppend(&line, " ", event.description());
  return SanitizeCell(line);
}

std::string RenderStepChangeLine(const v1::StepRun& step, int64_t now_ms) {
  const int64_t at_ms = step.ended_at_ms() != 0     ? step.ended_at_ms()
                        : step.started_at_ms() != 0 ? step.started_at_ms()
                                                    : now_ms;
  std::string line = absl::StrCat(TimeOfDay(at_ms), " step ", step.step_id(),
                                  " ", StepStatusName(step.status()));
  if (IsSettled(step.status()) && step.status() != v1::STEP_STATUS_DISABLED) {
    absl::StrAppend(&line, " ", StepDuration(step, now_ms), " tasks ",
                    StepTasks(step), " objects ", ObjectCount(step));
  }
  if (!step.error().empty()) absl::StrAppend(&line, ": ", step.error());
  return SanitizeCell(line);
}

std::string RenderRunEndLine(const v1::Run& run) {
  std::string line =
      absl::StrCat("run ", run.id(), " ", RunStatusName(run.status()), " in ",
                   RunDuration(run, run.ended_at_ms()));
  if (run.status() == v1::RUN_STATUS_SUCCEEDED ||
      run.status() == v1::RUN_STATUS_PARTIAL) {
    absl::StrAppend(&line, ": ", Changes(run));
  }
  if (!run.error().empty()) absl::StrAppend(&line, ": ", run.error());
  if (HasUpload(run)) {
    absl::StrAppend(&line, "; upload ", UploadStateName(run.upload().state()));
  }
  return SanitizeCell(line);
}

std::string RenderEntities(const std::vector<v1::Entity>& entities) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(entities.size());
  for (const v1::Entity& entity : entities) {
    rows.push_back({entity.key(), entity.type(), Classes(entity.classes()),
                    DisplayName(entity)});
  }
  return FormatTable({"KEY", "TYPE", "CLASS", "DISPLAY NAME"}, rows);
}

std::string RenderRelationships(
    const std::vector<v1::Relationship>& relationships) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(relationships.size());
  for (const v1::Relationship& relationship : relationships) {
    rows.push_back({relationship.key(), relationship.type(),
                    relationship.class_name(), relationship.from_entity_key(),
                    relationship.to_entity_key()});
  }
  return FormatTable({"KEY", "TYPE", "CLASS", "FROM", "TO"}, rows);
}

std::string RenderNeighbors(const std::vector<NeighborRow>& neighbors,
                            bool with_hops) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(neighbors.size());
  for (const NeighborRow& row : neighbors) {
    const v1::Neighbor& neighbor = row.neighbor;
    std::vector<std::string> cells;
    if (with_hops) cells = {absl::StrCat(row.depth), row.from};
    for (std::string cell :
         {DirectionName(neighbor.direction()),
          neighbor.relationship().class_name(), neighbor.relationship().key(),
          neighbor.entity().key(), neighbor.entity().type(),
          DisplayName(neighbor.entity())}) {
      cells.push_back(std::move(cell));
    }
    rows.push_back(std::move(cells));
  }
  std::vector<std::string> header = {"DIRECTION", "CLASS", "RELATIONSHIP",
                                     "NEIGHBOR",  "TYPE",  "DISPLAY NAME"};
  if (with_hops) header.insert(header.begin(), {"DEPTH", "FROM"});
  return FormatTable(header, rows);
}

std::string RenderGraphCount(const GraphCount& count) {
  std::vector<std::vector<std::string>> types;
  std::vector<std::vector<std::string>> classes;
  for (const auto& [kind, counts, table] :
       {std::tuple{"entity", &count.entity_types(), &types},
        std::tuple{"entity", &count.entity_classes(), &classes},
        std::tuple{"relationship", &count.relationship_types(), &types},
        std::tuple{"relationship", &count.relationship_classes(), &classes}}) {
    for (const NameCount& entry : *counts) {
      table->push_back({kind, entry.name(), absl::StrCat(entry.count())});
    }
  }
  return absl::StrCat("instance ", SanitizeCell(count.instance_id()),
                      " as of sequence ", count.as_of_sequence(), ": ",
                      count.entities(), " entities, ", count.relationships(),
                      " relationships\n\n",
                      FormatTable({"KIND", "TYPE", "COUNT"}, types), "\n",
                      FormatTable({"KIND", "CLASS", "COUNT"}, classes));
}

std::string RenderEntity(const v1::Entity& entity, bool include_raw_data) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"_key", entity.key()},
      {"_type", entity.type()},
      {"_class", Classes(entity.classes())},
  };
  for (const std::string& name : SortedKeys(entity.properties())) {
    pairs.emplace_back(name, ValueToText(entity.properties().at(name)));
  }
  if (include_raw_data) {
    for (const v1::RawData& raw : entity.raw_data()) {
      pairs.emplace_back(absl::StrCat("_rawData.", raw.name()), raw.json());
    }
  }
  return FormatKeyValues(pairs);
}

}  // namespace graphmill::cli
