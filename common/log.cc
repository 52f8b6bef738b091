// Implementation of common/log.h.
#include "common/log.h"

#include <atomic>
#include <cstdint>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace graphmill {
namespace {

absl::Mutex log_mutex;
std::string* program_name ABSL_GUARDED_BY(log_mutex) = nullptr;
std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> log_format{static_cast<int>(LogFormat::kText)};

const char* LevelTag(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

// Length of the well-formed UTF-8 sequence at the start of `text`, or 0.
size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char first = byte(0);
  size_t length;
  uint32_t min;
  uint32_t code;
  if (first < 0x80) return 1;
  if ((first & 0xE0) == 0xC0) {
    length = 2, min = 0x80, code = first & 0x1F;
  } else if ((first & 0xF0) == 0xE0) {
    length = 3, min = 0x800, code = first & 0x0F;
  } else if ((first & 0xF8) == 0xF0) {
    length = 4, min = 0x10000, code = first & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return 0;
  }
  return length;
}

// Appends `text` as a JSON string: quotes, backslashes and control characters
// escaped, bytes that are not UTF-8 replaced by U+FFFD, so every line parses.
void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  while (!text.empty()) {
    const unsigned char c = static_cast<unsigned char>(text[0]);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else if (c >= 0x80) {
          const size_t length = Utf8SequenceLength(text);
          if (length == 0) {
            out->append("\\ufffd");
          } else {
            out->append(text.data(), length);
            text.remove_prefix(length);
            continue;
          }
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    text.remove_prefix(1);
  }
  out->push_back('"');
}

bool IsReservedKey(absl::string_view key) {
  return key == "time" || key == "level" || key == "program" ||
         key == "message";
}

// A text-format value: bare if it has no space, quote, '=' or control
// character; otherwise a JSON-style quoted string.
void AppendTextValue(std::string* out, absl::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '"' || c == '=' || c == '\\') {
      bare = false;
      break;
    }
  }
  if (bare) {
    out->append(value.data(), value.size());
  } else {
    AppendJsonString(out, value);
  }
}

}  // namespace

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") {
    *level = LogLevel::kDebug;
  } else if (lower == "info") {
    *level = LogLevel::kInfo;
  } else if (lower == "warn" || lower == "warning") {
    *level = LogLevel::kWarn;
  } else if (lower == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

std::string LogLevelName(LogLevel level) {
  return absl::AsciiStrToLower(LevelTag(level));
}

bool ParseLogFormat(absl::string_view text, LogFormat* format) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "text") {
    *format = LogFormat::kText;
  } else if (lower == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::string LogFormatName(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

bool AbslParseFlag(absl::string_view text, LogLevel* level,
                   std::string* error) {
  if (ParseLogLevel(text, level)) return true;
  *error = "must be one of debug, info, warn, error";
  return false;
}

std::string AbslUnparseFlag(LogLevel level) { return LogLevelName(level); }

bool AbslParseFlag(absl::string_view text, LogFormat* format,
                   std::string* error) {
  if (ParseLogFormat(text, format)) return true;
  *error = "must be text or json";
  return false;
}

std::string AbslUnparseFlag(LogFormat format) { return LogFormatName(format); }

void SetLogProgramName(const std::string& name) {
  absl::MutexLock lock(&log_mutex);
  delete program_name;
  program_name = new std::string(name);
}

void SetLogLevel(LogLevel level) {
  min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

void SetLogFormat(LogFormat format) {
  log_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

std::string FormatLogLine(LogFormat format, absl::string_view time,
                          LogLevel level, absl::string_view program,
                          const LogFields& fields, absl::string_view message) {
  std::string line;
  if (format == LogFormat::kJson) {
    line.append("{\"time\":");
    AppendJsonString(&line, time);
    line.append(",\"level\":");
    AppendJsonString(&line, LevelTag(level));
    line.append(",\"program\":");
    AppendJsonString(&line, program);
    line.append(",\"message\":");
    AppendJsonString(&line, message);
    for (const LogField& field : fields) {
      line.push_back(',');
      AppendJsonString(&line, IsReservedKey(field.key)
                                  ? absl::StrCat("field.", field.key)
                                  : field.key);
      line.push_back(':');
      if (field.is_number) {
        line.append(field.value);
      } else {
        AppendJsonString(&line, field.value);
      }
    }
    line.push_back('}');
    return line;
  }
  absl::StrAppend(&line, time, " ", LevelTag(level), " ", program, ": ",
                  message);
  for (const LogField& field : fields) {
    absl::StrAppend(&line, " ", field.key, "=");
    AppendTextValue(&line, field.value);
  }
  return line;
}

void Log(LogLevel level, const std::string& message) {
  Log(level, LogFields(), message);
}

void Log(LogLevel level, const LogFields& fields, const std::string& message) {
  if (!LogEnabled(level)) return;
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                            absl::UTCTimeZone());
  const LogFormat format =
      static_cast<LogFormat>(log_format.load(std::memory_order_relaxed));
  absl::MutexLock lock(&log_mutex);
  std::string line = FormatLogLine(
      format, time, level,
      program_name ? *program_name : std::string("graphmill"), fields, message);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace graphmill
