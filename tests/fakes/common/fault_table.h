// The fault machinery the fakes share: the text syntax
// ROUTE:KIND[:KEY=VALUE]... (parsing, printing) and the thread-safe table that
// decides which fault a request gets. Each fake keeps its own Fault struct and
// route/kind names and describes them with a FaultSyntax.
//
// A fake's Fault type must have the members `route` (std::string), `kind` (an
// enum with kStatus and kLatency), `status`, `times`, `retry_after_seconds` and
// `delay_ms` (int); a `resource` (std::string) member is optional and, when
// present, enables the `resource=` parameter (its value is %XX-decoded).
//
// Parameters every syntax knows: times (the first N matching requests),
// resource (see above), retry_after (429 only; seconds, or "none" to omit the
// header) and ms (latency, required). A latency fault combines with one
// response fault.
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_FAULT_TABLE_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_FAULT_TABLE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace graphmill::fakes::common {

// A non-negative integer parameter; INVALID_ARGUMENT names `key` and `value`.
absl::StatusOr<int> ParseNonNegativeParam(absl::string_view key,
                                          absl::string_view value);
// Escapes '%', ':' and ',' (the syntax's separators) as %XX; the rest stays
// readable.
std::string EscapeFaultValue(absl::string_view value);
// Decodes every valid %XX; anything else is kept as is.
std::string UnescapeFaultValue(absl::string_view value);
// "a, b or c" ("a or b", "a").
std::string JoinAlternatives(const std::vector<std::string>& items);

// How one fake spells its faults. Fill the fields once (e.g. in a function-
// local static) and use the methods.
template <typename FaultT>
struct FaultSyntax {
  using Kind = decltype(FaultT{}.kind);
  static constexpr bool kHasResource = requires(FaultT f) { f.resource; };

  // Whether `route` names a route of the fake ("*" is always accepted).
  std::function<bool(absl::string_view route)> is_known_route;
  // The kinds with a name, e.g. {"latency", Kind::kLatency}, in the order the
  // error message lists them; any other KIND must be a status 400-599.
  std::vector<std::pair<std::string, Kind>> named_kinds;
  // Parameters beyond the shared ones, in the order the error message lists
  // them (between retry_after and ms), and how to set them.
  std::vector<std::string> extra_params;
  std::function<absl::Status(FaultT& fault, absl::string_view key,
                             absl::string_view value)>
      set_extra_param;
  // Appends the extra parameters to the text form (after retry_after).
  std::function<void(const FaultT& fault, std::string& out)>
      append_extra_params;

  // Sets one KEY=VALUE parameter (also "route" and "kind").
  absl::Status SetParam(FaultT& fault, absl::string_view key,
                        absl::string_view value) const;
  // One fault in the text syntax; INVALID_ARGUMENT names the bad part.
  absl::StatusOr<FaultT> Parse(absl::string_view spec) const;
  // A comma-separated list (empty pieces ignored).
  absl::StatusOr<std::vector<FaultT>> ParseList(absl::string_view specs) const;
  // The text syntax of `fault`; parsing it gives back the fields that matter
  // for its kind.
  std::string ToString(const FaultT& fault) const;

 private:
  absl::Status SetKind(FaultT& fault, absl::string_view kind) const;
};

// The faults a request gets. `delay_ms` sums all firing latency faults;
// `response` is the first firing fault of another kind, if any.
template <typename FaultT>
struct FaultDecision {
  int delay_ms = 0;
  std::optional<FaultT> response;
};

// Thread-safe list of active faults, in insertion order.
template <typename FaultT>
class FaultTable {
 public:
  struct Entry {
    FaultT fault;
    int64_t fired = 0;  // how many requests it has affected
  };

  void Add(FaultT fault) {
    absl::MutexLock lock(&mutex_);
    entries_.push_back(Entry{std::move(fault), 0});
  }
  void Clear() {
    absl::MutexLock lock(&mutex_);
    entries_.clear();
  }
  std::vector<Entry> Snapshot() const {
    absl::MutexLock lock(&mutex_);
    return entries_;
  }

  // Matches a request to `route` against the faults whose `resource_matches`
  // is true and consumes one use of each fault that fires. Only the first
  // response fault applies; later ones keep their uses.
  FaultDecision<FaultT> Decide(
      absl::string_view route,
      absl::FunctionRef<bool(const FaultT&)> resource_matches) {
    FaultDecision<FaultT> decision;
    absl::MutexLock lock(&mutex_);
    for (Entry& entry : entries_) {
      const FaultT& fault = entry.fault;
      if (fault.route != "*" && fault.route != route) continue;
      if (!resource_matches(fault)) continue;
      if (fault.times >= 0 && entry.fired >= fault.times) continue;
      if (fault.kind == FaultSyntax<FaultT>::Kind::kLatency) {
        decision.delay_ms += fault.delay_ms;
      } else if (!decision.response.has_value()) {
        decision.response = fault;
      } else {
        continue;
      }
      ++entry.fired;
    }
    return decision;
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mutex_);
};

// --- Implementation of FaultSyntax.

template <typename FaultT>
absl::Status FaultSyntax<FaultT>::SetKind(FaultT& fault,
                                          absl::string_view kind) const {
  for (const auto& [name, value] : named_kinds) {
    if (kind == name) {
      fault.kind = value;
      return absl::OkStatus();
    }
  }
  int status = 0;
  if (!absl::SimpleAtoi(kind, &status) || status < 400 || status > 599) {
    std::vector<std::string> wanted = {"a status 400-599"};
    for (const auto& named : named_kinds) wanted.push_back(named.first);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown fault kind '", kind, "' (want ",
                     JoinAlternatives(wanted), ")"));
  }
  fault.kind = Kind::kStatus;
  fault.status = status;
  return absl::OkStatus();
}

