// --log_format and --log_level, shared by graphmill-coordinator and
// graphmill-worker.
#ifndef GRAPHMILL_COMMON_LOG_FLAGS_H_
#define GRAPHMILL_COMMON_LOG_FLAGS_H_

namespace graphmill {

// Applies --log_format and --log_level to common/log (after
// absl::ParseCommandLine; absl has already refused bad values), and sends
// gRPC's own log messages through common/log too.
void ApplyLogFlags();

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_LOG_FLAGS_H_
