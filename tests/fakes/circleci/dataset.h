// The data a generated-mode fake CircleCI serves: plain structs and a
// deterministic generator, so tests can compute exactly what a full ingestion
// must find.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_DATASET_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace graphmill::fakes {

// Sizes are per parent, so totals are products (pipelines = orgs *
// projects_per_org * pipelines_per_project). All must be >= 0 and the total
// item count at most 5,000,000.
struct GeneratorOptions {
  uint64_t seed = 1;
  std::string login =
      "graphmill-test";  // the /me login; also the name of org 0
  std::string user_id = "5c3bb5d0-5a0c-4a54-9b2e-9a8f1b1d6a01";  // the /me id
  int orgs = 2;
  int projects_per_org = 5;
  int pipelines_per_project = 5;
  int workflows_per_pipeline = 2;
  int jobs_per_workflow = 3;
  int contexts_per_org = 2;
  int env_vars_per_project = 2;
  int env_vars_per_context = 2;
  // Project restrictions per context (capped at projects_per_org), to distinct
  // projects.
  int project_restrictions_per_context = 2;
  // Adds one `expression` restriction to every context, as the 2024 recording
  // has.
  bool expression_restriction = true;
};

struct User {
  std::string id;
  std::string login;  // the API's `name` is null, as recorded

  bool operator==(const User&) const = default;
};

// A /me/collaborations entry (a CircleCI organization).
struct Org {
  std::string id;
  std::string slug;  // "circleci/<22 chars>" or "gh/<name>"
  std::string name;
  std::string vcs_type;  // "circleci" or "github"
  std::string avatar_url;

  bool operator==(const Org&) const = default;
};

struct Project {
  std::string id;
  std::string slug;  // "<org slug>/<project>"; the API wants it as one
                     // %2F-escaped segment
  std::string name;
  std::string organization_id;  // Org::id
  std::string organization_name;
  std::string organization_slug;
  std::string vcs_url;
  std::string default_branch;
  std::string provider;  // "CircleCI" or "GitHub"

  bool operator==(const Project&) const = default;
};

struct Pipeline {
  std::string id;
  std::string project_slug;
  std::string org_slug;
  int number = 0;     // per project, 1 = oldest
  std::string state;  // "created"
  int64_t created_at_ms = 0;
  std::string created_at;  // ISO 8601, millisecond precision
  std::string updated_at;
  std::string trigger_type;  // "github_app", "api", ...
  std::string branch;
  std::string revision;

  bool operator==(const Pipeline&) const = default;
};

struct Workflow {
  std::string id;
  std::string pipeline_id;
  std::string name;
  std::string project_slug;
  std::string status;  // "success", "failed" or "canceled"
  std::string started_by;
  int pipeline_number = 0;
  std::string created_at;  // ISO 8601, second precision
  std::string stopped_at;
  std::string canceled_by;  // set only when status is "canceled"

  bool operator==(const Workflow&) const = default;
};

struct Job {
  std::string id;
  std::string workflow_id;
  int job_number = 0;  // per project
  std::string name;
  std::string project_slug;
  std::string status;
  std::string type;  // "build"
  std::string started_at;
  std::string stopped_at;
  std::vector<std::string> dependencies;  // ids of jobs of the same workflow

  bool operator==(const Job&) const = default;
};

struct ProjectEnvVar {
  std::string project_slug;
  std::string
      name;  // names repeat across projects on purpose (key-scoping tests)
  std::string value;         // the secret; never served
  std::string masked_value;  // "xxxx" + the value's last 3 characters; what the
                             // API serves
  std::string created_at;

  bool operator==(const ProjectEnvVar&) const = default;
};

struct Context {
  std::string id;
  std::string org_slug;
  std::string name;
  std::string created_at;

  bool operator==(const Context&) const = default;
};

struct ContextRestriction {
  std::string id;
  std::string context_id;
  std::string project_id;  // all zeros for an expression restriction
  std::string name;  // the project's name; "" for an expression restriction
  std::string restriction_type;  // "project" or "expression"
  std::string restriction_value;

  bool operator==(const ContextRestriction&) const = default;
};

struct ContextEnvVar {
  std::string context_id;
  std::string variable;  // names repeat across contexts on purpose
  std::string created_at;
  std::string updated_at;

  bool operator==(const ContextEnvVar&) const = default;
};

// Vectors are in generation order: parents before children, children grouped by
// parent in the order the API lists them (the org pipeline feed is the
// exception: it is sorted by created_at, newest first, across the org's
// projects). Mutations (mutations.h) keep this: an added child goes right after
// its parent's last child, an added org at the end.
struct Dataset {
  User user;
  std::vector<Org> orgs;
  std::vector<Project> projects;
  std::vector<Pipeline> pipelines;
  std::vector<Workflow> workflows;
  std::vector<Job> jobs;
  std::vector<ProjectEnvVar> project_env_vars;
  std::vector<Context> contexts;
  std::vector<ContextRestriction> restrictions;
  std::vector<ContextEnvVar> context_env_vars;

  bool operator==(const Dataset&) const = default;
};

// Same options (seed included) give the same dataset, on any machine. Fails
// with INVALID_ARGUMENT naming the field when a size is negative or the total
// is too large.
absl::StatusOr<Dataset> GenerateDataset(const GeneratorOptions& options);

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_DATASET_H_
