// Implementation of client/instance_settings.h.
#include "client/instance_settings.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace graphmill::cli {
namespace {

constexpr std::pair<absl::string_view, v1::PollingInterval> kIntervals[] = {
    {"30m", v1::POLLING_INTERVAL_THIRTY_MINUTES},
    {"1h", v1::POLLING_INTERVAL_ONE_HOUR},
    {"4h", v1::POLLING_INTERVAL_FOUR_HOURS},
    {"8h", v1::POLLING_INTERVAL_EIGHT_HOURS},
    {"12h", v1::POLLING_INTERVAL_TWELVE_HOURS},
    {"1d", v1::POLLING_INTERVAL_ONE_DAY},
    {"1w", v1::POLLING_INTERVAL_ONE_WEEK},
    {"disabled", v1::POLLING_INTERVAL_DISABLED},
};

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

std::optional<v1::PollingInterval> ParsePollingInterval(
    absl::string_view name) {
  for (const auto& [text, interval] : kIntervals) {
    if (text == name) return interval;
  }
  return std::nullopt;
}

std::string PollingIntervalName(v1::PollingInterval interval) {
  for (const auto& [text, value] : kIntervals) {
    if (value == interval) return std::string(text);
  }
  return "unknown";
}

std::string PollingIntervalChoices() {
  std::vector<absl::string_view> names;
  for (const auto& [text, interval] : kIntervals) names.push_back(text);
  const absl::string_view last = names.back();
  names.pop_back();
  return absl::StrCat(absl::StrJoin(names, ", "), " or ", last);
}

std::vector<std::string> MissingUploadFlags(const v1::JupiterOneUpload& upload,
                                            bool has_token) {
  std::vector<std::string> missing;
  if (upload.account_id().empty()) missing.push_back("--j1-account ID");
  if (!has_token) {
    missing.push_back("--j1-token-env ENVVAR or --j1-token-file FILE");
  }
  if (upload.integration_instance_id().empty()) {
    missing.push_back("--j1-integration-instance ID");
  }
  return missing;
}

absl::StatusOr<v1::Instance> BuildInstance(const CommandLine& line) {
  v1::Instance empty;
  empty.set_id(line.instance_id);
  empty.set_integration(line.integration);
  return MergeInstanceUpdate(empty, line);
}

absl::StatusOr<v1::Instance> MergeInstanceUpdate(const v1::Instance& stored,
                                                 const CommandLine& line) {
  const InstanceSettings& settings = line.settings;
  v1::Instance instance = stored;
  instance.clear_created_at_ms();
  instance.clear_updated_at_ms();
  instance.clear_next_run_at_ms();

  auto& config = *instance.mutable_config();
  for (const auto& [key, value] : line.config) config[key] = value;
  for (const std::string& key : line.unset_config) config.erase(key);

  if (settings.interval.has_value() || settings.cron.has_value() ||
      settings.jitter_seconds.has_value()) {
    v1::Schedule& schedule = *instance.mutable_schedule();
    if (settings.interval.has_value())
      schedule.set_interval(*settings.interval);
    if (settings.cron.has_value()) schedule.set_cron(*settings.cron);
    if (settings.jitter_seconds.has_value()) {
      if (schedule.when_case() == v1::Schedule::WHEN_NOT_SET) {
        return absl::FailedPreconditionError(absl::StrCat(
            "instance '", instance.id(),
            "' has no schedule: give --schedule or --cron with --jitter"));
      }
      schedule.set_jitter_seconds(*settings.jitter_seconds);
    }
  }

  std::vector<std::string> disabled(stored.disabled_steps().begin(),
                                    stored.disabled_steps().end());
  for (const std::string& step : settings.disable_steps) {
    if (!Contains(disabled, step)) disabled.push_back(step);
  }
  disabled.erase(std::remove_if(disabled.begin(), disabled.end(),
                                [&](const std::string& step) {
                                  return Contains(settings.enable_steps, step);
                                }),
                 disabled.end());
  instance.mutable_disabled_steps()->Assign(disabled.begin(), disabled.end());

  if (settings.rate_limit_per_second.has_value()) {
    instance.set_rate_limit_per_second(*settings.rate_limit_per_second);
  }
  if (settings.incremental.has_value()) {
    instance.mutable_incremental()->set_disabled(!*settings.incremental);
  }
  if (settings.look_back_hours.has_value()) {
    instance.mutable_incremental()->set_look_back_hours(
        *settings.look_back_hours);
  }
  if (settings.full_run_every_hours.has_value()) {
    instance.mutable_incremental()->set_full_run_every_hours(
        *settings.full_run_every_hours);
  }

  if (settings.no_upload) {
    instance.clear_upload();
  } else if (settings.HasUploadFlags()) {
    v1::JupiterOneUpload& upload = *instance.mutable_upload();
    if (settings.j1_account_id.has_value()) {
      upload.set_account_id(*settings.j1_account_id);
    }
    if (settings.j1_api_token.has_value()) {
      upload.set_api_token(*settings.j1_api_token);
    }
    if (settings.j1_integration_instance_id.has_value()) {
      upload.set_integration_instance_id(*settings.j1_integration_instance_id);
    }
    if (settings.j1_base_url.has_value()) {
      upload.set_base_url(*settings.j1_base_url);
    }
    if (settings.j1_compress.has_value()) {
      upload.set_compress(*settings.j1_compress);
    }
    // A stored upload has a token even when the server reads it back empty.
    const std::vector<std::string> missing = MissingUploadFlags(
        upload, stored.has_upload() || settings.j1_api_token.has_value());
    if (!missing.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("instance '", instance.id(),
                       "': JupiterOne upload is incomplete: missing ",
                       absl::StrJoin(missing, ", ")));
    }
  }
  return instance;
}

}  // namespace graphmill::cli
