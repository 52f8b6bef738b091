// Instance settings on the command line: polling-interval names, and how
// `instance create` builds and `instance update` merges the instance it sends.
#ifndef GRAPHMILL_CLIENT_INSTANCE_SETTINGS_H_
#define GRAPHMILL_CLIENT_INSTANCE_SETTINGS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/command_line.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::cli {

// The --schedule names: "30m", "1h", "4h", "8h", "12h", "1d", "1w" and
// "disabled". nullopt for anything else.
std::optional<v1::PollingInterval> ParsePollingInterval(absl::string_view name);

// The --schedule name of `interval` ("1h"); "unknown" for UNSPECIFIED and
// values outside the list.
std::string PollingIntervalName(v1::PollingInterval interval);

// "30m, 1h, 4h, 8h, 12h, 1d, 1w or disabled", for messages.
std::string PollingIntervalChoices();

// The flags a JupiterOne upload still lacks ("--j1-account ID", ...), in a
// fixed order; empty when it is complete. `has_token` says whether a token is
// set (given now, or stored on the server).
std::vector<std::string> MissingUploadFlags(const v1::JupiterOneUpload& upload,
                                            bool has_token);

// The instance `instance create` sends: id, integration, config and settings
// from `line`. Errors are those of MergeInstanceUpdate.
absl::StatusOr<v1::Instance> BuildInstance(const CommandLine& line);

// The whole instance `instance update` sends (see UpdateInstanceRequest):
// `stored`, as GetInstance returned it, with the changes on `line` applied.
// - config: stored values (secrets read back as "***", which the server takes
//   as "keep"), overridden by `line.config`, minus `line.unset_config` (a
//   field that is not set is no error).
// - schedule: --schedule/--cron replace the interval or cron, --jitter the
//   jitter; each keeps the other's stored value.
// - disabled steps: stored, plus --disable-step (appended once), minus
//   --enable-step (no error when not disabled).
// - upload: --no-upload removes it; --j1-* flags change the given fields of
//   the stored one (its token stays "***" unless a new one is given).
// Output-only fields are cleared. FAILED_PRECONDITION for --jitter when the
// result has no interval or cron; INVALID_ARGUMENT naming the missing flags
// when the resulting upload is incomplete.
absl::StatusOr<v1::Instance> MergeInstanceUpdate(const v1::Instance& stored,
                                                 const CommandLine& line);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_INSTANCE_SETTINGS_H_