template <typename FaultT>
absl::Status FaultSyntax<FaultT>::SetParam(FaultT& fault, absl::string_view key,
                                           absl::string_view value) const {
  if (key == "route") {
    if (value != "*" && !is_known_route(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown fault route '", value, "'"));
    }
    fault.route = std::string(value);
    return absl::OkStatus();
  }
  if (key == "kind") return SetKind(fault, value);
  if (key == "times") {
    absl::StatusOr<int> times = ParseNonNegativeParam(key, value);
    if (!times.ok()) return times.status();
    fault.times = *times;
    return absl::OkStatus();
  }
  if constexpr (kHasResource) {
    if (key == "resource") {
      fault.resource = UnescapeFaultValue(value);
      return absl::OkStatus();
    }
  }
  if (key == "retry_after") {
    if (value == "none") {
      fault.retry_after_seconds = -1;
      return absl::OkStatus();
    }
    absl::StatusOr<int> seconds = ParseNonNegativeParam(key, value);
    if (!seconds.ok()) return seconds.status();
    fault.retry_after_seconds = *seconds;
    return absl::OkStatus();
  }
  if (key == "ms") {
    absl::StatusOr<int> ms = ParseNonNegativeParam(key, value);
    if (!ms.ok()) return ms.status();
    fault.delay_ms = *ms;
    return absl::OkStatus();
  }
  for (const std::string& extra : extra_params) {
    if (key == extra) return set_extra_param(fault, key, value);
  }
  std::vector<std::string> wanted = {"times"};
  if (kHasResource) wanted.push_back("resource");
  wanted.push_back("retry_after");
  wanted.insert(wanted.end(), extra_params.begin(), extra_params.end());
  wanted.push_back("ms");
  return absl::InvalidArgumentError(
      absl::StrCat("unknown fault parameter '", key, "' (want ",
                   JoinAlternatives(wanted), ")"));
}

template <typename FaultT>
absl::StatusOr<FaultT> FaultSyntax<FaultT>::Parse(
    absl::string_view spec) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  if (parts.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault '", spec, "' is not ROUTE:KIND[:KEY=VALUE]..."));
  }
  FaultT fault;
  if (absl::Status status = SetParam(fault, "route", parts[0]); !status.ok()) {
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
    if (absl::Status status = SetParam(fault, key, parts[i].substr(eq + 1));
        !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault '", spec, "': ", status.message()));
    }
  }
  if (fault.kind == Kind::kLatency && !has_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault '", spec, "': latency needs ms=N"));
  }
  return fault;
}

template <typename FaultT>
absl::StatusOr<std::vector<FaultT>> FaultSyntax<FaultT>::ParseList(
    absl::string_view specs) const {
  std::vector<FaultT> faults;
  for (absl::string_view spec :
       absl::StrSplit(specs, ',', absl::SkipWhitespace())) {
    absl::StatusOr<FaultT> fault = Parse(absl::StripAsciiWhitespace(spec));
    if (!fault.ok()) return fault.status();
    faults.push_back(*std::move(fault));
  }
  return faults;
}

template <typename FaultT>
std::string FaultSyntax<FaultT>::ToString(const FaultT& fault) const {
  std::string kind = absl::StrCat(fault.status);
  if (fault.kind != Kind::kStatus) {
    kind = "?";
    for (const auto& [name, value] : named_kinds) {
      if (fault.kind == value) kind = name;
    }
  }
  std::string out = absl::StrCat(fault.route, ":", kind);
  if (fault.times >= 0) absl::StrAppend(&out, ":times=", fault.times);
  if constexpr (kHasResource) {
    if (!fault.resource.empty()) {
      absl::StrAppend(&out, ":resource=", EscapeFaultValue(fault.resource));
    }
  }
  if (fault.kind == Kind::kStatus && fault.status == 429) {
    absl::StrAppend(&out, ":retry_after=",
                    fault.retry_after_seconds < 0
                        ? std::string("none")
                        : absl::StrCat(fault.retry_after_seconds));
  }
  if (append_extra_params) append_extra_params(fault, out);
  if (fault.kind == Kind::kLatency) {
    absl::StrAppend(&out, ":ms=", fault.delay_ms);
  }
  return out;
}

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_FAULT_TABLE_H_
