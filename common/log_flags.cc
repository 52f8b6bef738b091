// Implementation of common/log_flags.h.
#include "common/log_flags.h"

#include <grpc/support/log.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

ABSL_FLAG(graphmill::LogFormat, log_format, graphmill::LogFormat::kText,
          "log line format on stderr: text (\"<time> <LEVEL> <program>: "
          "message\") or json (one object per line: time, level, program, "
          "message and fields such as run, task, instance)");
ABSL_FLAG(graphmill::LogLevel, log_level, graphmill::LogLevel::kInfo,
          "least severe level logged: debug, info, warn or error");

namespace graphmill {
namespace {

// gRPC's own messages (gpr_log; GRPC_VERBOSITY decides which are made) go
// through common/log, so they take the same format and level.
void LogFromGrpc(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  if (!LogEnabled(level)) return;
  Log(level, absl::StrCat("gRPC ", args->file == nullptr ? "" : args->file, ":",
                          args->line, ": ",
                          args->message == nullptr ? "" : args->message));
}

}  // namespace

void ApplyLogFlags() {
  SetLogFormat(absl::GetFlag(FLAGS_log_format));
  SetLogLevel(absl::GetFlag(FLAGS_log_level));
  gpr_set_log_function(&LogFromGrpc);
}

}  // namespace graphmill
