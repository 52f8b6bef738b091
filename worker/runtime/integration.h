// What an integration is to the worker runtime: a definition plus an invocation
// check and step handlers. The runtime knows integrations only through this
// interface; the registry (worker/integrations/registry.cc) is the one file
// that names them all.
#ifndef GRAPHMILL_WORKER_RUNTIME_INTEGRATION_H_
#define GRAPHMILL_WORKER_RUNTIME_INTEGRATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/integration.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::worker {

namespace v1 = ::graphmill::v1;

// An instance's config values by field name, secrets in clear. Never log it.
using InstanceConfig = std::map<std::string, std::string>;

// What a step handler can do. One context per task attempt; methods may be
// called from the handler's own threads (implementations are thread-safe).
class StepContext {
 public:
  virtual ~StepContext() = default;

  // The instance's config (optional fields absent or set to their defaults).
  virtual const InstanceConfig& config() const = 0;

  // The run this task belongs to; 0 when none is known (e.g. an invocation
  // check). Lets an integration fetch a resource once per run for all its
  // tasks in this process (worker/integrations/common/run_cache.h).
  virtual int64_t run_id() const { return 0; }

  // Calls `visit` for each entity of `type` produced by this run's ancestor
  // steps, in `_key` order, streamed from the coordinator. For the step's
  // parent type, only this task's shard. Stops at and returns the first non-OK
  // status `visit` returns.
  virtual absl::Status ForEachEntity(
      absl::string_view type,
      const std::function<absl::Status(const v1::Entity&)>& visit) = 0;

  // 0 in a full run. In an incremental run (v1.IncrementalRuns) the time,
  // epoch ms, from which the run re-fetches everything time-bound (pipelines
  // created since); what the provider no longer changes may be carried
  // forward from ForEachKnownEntity instead of fetched.
  virtual int64_t incremental_since_ms() const { return 0; }

  // Whether objects of `type` may be carried forward: an incremental run
  // whose last finalized run looked at the type completely (otherwise the
  // graph may hold stale objects of it, which the task fetches instead).
  virtual bool CanCarry(absl::string_view type) const {
    (void)type;
    return false;
  }

  // Calls `visit` for each entity of `type` in the instance's graph as the
  // last finalized run left it, with the scope it was listed for: for the
  // step's parent type, this task's shard; for another type of a sharded
  // step, the entities listed for the shard's parents (by scope, then key);
  // otherwise every entity of the type. Only for incremental runs. An entity
  // carried forward is added again (AddEntity with the same scope), as
  // fetched: what is not added is deleted at finalize like anything not seen.
  // Stops at and returns the first non-OK status `visit` returns.
  virtual absl::Status ForEachKnownEntity(
      absl::string_view type,
      const std::function<absl::Status(const v1::Entity&,
                                       const std::string& scope)>& visit) {
    (void)type;
    (void)visit;
    return absl::UnimplementedError("no known graph in this context");
  }

  // Queue an object for the coordinator (sent in batches). `scope` is the
  // `_key` of the parent entity whose listing produced the object ("" when it
  // was not listed for a parent): at finalize, an object the run did not
  // collect is deleted only if its scope was listed completely, so a step that
  // scopes objects must report each scope it could not list completely
  // (MarkScopeIncomplete). Returns CANCELLED if the task was cancelled, so long
  // loops stop early.
  virtual absl::Status AddEntity(v1::Entity entity,
                                 absl::string_view scope) = 0;
  virtual absl::Status AddRelationship(v1::Relationship relationship,
                                       absl::string_view scope) = 0;

  // Raise an event for the run, e.g. ("warn_missing_permission", "...") at
  // WARN.
  virtual void AddEvent(v1::EventLevel level, absl::string_view name,
                        absl::string_view description) = 0;

  // Declare that `type` could only be partly collected by this task (e.g. a
  // forbidden resource), and why; the coordinator will not delete objects of
  // it at finalize and the run ends PARTIAL.
  virtual void MarkPartial(absl::string_view type,
                           absl::string_view reason) = 0;

  // Declare that the children of the parent entity `scope` (its `_key`) could
  // not be listed completely, and why (short and the same for every parent of
  // one kind, e.g. "HTTP 403 on GET /pipeline/{id}/workflow"); objects of that
  // scope are not deleted at finalize and the run ends PARTIAL.
  virtual void MarkScopeIncomplete(absl::string_view scope,
                                   absl::string_view reason) = 0;

  // `text` with the instance's secrets removed in every encoding common/redact
  // covers; what handlers log goes through it (events, reasons and the task's
  // error are redacted by the runtime itself).
  virtual std::string Redact(absl::string_view text) const {
    return std::string(text);
  }

  // True once the coordinator cancelled this attempt.
  virtual bool cancelled() const = 0;

  // Budget hooks for the integration's HTTP client
  // (HttpClientOptions::before_request and after_response). AwaitRequestSlot
  // blocks as long as this task's share of its credential's requests/s budget
  // requires (returns at once when cancelled). OnProviderResponse reports each
  // response's HTTP status; a 429 lowers the credential's budget for all its
  // tasks. OnProviderRemaining reports a response's rate-limit header (the
  // requests the provider says are left), so the coordinator can pace the
  // credential before the provider's bucket runs dry.
  virtual void AwaitRequestSlot() {}
  virtual void OnProviderResponse(int http_status) { (void)http_status; }
  virtual void OnProviderRemaining(int64_t remaining) { (void)remaining; }

  // This task's share of its credential's requests in flight, set by the
  // coordinator (it may change while the task runs); 0: none given, use the
  // integration's own default. A fan-out reads it when it starts.
  virtual int max_requests_in_flight() const { return 0; }
};

class Integration {
 public:
  virtual ~Integration() = default;

  // Name, version, config fields and the step DAG. Stable for the process's
  // lifetime.
  virtual const v1::IntegrationDefinition& definition() const = 0;

  // The invocation check: a cheap authenticated call. Returns OK, or
  // INVALID_ARGUMENT / UNAUTHENTICATED / PERMISSION_DENIED with a message for
  // the user (naming the config field when one is at fault), or another code
  // when the provider could not be reached.
  virtual absl::Status ValidateInvocation(const InstanceConfig& config) = 0;

  // Runs one step (or shard of it). A non-OK status fails the task with that
  // message; what was added before is kept.
  virtual absl::Status ExecuteStep(absl::string_view step_id,
                                   StepContext& context) = 0;
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_INTEGRATION_H_
