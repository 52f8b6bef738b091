// Changes to a generated Dataset between two ingestion runs (a pipeline gone,
// a project renamed, an org joined, a restriction removed...): the operations,
// their JSON form and a pure function applying them.
//
// JSON form (POST /_control/mutations; README.md): an object
// {"op": NAME, MEMBER: "string", ...}, an array of them, or
// {"mutations": [...]}. Members are the Mutation fields of the same name; each
// op takes the members listed below and rejects any other.
//
//   op                      required                  optional
//   remove_pipeline         id                        -
//   rename_project          project, name             -
//   add_org                 name                      id, slug, vcs_type,
//                                                     avatar_url
//   remove_org              org                       -
//   set_login               login                     -
//   add_restriction         context_id, project       id
//   remove_restriction      id | context_id + project -
//   add_project_env_var     project, name             value, created_at
//   remove_project_env_var  project, name             -
//   add_context_env_var     context_id, name          created_at
//   remove_context_env_var  context_id, name          -
//   set_workflow_status     id, status                -
//   set_job_status          id, status                -
//   add_pipeline            project                   id, status, created_at
//
// `project` is a project id or slug, `org` an org id or slug.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_MUTATIONS_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_MUTATIONS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/fakes/circleci/dataset.h"

namespace graphmill::fakes {

enum class MutationOp {
  // Removes the pipeline with its workflows and their jobs.
  kRemovePipeline,
  // Sets the project's name (id and slug stay) and the `name` of the
  // restrictions naming it.
  kRenameProject,
  // The /me user joins an org: /me/collaborations grows by one entry, whose
  // pipeline feed and context list are empty. Defaults: vcs_type "github",
  // slug "gh/<name>" (github) or "circleci/<22 chars from the id>", id a UUID
  // derived from the slug, a fixed avatar_url.
  kAddOrg,
  // The /me user leaves an org: it and everything under it (projects,
  // pipelines, workflows, jobs, env vars, contexts, their restrictions and
  // variables, and other contexts' restrictions to its projects) disappear.
  kRemoveOrg,
  // Sets the /me login (pipelines render it as trigger.actor.login). Org names
  // are left alone.
  kSetLogin,
  // Restricts the context to the project (a "project" restriction). The id
  // defaults to a UUID derived from the context and project ids.
  // ALREADY_EXISTS if the context is already restricted to that project.
  kAddRestriction,
  // Removes a restriction by its id, or the context's project restriction to
  // `project`.
  kRemoveRestriction,
  // Adds a variable to the project; ALREADY_EXISTS if the name is taken. The
  // value defaults to one derived from the project and name; created_at to
  // kMutationTime.
  kAddProjectEnvVar,
  kRemoveProjectEnvVar,
  // Adds a variable to the context (created_at = updated_at, default
  // kMutationTime); ALREADY_EXISTS if the name is taken.
  kAddContextEnvVar,
  kRemoveContextEnvVar,
  // Sets the workflow's status (one of kWorkflowStatuses); canceled_by becomes
  // the /me user id for "canceled" and empty otherwise. A finished status
  // (IsFinishedWorkflowStatus) sets a missing stopped_at to kMutationTime;
  // otherwise stopped_at is left alone. Its jobs are unchanged.
  kSetWorkflowStatus,
  // Adds a pipeline to the project (the next number, at the head of the feed
  // with the default created_at, kMutationTime) with one workflow "build" of
  // `status` (default "success") and its two jobs, the second ending as the
  // workflow did ("running" for a workflow that has not finished). Ids:
  // `id` (default a UUID derived from the project and the number) and UUIDs
  // derived from it. ALREADY_EXISTS if a pipeline has the id.
  kAddPipeline,
  // Sets the job's status (one of kJobStatuses). A finished status
  // (IsFinishedJobStatus) sets a missing stopped_at, and a missing started_at,
  // to kMutationTime; any other status clears stopped_at (the job has not
  // stopped). Its workflow is unchanged.
  kSetJobStatus,
};

// The timestamp given to added items that name none: the generator's "now".
inline constexpr char kMutationTime[] = "2024-03-21T00:00:00.000Z";

// CircleCI's workflow statuses.
inline constexpr const char* kWorkflowStatuses[] = {
    "success", "running", "not_run",  "failed",      "error",
    "failing", "on_hold", "canceled", "unauthorized"};

// CircleCI's job statuses.
inline constexpr const char* kJobStatuses[] = {"success",
                                               "running",
                                               "not_run",
                                               "failed",
                                               "retried",
                                               "queued",
                                               "not_running",
                                               "infrastructure_fail",
                                               "timedout",
                                               "on_hold",
                                               "terminated-unknown",
                                               "blocked",
                                               "canceled",
                                               "unauthorized"};

// Whether a workflow with `status` has ended: success, failed, error,
// canceled, unauthorized or not_run (CircleCI then sends workflow-completed).
bool IsFinishedWorkflowStatus(absl::string_view status);
// Whether a job with `status` has ended: success, failed, canceled,
// unauthorized, not_run, infrastructure_fail, timedout or terminated-unknown
// (CircleCI then sends job-completed).
bool IsFinishedJobStatus(absl::string_view status);

// One change. Which fields an op uses is in the table at the top of this file;
// the others must stay empty. The factories below fill the right ones.
struct Mutation {
  MutationOp op = MutationOp::kRemovePipeline;
  std::string id;
  std::string org;         // org id or slug
  std::string project;     // project id or slug
  std::string context_id;  // context id
  std::string name;
  std::string login;
  std::string status;
  std::string value;
  std::string slug;
  std::string vcs_type;
  std::string avatar_url;
  std::string created_at;

