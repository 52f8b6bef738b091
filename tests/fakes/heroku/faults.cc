// Implementation of faults.h.
#include "tests/fakes/heroku/faults.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tests/fakes/heroku/routes.h"

namespace graphmill::fakes::heroku {
namespace {

bool IsKnownRoute(absl::string_view route) {
  return route == "*" || RouteByName(route) != Route::kNone;
}

absl::StatusOr<int> ParseNonNegative(absl::string_view key,
                                     absl::string_view value) {
  int number = 0;
  if (!absl::SimpleAtoi(value, &number) || number < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault parameter '", key,
                     "' needs a non-negative integer, got '", value, "'"));
  }
  return number;
}

absl::Status SetKind(Fault& fault, absl::string_view kind) {
  if (kind == "malformed") {
    fault.kind = FaultKind::kMalformedBody;
  } else if (kind == "truncated") {
    fault.kind = FaultKind::kTruncatedBody;
  } else if (kind == "latency") {
    fault.kind = FaultKind::kLatency;
  } else if (kind == "reset") {
    fault.kind = FaultKind::kConnectionReset;
  } else {
    int status = 0;
    if (!absl::SimpleAtoi(kind, &status) || status < 400 || status > 599) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown fault kind '", kind,
          "' (want a status 400-599, malformed, truncated, latency or reset)"));
    }
    fault.kind = FaultKind::kStatus;
    fault.status = status;
  }
  return absl::OkStatus();
}

std::string KindName(const Fault& fault) {
  switch (fault.kind) {
    case FaultKind::kStatus:
      return absl::StrCat(fault.status);
    case FaultKind::kMalformedBody:
      return "malformed";
    case FaultKind::kTruncatedBody:
      return "truncated";
    case FaultKind::kLatency:
      return "latency";
    case FaultKind::kConnectionReset:
      return "reset";
  }
  return "?";
}

// Escapes what the text syntax uses as separators (and '%' itself).
std::string EscapeValue(absl::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '%' || c == ':' || c == ',') {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string UnescapeValue(absl::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    int code = 0;
    if (value[i] == '%' && i + 2 < value.size() &&
        absl::SimpleHexAtoi(value.substr(i + 1, 2), &code)) {
      out.push_back(static_cast<char>(code));
      i += 2;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

}  // namespace

absl::Status SetFaultParam(Fault& fault, absl::string_view key,
                           absl::string_view value) {
  if (key == "route") {
    if (!IsKnownRoute(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown fault route '", value, "'"));
    }
    fault.route = std::string(value);
  } else if (key == "kind") {
    return SetKind(fault, value);
  } else if (key == "times") {
    absl::StatusOr<int> times = ParseNonNegative(key, value);
    if (!times.ok()) return times.status();
    fault.times = *times;
  } else if (key == "resource") {
    fault.resource = UnescapeValue(value);
  } else if (key == "retry_after") {
    if (value == "none") {
      fault.retry_after_seconds = -1;
    } else {
      absl::StatusOr<int> seconds = ParseNonNegative(key, value);
      if (!seconds.ok()) return seconds.status();
      fault.retry_after_seconds = *seconds;
    }
  } else if (key == "body") {
    if (value != "json" && value != "html") {
      return absl::InvalidArgumentError(absl::StrCat(
          "fault parameter 'body' must be json or html, got '", value, "'"));
    }
    fault.html_body = value == "html";
  } else if (key == "ms") {
    absl::StatusOr<int> ms = ParseNonNegative(key, value);
    if (!ms.ok()) return ms.status();
    fault.delay_ms = *ms;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown fault parameter '", key,
                     "' (want times, resource, retry_after, body or ms)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Fault> ParseFault(absl::string_view spec) {
  const std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  if (parts.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault '", spec, "' is not ROUTE:KIND[:KEY=VALUE]..."));
  }
  Fault fault;
  if (absl::Status status = SetFaultParam(fault, "route", parts[0]);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = SetKind(fault, parts[1]); !status.ok()) {
    return status;
  }
  bool has_ms = false;
  for (size_t i = 2; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fault '", spec, "': parameter '", parts[i], "' is not KEY=VALUE"));
    }
    const absl::string_view key = parts[i].substr(0, eq);
    if (key == "route" || key == "kind") {
      return absl::InvalidArgumentError(
          absl::StrCat("fault '", spec, "': '", key, "' is positional"));
    }
    has_ms = has_ms || key == "ms";
    if (absl::Status status =
            SetFaultParam(fault, key, parts[i].substr(eq + 1));
        !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault '", spec, "': ", status.message()));
    }
  }
  if (fault.kind == FaultKind::kLatency && !has_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault '", spec, "': latency needs ms=N"));
  }
  return fault;
}

absl::StatusOr<std::vector<Fault>> ParseFaultList(absl::string_view specs) {
  std::vector<Fault> faults;
  for (absl::string_view spec :
       absl::StrSplit(specs, ',', absl::SkipWhitespace())) {
    absl::StatusOr<Fault> fault = ParseFault(absl::StripAsciiWhitespace(spec));
    if (!fault.ok()) return fault.status();
    faults.push_back(*std::move(fault));
  }
  return faults;
}

std::string FaultToString(const Fault& fault) {
  std::string out = absl::StrCat(fault.route, ":", KindName(fault));
  if (fault.times >= 0) absl::StrAppend(&out, ":times=", fault.times);
  if (!fault.resource.empty()) {
    absl::StrAppend(&out, ":resource=", EscapeValue(fault.resource));
  }
  if (fault.kind == FaultKind::kStatus && fault.status == 429) {
    absl::StrAppend(&out, ":retry_after=",
                    fault.retry_after_seconds < 0
                        ? std::string("none")
                        : absl::StrCat(fault.retry_after_seconds));
  }
  if (fault.kind == FaultKind::kStatus && fault.html_body) {
    absl::StrAppend(&out, ":body=html");
  }
  if (fault.kind == FaultKind::kLatency) {
    absl::StrAppend(&out, ":ms=", fault.delay_ms);
  }
  return out;
}

void FaultTable::Add(Fault fault) {
  absl::MutexLock lock(&mutex_);
  entries_.push_back(Entry{std::move(fault), 0});
}

void FaultTable::Clear() {
  absl::MutexLock lock(&mutex_);
  entries_.clear();
}

FaultDecision FaultTable::Decide(absl::string_view route,
                                 absl::Span<const std::string> resource_names) {
  FaultDecision decision;
  absl::MutexLock lock(&mutex_);
  for (Entry& entry : entries_) {
    const Fault& fault = entry.fault;
    if (fault.route != "*" && fault.route != route) continue;
    if (!fault.resource.empty() &&
        std::find(resource_names.begin(), resource_names.end(),
                  fault.resource) == resource_names.end()) {
      continue;
    }
    if (fault.times >= 0 && entry.fired >= fault.times) continue;
    if (fault.kind == FaultKind::kLatency) {
      decision.delay_ms += fault.delay_ms;
    } else if (!decision.response.has_value()) {
      decision.response = fault;
    } else {
      continue;  // only the first response fault applies; later ones keep
                 // their uses
    }
    ++entry.fired;
  }
  return decision;
}

std::vector<FaultTable::Entry> FaultTable::Snapshot() const {
  absl::MutexLock lock(&mutex_);
  return entries_;
}

}  // namespace graphmill::fakes::heroku
