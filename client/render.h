// Pure renderers from Admin/Graph messages to the CLI's text: tables, detail
// blocks, run summaries, progress lines and JSON lines. No I/O; times are
// passed in for testability.
#ifndef GRAPHMILL_CLIENT_RENDER_H_
#define GRAPHMILL_CLIENT_RENDER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/cli_output.pb.h"
#include "graphmill/v1/admin.pb.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::cli {

// Enum names without their prefix: "SUCCEEDED", "RUNNING", "WARN".
std::string RunStatusName(v1::RunStatus status);
std::string StepStatusName(v1::StepStatus status);
std::string EventLevelName(v1::EventLevel level);
std::string UploadStateName(v1::UploadState state);
std::string RunTriggerName(v1::RunTrigger trigger);
// "out" or "in", as the neighbors table shows it.
std::string DirectionName(v1::Direction direction);
// "admin", "reader", "worker" ("unknown" otherwise).
std::string TokenRoleName(v1::TokenRole role);

// True once a run can change no more (SUCCEEDED, PARTIAL, FAILED, CANCELLED).
bool IsFinished(v1::RunStatus status);
// True once a step has settled (SUCCESS, FAILURE, PARTIAL, DISABLED).
bool IsSettled(v1::StepStatus status);

// A property value for a table cell: strings as they are, anything else as
// JSON.
std::string ValueToText(const v1::Value& value);

// NAME, VERSION, DISPLAY NAME, STEPS.
std::string RenderIntegrations(const v1::ListIntegrationsResponse& response);

// One row per instance: id, integration, schedule, the last run (id, status,
// when it ended or, if active, started; from `last_runs` by instance id) and
// the next scheduled run.
std::string RenderInstances(const v1::ListInstancesResponse& response,
                            const std::map<std::string, v1::Run>& last_runs);

// NAME, ROLE, CREATED.
std::string RenderTokens(const v1::ListTokensResponse& response);

// An instance's schedule for people: "every 1h (jitter 180s)", "cron 0 */6 *
// * *", "disabled (manual runs only)" or "none (manual runs only)".
std::string RenderSchedule(const v1::Instance& instance);

// One instance as "name  value" lines: id, integration, times, schedule, next
// run, disabled steps, rate limit, the upload target as "upload.<field>" (its
// token always shown as ***), then config keys sorted as "config.<key>".
// Config values are printed as the server returned them, so secrets show as
// the server's mask.
std::string RenderInstance(const v1::Instance& instance);

// `instance` with a non-empty upload token replaced by "***", for JSON output.
v1::Instance MaskUploadToken(v1::Instance instance);

// "valid: <message> (worker <id>)" or "invalid: <message> (worker <id>)", one
// line without a newline.
std::string RenderValidation(const v1::ValidateInstanceResponse& response);

// "webhooks to <endpoint>" then RESOURCE, WEBHOOK (created, exists or error)
// and ERROR, one row per resource.
std::string RenderWebhookInstall(const v1::InstallWebhooksResponse& response);

// "run 12 started for instance ci-prod\n".
std::string RenderRunStarted(const v1::Run& run);

// ID, INSTANCE, TRIGGER, STATUS, STARTED, DURATION, STEPS, CHANGES, UPLOAD,
// ERROR (the run's error, else the upload's as "upload: ..."). Durations of
// active runs run to `now_ms`.
std::string RenderRuns(const v1::ListRunsResponse& response, int64_t now_ms);

// Status, instance, trigger, times, error, changes, a step table (STEP,
// STATUS, DURATION, TASKS, COUNTS), step errors, the upload section when the
// run has an upload (see RenderUploadStatus), then the events table (TIME,
// LEVEL, NAME, STEP, DESCRIPTION).
std::string RenderRunSummary(const v1::GetRunResponse& response,
                             int64_t now_ms);

// A run's upload as "name  value" lines after a "run N upload to JupiterOne"
// title: state, job, entities uploaded, relationships uploaded, skipped, and
// error when there is one. State "none" when the run has no upload.
std::string RenderUploadStatus(const v1::Run& run);

// One line, no newline, for `run watch`: "upload UPLOADING job j-1: 500
// entities, 20 relationships uploaded, 0 skipped" (": <error>" when failed).
std::string RenderUploadLine(const v1::UploadStatus& upload);

// The live progress line of `run watch`, without a newline:
// "run 12 RUNNING [######--------------] 3/10 steps  1234 entities  56
// relationships  1m04s  ETA 22s". Type counts are split into entities and
// relationships with `relationship_types` (the integration's declared
// relationship types); when it is null they are shown as "objects". A run with
// an upload ends with "  upload UPLOADING 520 uploaded" (entities and
// relationships).
std::string RenderProgressLine(const v1::Run& run,
                               const std::set<std::string>* relationship_types,
                               int64_t now_ms);

// The time a run still needs, estimated from its tasks: the time since it was
// created times the tasks still to do over those done, as if every task took
// as long as the average so far. Steps plan their tasks as they start, so the
// estimate covers only the tasks planned so far and may grow. Empty when it
// would mean nothing: the run has ended, no task is done, every planned task
// is done (what comes next is unknown), or the run is under a second old.
std::optional<int64_t> EstimateRemainingMs(const v1::Run& run, int64_t now_ms);

// An estimate as `run watch` shows it, rounded up to a whole second: "1s",
// "59s", "1m04s", "2h03m00s".
std::string FormatEta(int64_t remaining_ms);

// "10:00:02Z WARN warn_missing_permission [fetch-envvars] description".
std::string RenderEventLine(const v1::Event& event);

// A step's new status, for `run watch` on a non-terminal:
// "10:00:03Z step fetch-users SUCCESS 1.2s tasks 3/3 objects 120" (": error"
// when failed).
std::string RenderStepChangeLine(const v1::StepRun& step, int64_t now_ms);

// The last line of `run watch`:
// "run 12 SUCCEEDED in 3m04s: 120 created, 3 updated, 0 deleted" (": <error>"
// when failed), then "; upload SUCCEEDED" when the run has an upload.
std::string RenderRunEndLine(const v1::Run& run);

// KEY, TYPE, CLASS, DISPLAY NAME.
std::string RenderEntities(const std::vector<v1::Entity>& entities);

// KEY, TYPE, CLASS, FROM, TO.
std::string RenderRelationships(
    const std::vector<v1::Relationship>& relationships);

// One row of `graph neighbors`: a neighbor reached `depth` hops out, from the
// entity `from`.
struct NeighborRow {
  int depth = 1;
  std::string from;
  v1::Neighbor neighbor;
};
// The neighbors table; DEPTH and FROM columns first when `with_hops`
// (--depth above 1).
std::string RenderNeighbors(const std::vector<NeighborRow>& neighbors,
                            bool with_hops = false);

// `graph count`: a line of totals, "instance ci-prod as of sequence 1872:
// 1973 entities, 2100 relationships", then a table KIND, TYPE, COUNT and a
// table KIND, CLASS, COUNT (entities first, each kind sorted by name).
std::string RenderGraphCount(const GraphCount& count);

// One entity as "name  value" lines: _key, _type, _class, properties by name,
// and with `include_raw_data` one "_rawData.<name>" line per raw object.
std::string RenderEntity(const v1::Entity& entity, bool include_raw_data);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_RENDER_H_
