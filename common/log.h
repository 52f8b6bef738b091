// Minimal thread-safe logging to stderr: "<time> <LEVEL> <program>: message".
// Callers must never pass secrets; see docs/security.md.
#ifndef GRAPHMILL_COMMON_LOG_H_
#define GRAPHMILL_COMMON_LOG_H_

#include <string>

#include "absl/strings/str_cat.h"

namespace graphmill {

enum class LogLevel { kInfo, kWarn, kError };

// Sets the program name printed on every line (defaults to "graphmill").
void SetLogProgramName(const std::string& name);

// Writes one line. Thread-safe.
void Log(LogLevel level, const std::string& message);

template <typename... Args>
void LogInfo(const Args&... args) {
  Log(LogLevel::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarn(const Args&... args) {
  Log(LogLevel::kWarn, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  Log(LogLevel::kError, absl::StrCat(args...));
}

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_LOG_H_
