// Minimal thread-safe logging to stderr, one line per call, in one of two
// formats:
//   text: "<time> <LEVEL> <program>: message[ key=value ...]"
//   json: {"time":"...","level":"INFO","program":"...","message":"...",...}
// (the fields of a call follow "message", in the order given). Lines below the
// minimum level are dropped. Callers must never pass secrets; see
// docs/security.md.
#ifndef GRAPHMILL_COMMON_LOG_H_
#define GRAPHMILL_COMMON_LOG_H_

#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace graphmill {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

// "debug", "info", "warn", "error" (any case; "warning" too).
bool ParseLogLevel(absl::string_view text, LogLevel* level);
// "debug", ...
std::string LogLevelName(LogLevel level);
// "text" or "json" (any case).
bool ParseLogFormat(absl::string_view text, LogFormat* format);
std::string LogFormatName(LogFormat format);

// For ABSL_FLAG(graphmill::LogLevel, ...) and ABSL_FLAG(graphmill::LogFormat,
// ...).
bool AbslParseFlag(absl::string_view text, LogLevel* level, std::string* error);
std::string AbslUnparseFlag(LogLevel level);
bool AbslParseFlag(absl::string_view text, LogFormat* format,
                   std::string* error);
std::string AbslUnparseFlag(LogFormat format);

// Sets the program name printed on every line (defaults to "graphmill").
void SetLogProgramName(const std::string& name);
// Lines below `level` are dropped (default: kInfo).
void SetLogLevel(LogLevel level);
// Default: kText.
void SetLogFormat(LogFormat format);
// Whether a line at `level` would be written (to skip building costly debug
// messages).
bool LogEnabled(LogLevel level);

// One structured field: a name and a string or integer value. In JSON, an
// integer is a number and a string a string; in text, both are key=value
// (a value with spaces, quotes or '=' is quoted).
struct LogField {
  LogField(absl::string_view key, absl::string_view value)
      : key(key), value(value) {}
  LogField(absl::string_view key, const char* value)
      : key(key), value(value == nullptr ? "" : value) {}
  LogField(absl::string_view key, const std::string& value)
      : key(key), value(value) {}
  template <typename Int,
            typename = std::enable_if_t<std::is_integral_v<Int> &&
                                        !std::is_same_v<Int, bool> &&
                                        !std::is_same_v<Int, char>>>
  LogField(absl::string_view key, Int value)
      : key(key), value(absl::StrCat(value)), is_number(true) {}

  std::string key;
  std::string value;
  bool is_number = false;
};
// LogInfo(LogFields{{"run", run_id}, {"instance", id}}, "run ", run_id, ...).
// Keys "time", "level", "program" and "message" are written as
// "field.<key>" so they cannot hide the line's own.
using LogFields = std::vector<LogField>;

// Writes one line (if `level` is enabled). Thread-safe.
void Log(LogLevel level, const std::string& message);
void Log(LogLevel level, const LogFields& fields, const std::string& message);

// The line Log() would write, without the newline (for tests).
std::string FormatLogLine(LogFormat format, absl::string_view time,
                          LogLevel level, absl::string_view program,
                          const LogFields& fields, absl::string_view message);

template <typename... Args>
void LogDebug(const Args&... args) {
  if (LogEnabled(LogLevel::kDebug))
    Log(LogLevel::kDebug, absl::StrCat(args...));
}
template <typename... Args>
void LogDebug(const LogFields& fields, const Args&... args) {
  if (LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, fields, absl::StrCat(args...));
  }
}
template <typename... Args>
void LogInfo(const Args&... args) {
  Log(LogLevel::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogInfo(const LogFields& fields, const Args&... args) {
  Log(LogLevel::kInfo, fields, absl::StrCat(args...));
}
template <typename... Args>
void LogWarn(const Args&... args) {
  Log(LogLevel::kWarn, absl::StrCat(args...));
}
template <typename... Args>
void LogWarn(const LogFields& fields, const Args&... args) {
  Log(LogLevel::kWarn, fields, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  Log(LogLevel::kError, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const LogFields& fields, const Args&... args) {
  Log(LogLevel::kError, fields, absl::StrCat(args...));
}

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_LOG_H_
