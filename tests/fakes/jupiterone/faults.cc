// Implementation of faults.h.
#include "tests/fakes/jupiterone/faults.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace graphmill::fakes::jupiterone {
namespace {

bool IsKnownRoute(absl::string_view route) {
  if (route == "*") return true;
  for (const char* name : kRouteNames) {
    if (route == name) return true;
  }
  return false;
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
  if (kind == "latency") {
    fault.kind = FaultKind::kLatency;
    return absl::OkStatus();
  }
  int status = 0;
  if (!absl::SimpleAtoi(kind, &status) || status < 400 || status > 599) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown fault kind '", kind, "' (want a status 400-599 or latency)"));
  }
  fault.kind = FaultKind::kStatus;
  fault.status = status;
  return absl::OkStatus();
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
  } else if (key == "retry_after") {
    if (value == "none") {
      fault.retry_after_seconds = -1;
    } else {
      absl::StatusOr<int> seconds = ParseNonNegative(key, value);
      if (!seconds.ok()) return seconds.status();
      fault.retry_after_seconds = *seconds;
    }
  } else if (key == "ms") {
    absl::StatusOr<int> ms = ParseNonNegative(key, value);
    if (!ms.ok()) return ms.status();
    fault.delay_ms = *ms;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown fault parameter '", key, "' (want times, retry_after or ms)"));
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
  std::string out = absl::StrCat(fault.route, ":",
                                 fault.kind == FaultKind::kLatency
                                     ? std::string("latency")
                                     : absl::StrCat(fault.status));
  if (fault.times >= 0) absl::StrAppend(&out, ":times=", fault.times);
  if (fault.kind == FaultKind::kStatus && fault.status == 429) {
    absl::StrAppend(&out, ":retry_after=",
                    fault.retry_after_seconds < 0
                        ? std::string("none")
                        : absl::StrCat(fault.retry_after_seconds));
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

FaultDecision FaultTable::Decide(absl::string_view route) {
  FaultDecision decision;
  absl::MutexLock lock(&mutex_);
  for (Entry& entry : entries_) {
    const Fault& fault = entry.fault;
    if (fault.route != "*" && fault.route != route) continue;
    if (fault.times >= 0 && entry.fired >= fault.times) continue;
    if (fault.kind == FaultKind::kLatency) {
      decision.delay_ms += fault.delay_ms;
    } else if (!decision.response.has_value()) {
      decision.response = fault;
    } else {
      continue;  // only the first status fault applies; later ones keep uses
    }
    ++entry.fired;
  }
  return decision;
}

std::vector<FaultTable::Entry> FaultTable::Snapshot() const {
  absl::MutexLock lock(&mutex_);
  return entries_;
}

}  // namespace graphmill::fakes::jupiterone
