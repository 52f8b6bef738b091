// Implementation of common/log.h.
#include "common/log.h"

#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace graphmill {
namespace {

absl::Mutex log_mutex;
std::string* program_name ABSL_GUARDED_BY(log_mutex) = nullptr;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogProgramName(const std::string& name) {
  absl::MutexLock lock(&log_mutex);
  delete program_name;
  program_name = new std::string(name);
}

void Log(LogLevel level, const std::string& message) {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                            absl::UTCTimeZone());
  absl::MutexLock lock(&log_mutex);
  std::fprintf(stderr, "%s %s %s: %s\n", time.c_str(), LevelName(level),
               program_name ? program_name->c_str() : "graphmill",
               message.c_str());
  std::fflush(stderr);
}

}  // namespace graphmill