  static Mutation RemovePipeline(std::string pipeline_id);
  static Mutation AddPipeline(std::string project, std::string id = "",
                              std::string status = "");
  static Mutation RenameProject(std::string project, std::string name);
  static Mutation AddOrg(std::string name, std::string vcs_type = "github");
  static Mutation RemoveOrg(std::string org);
  static Mutation SetLogin(std::string login);
  static Mutation AddRestriction(std::string context_id, std::string project);
  static Mutation RemoveRestriction(std::string context_id,
                                    std::string project);
  static Mutation RemoveRestrictionById(std::string restriction_id);
  static Mutation AddProjectEnvVar(std::string project, std::string name,
                                   std::string value = "");
  static Mutation RemoveProjectEnvVar(std::string project, std::string name);
  static Mutation AddContextEnvVar(std::string context_id, std::string name);
  static Mutation RemoveContextEnvVar(std::string context_id, std::string name);
  static Mutation SetWorkflowStatus(std::string workflow_id,
                                    std::string status);
  static Mutation SetJobStatus(std::string job_id, std::string status);

  bool operator==(const Mutation&) const = default;
};

// "remove_pipeline", ... (the JSON op names).
const char* MutationOpName(MutationOp op);

// Applies `mutations` in order to a copy of `data` and returns it; `data` is
// never changed. All or nothing: the first failure is returned, its message
// prefixed with "mutation #<index> (<op>): ". NOT_FOUND names the unknown id
// or slug; INVALID_ARGUMENT a missing, extra or bad field; ALREADY_EXISTS a
// duplicate.
//
// `applied`, when given, is called after each mutation with its index and the
// data as it then is (before the next one), e.g. to describe the change; it is
// called for the mutations before a failing one too.
using MutationObserver =
    std::function<void(size_t index, const Dataset& after)>;
absl::StatusOr<Dataset> ApplyMutations(const Dataset& data,
                                       const std::vector<Mutation>& mutations,
                                       const MutationObserver& applied = {});

// Parses the JSON form. INVALID_ARGUMENT naming the problem (not JSON, an
// unknown op or member, a member that is not a string, an empty list).
// Whether the fields an op needs are present is checked by ApplyMutations.
absl::StatusOr<std::vector<Mutation>> ParseMutationsJson(
    absl::string_view json);

// The JSON form of one mutation (only its non-empty fields), which
// ParseMutationsJson reads back.
std::string MutationToJson(const Mutation& mutation);

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_MUTATIONS_H_
