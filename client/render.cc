// Implementation of client/render.h.
#include "client/render.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/table.h"
#include "common/graph_json.h"
#include "google/protobuf/util/json_util.h"

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

std::string MessageToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    // Only invalid UTF-8 gets here; still one line, and a parseable one.
    return absl::StrCat("{\"error\":\"cannot convert ", message.GetTypeName(),
                        " to JSON\"}\n");
  }
  return absl::StrCat(json, "\n");
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

std::string RenderInstances(const v1::ListInstancesResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Instance& instance : response.instances()) {
    rows.push_back({instance.id(), instance.integration(),
                    FormatTimestampMs(instance.created_at_ms()),
                    FormatTimestampMs(instance.updated_at_ms())});
  }
  return FormatTable({"ID", "INTEGRATION", "CREATED", "UPDATED"}, rows);
}

std::string RenderInstance(const v1::Instance& instance) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"id", instance.id()},
      {"integration", instance.integration()},
      {"created", FormatTimestampMs(instance.created_at_ms())},
      {"updated", FormatTimestampMs(instance.updated_at_ms())},
  };
  for (const std::string& key : SortedKeys(instance.config())) {
    pairs.emplace_back(absl::StrCat("config.", key), instance.config().at(key));
  }
  return FormatKeyValues(pairs);
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
    rows.push_back(
        {absl::StrCat(run.id()), run.instance_id(), RunStatusName(run.status()),
         FormatTimestampMs(run.created_at_ms()), RunDuration(run, now_ms),
         absl::StrCat(settled, "/", run.steps_size()),
         absl::StrCat("+", run.created_count(), " ~", run.updated_count(), " -",
                      run.deleted_count()),
         run.error()});
  }
  return FormatTable({"ID", "INSTANCE", "STATUS", "STARTED", "DURATION",
                      "STEPS", "CHANGES", "ERROR"},
                     rows);
}

std::string RenderRunSummary(const v1::GetRunResponse& response,
                             int64_t now_ms) {
  const v1::Run& run = response.run();
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"run", absl::StrCat(run.id())},
      {"status", RunStatusName(run.status())},
      {"instance", run.instance_id()},
      {"created", FormatTimestampMs(run.created_at_ms())},
      {"ended", FormatTimestampMs(run.ended_at_ms())},
      {"duration", RunDuration(run, now_ms)},
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

std::string RenderProgressLine(const v1::Run& run,
                               const std::set<std::string>* relationship_types,
                               int64_t now_ms) {
  constexpr int kBarWidth = 20;
  int settled = 0;
  int64_t entities = 0;
  int64_t relationships = 0;
  for (const v1::StepRun& step : run.steps()) {
    if (IsSettled(step.status())) ++settled;
    for (const auto& [type, count] : step.type_counts()) {
      if (relationship_types != nullptr &&
          relationship_types->count(type) > 0) {
        relationships += count;
      } else {
        entities += count;
      }
    }
  }
  const int total = run.steps_size();
  const int filled = total == 0 ? 0 : settled * kBarWidth / total;
  std::string line = absl::StrCat(
      "run ", run.id(), " ", RunStatusName(run.status()), " [",
      std::string(filled, '#'), std::string(kBarWidth - filled, '-'), "] ",
      settled, "/", total, " steps  ");
  if (relationship_types != nullptr) {
    absl::StrAppend(&line, entities, " entities  ", relationships,
                    " relationships  ");
  } else {
    absl::StrAppend(&line, entities, " objects  ");
  }
  absl::StrAppend(&line, RunDuration(run, now_ms));
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
  return SanitizeCell(line);
}

std::string RenderEntities(const std::vector<v1::Entity>& entities) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(entities.size());
  for (const v1::Entity& entity : entities) {
    const auto display_name = entity.properties().find("displayName");
    rows.push_back({entity.key(), entity.type(), Classes(entity.classes()),
                    display_name == entity.properties().end()
                        ? ""
                        : ValueToText(display_name->second)});
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
