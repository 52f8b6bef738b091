// Implementation of mutations.h.
#include "tests/fakes/circleci/mutations.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/common/control.h"

namespace graphmill::fakes {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kSlugAlphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr char kSecretAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr char kDefaultAvatarUrl[] =
    "https://avatars.githubusercontent.com/u/0?v=4";

struct FieldInfo {
  const char* name;
  std::string Mutation::*member;
};

constexpr FieldInfo kFields[] = {
    {"id", &Mutation::id},
    {"org", &Mutation::org},
    {"project", &Mutation::project},
    {"context_id", &Mutation::context_id},
    {"name", &Mutation::name},
    {"login", &Mutation::login},
    {"status", &Mutation::status},
    {"value", &Mutation::value},
    {"slug", &Mutation::slug},
    {"vcs_type", &Mutation::vcs_type},
    {"avatar_url", &Mutation::avatar_url},
    {"created_at", &Mutation::created_at},
};

// Field names are space-separated.
struct OpInfo {
  MutationOp op;
  const char* name;
  const char* required;
  const char* optional;
};

constexpr OpInfo kOps[] = {
    {MutationOp::kRemovePipeline, "remove_pipeline", "id", ""},
    {MutationOp::kRenameProject, "rename_project", "project name", ""},
    {MutationOp::kAddOrg, "add_org", "name", "id slug vcs_type avatar_url"},
    {MutationOp::kRemoveOrg, "remove_org", "org", ""},
    {MutationOp::kSetLogin, "set_login", "login", ""},
    {MutationOp::kAddRestriction, "add_restriction", "context_id project",
     "id"},
    // Either form is checked in ApplyOne.
    {MutationOp::kRemoveRestriction, "remove_restriction", "",
     "id context_id project"},
    {MutationOp::kAddProjectEnvVar, "add_project_env_var", "project name",
     "value created_at"},
    {MutationOp::kRemoveProjectEnvVar, "remove_project_env_var", "project name",
     ""},
    {MutationOp::kAddContextEnvVar, "add_context_env_var", "context_id name",
     "created_at"},
    {MutationOp::kRemoveContextEnvVar, "remove_context_env_var",
     "context_id name", ""},
    {MutationOp::kSetWorkflowStatus, "set_workflow_status", "id status", ""},
    {MutationOp::kAddPipeline, "add_pipeline", "project",
     "id status created_at"},
    {MutationOp::kSetJobStatus, "set_job_status", "id status", ""},
};

const OpInfo& InfoFor(MutationOp op) {
  for (const OpInfo& info : kOps) {
    if (info.op == op) return info;
  }
  return kOps[0];  // unreachable: kOps lists every op
}

bool ListContains(absl::string_view list, absl::string_view name) {
  for (absl::string_view item : absl::StrSplit(list, ' ', absl::SkipEmpty())) {
    if (item == name) return true;
  }
  return false;
}

// Every required field is set and no field outside the op's lists is.
absl::Status CheckFields(const Mutation& m) {
  const OpInfo& info = InfoFor(m.op);
  for (const FieldInfo& field : kFields) {
    const bool set = !(m.*field.member).empty();
    const bool required = ListContains(info.required, field.name);
    if (required && !set) {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", field.name, "' is required"));
    }
    if (set && !required && !ListContains(info.optional, field.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", field.name, "' does not apply"));
    }
  }
  return absl::OkStatus();
}

// Stable across processes and machines (unlike std::hash).
uint64_t Fnv1a(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// `count` characters of `alphabet` derived from `text`.
template <size_t N>
std::string CharsFrom(const char (&alphabet)[N], absl::string_view text,
                      int count) {
  std::string out;
  uint64_t state = Fnv1a(text);
  for (int i = 0; i < count; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    out.push_back(alphabet[(state >> 33) % (N - 1)]);
  }
  return out;
}

// A version-4-shaped UUID derived from `text`, so added items get ids a test
// in another process can compute.
std::string UuidFrom(absl::string_view text) {
  std::string hex = CharsFrom(kHex, text, 32);
  hex[12] = '4';
  hex[16] = "89ab"[Fnv1a(text) % 4];
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20, 12));
}

template <typename T, typename Pred>
T* FindIf(std::vector<T>& items, Pred pred) {
  auto it = std::find_if(items.begin(), items.end(), pred);
  return it == items.end() ? nullptr : &*it;
}

// Inserts `item` right after the last element `same_parent` accepts (at the
// end when there is none), so children stay grouped by parent.
template <typename T, typename Pred>
void InsertAfterLast(std::vector<T>& items, T item, Pred same_parent) {
  auto last = std::find_if(items.rbegin(), items.rend(), same_parent);
  items.insert(last == items.rend() ? items.end() : last.base(),
               std::move(item));
}

absl::StatusOr<Project*> FindProject(Dataset& data, const std::string& key) {
  Project* project = FindIf(data.projects, [&](const Project& p) {
    return p.id == key || p.slug == key;
  });
  if (project == nullptr) {
    return absl::NotFoundError(absl::StrCat("project '", key, "' not found"));
  }
  return project;
}

absl::StatusOr<Context*> FindContext(Dataset& data, const std::string& id) {
  Context* context =
      FindIf(data.contexts, [&](const Context& c) { return c.id == id; });
  if (context == nullptr) {
    return absl::NotFoundError(absl::StrCat("context '", id, "' not found"));
  }
  return context;
}

absl::Status RemovePipeline(Dataset& data, const std::string& id) {
  if (FindIf(data.pipelines, [&](const Pipeline& p) { return p.id == id; }) ==
      nullptr) {
    return absl::NotFoundError(absl::StrCat("pipeline '", id, "' not found"));
  }
  absl::flat_hash_set<std::string> workflow_ids;
  for (const Workflow& w : data.workflows) {
    if (w.pipeline_id == id) workflow_ids.insert(w.id);
  }
  std::erase_if(data.jobs, [&](const Job& j) {
    return workflow_ids.contains(j.workflow_id);
  });
  std::erase_if(data.workflows,
                [&](const Workflow& w) { return w.pipeline_id == id; });
  std::erase_if(data.pipelines, [&](const Pipeline& p) { return p.id == id; });
  return absl::OkStatus();
}

absl::Status RenameProject(Dataset& data, const Mutation& m) {
  absl::StatusOr<Project*> project = FindProject(data, m.project);
  if (!project.ok()) return project.status();
  (*project)->name = m.name;
  for (ContextRestriction& r : data.restrictions) {
    if (r.restriction_type == "project" && r.project_id == (*project)->id) {
      r.name = m.name;
    }
  }
  return absl::OkStatus();
}

absl::Status AddOrg(Dataset& data, const Mutation& m) {
  Org org;
  org.name = m.name;
  org.vcs_type = m.vcs_type.empty() ? "github" : m.vcs_type;
  if (org.vcs_type != "github" && org.vcs_type != "circleci") {
    return absl::InvalidArgumentError(absl::StrCat(
        "vcs_type must be github or circleci, got '", org.vcs_type, "'"));
  }
  if (!m.slug.empty()) {
    org.slug = m.slug;
  } else if (org.vcs_type == "github") {
    org.slug = absl::StrCat("gh/", m.name);
  } else {
    org.slug = absl::StrCat("circleci/",
                            CharsFrom(kSlugAlphabet, "org:" + m.name, 22));
  }
  org.id = m.id.empty() ? UuidFrom("org:" + org.slug) : m.id;
  org.avatar_url = m.avatar_url.empty() ? kDefaultAvatarUrl : m.avatar_url;
  for (const Org& existing : data.orgs) {
    if (existing.id == org.id || existing.slug == org.slug) {
      return absl::AlreadyExistsError(
          absl::StrCat("org '", existing.id == org.id ? org.id : org.slug,
                       "' already exists"));
    }
  }
  data.orgs.push_back(std::move(org));
  return absl::OkStatus();
}

absl::Status RemoveOrg(Dataset& data, const std::string& key) {
  const Org* org = FindIf(
      data.orgs, [&](const Org& o) { return o.id == key || o.slug == key; });
  if (org == nullptr) {
    return absl::NotFoundError(absl::StrCat("org '", key, "' not found"));
  }
  const std::string org_id = org->id;
  const std::string org_slug = org->slug;
  absl::flat_hash_set<std::string> project_ids, project_slugs, pipeline_ids,
      workflow_ids, context_ids;
  for (const Project& p : data.projects) {
    if (p.organization_id == org_id || p.organization_slug == org_slug) {
      project_ids.insert(p.id);
      project_slugs.insert(p.slug);
    }
  }
  for (const Pipeline& p : data.pipelines) {
    if (p.org_slug == org_slug || project_slugs.contains(p.project_slug)) {
      pipeline_ids.insert(p.id);
    }
  }
  for (const Workflow& w : data.workflows) {
    if (pipeline_ids.contains(w.pipeline_id)) workflow_ids.insert(w.id);
  }
  for (const Context& c : data.contexts) {
    if (c.org_slug == org_slug) context_ids.insert(c.id);
  }
  std::erase_if(data.jobs, [&](const Job& j) {
    return workflow_ids.contains(j.workflow_id);
  });
  std::erase_if(data.workflows,
                [&](const Workflow& w) { return workflow_ids.contains(w.id); });
  std::erase_if(data.pipelines,
                [&](const Pipeline& p) { return pipeline_ids.contains(p.id); });
  std::erase_if(data.project_env_vars, [&](const ProjectEnvVar& v) {
    return project_slugs.contains(v.project_slug);
  });
  std::erase_if(data.restrictions, [&](const ContextRestriction& r) {
    return context_ids.contains(r.context_id) ||
           (r.restriction_type == "project" &&
            project_ids.contains(r.project_id));
  });
  std::erase_if(data.context_env_vars, [&](const ContextEnvVar& v) {
    return context_ids.contains(v.context_id);
  });
  std::erase_if(data.contexts,
                [&](const Context& c) { return context_ids.contains(c.id); });
  std::erase_if(data.projects,
                [&](const Project& p) { return project_ids.contains(p.id); });
  std::erase_if(data.orgs, [&](const Org& o) { return o.id == org_id; });
  return absl::OkStatus();
}

bool IsProjectRestriction(const ContextRestriction& r,
                          const std::string& context_id,
                          const std::string& project_id) {
  return r.context_id == context_id && r.restriction_type == "project" &&
         r.project_id == project_id;
}

absl::Status AddRestriction(Dataset& data, const Mutation& m) {
  absl::StatusOr<Context*> context = FindContext(data, m.context_id);
  if (!context.ok()) return context.status();
  absl::StatusOr<Project*> project = FindProject(data, m.project);
  if (!project.ok()) return project.status();
  const Project& p = **project;
  for (const ContextRestriction& r : data.restrictions) {
    if (IsProjectRestriction(r, m.context_id, p.id)) {
      return absl::AlreadyExistsError(
          absl::StrCat("context '", m.context_id,
                       "' is already restricted to project '", p.id, "'"));
    }
  }
  const std::string id =
      m.id.empty()
          ? UuidFrom(absl::StrCat("restriction:", m.context_id, ":", p.id))
          : m.id;
  for (const ContextRestriction& r : data.restrictions) {
    if (r.id == id) {
      return absl::AlreadyExistsError(
          absl::StrCat("restriction '", id, "' already exists"));
    }
  }
  InsertAfterLast(
      data.restrictions,
      ContextRestriction{id, m.context_id, p.id, p.name, "project", p.id},
      [&](const ContextRestriction& r) {
        return r.context_id == m.context_id;
      });
  return absl::OkStatus();
}

absl::Status RemoveRestriction(Dataset& data, const Mutation& m) {
  if (!m.id.empty()) {
    if (!m.context_id.empty() || !m.project.empty()) {
      return absl::InvalidArgumentError(
          "give either 'id' or 'context_id' and 'project', not both");
    }
    const size_t before = data.restrictions.size();
    std::erase_if(data.restrictions,
                  [&](const ContextRestriction& r) { return r.id == m.id; });
    if (data.restrictions.size() == before) {
      return absl::NotFoundError(
          absl::StrCat("restriction '", m.id, "' not found"));
    }
    return absl::OkStatus();
  }
  if (m.context_id.empty() || m.project.empty()) {
    return absl::InvalidArgumentError(
        "needs 'id', or 'context_id' and 'project'");
  }
  absl::StatusOr<Context*> context = FindContext(data, m.context_id);
  if (!context.ok()) return context.status();
  absl::StatusOr<Project*> project = FindProject(data, m.project);
  if (!project.ok()) return project.status();
  const std::string project_id = (*project)->id;
  const size_t before = data.restrictions.size();
  std::erase_if(data.restrictions, [&](const ContextRestriction& r) {
    return IsProjectRestriction(r, m.context_id, project_id);
  });
  if (data.restrictions.size() == before) {
    return absl::NotFoundError(absl::StrCat("context '", m.context_id,
                                            "' has no restriction to project '",
                                            m.project, "'"));
  }
  return absl::OkStatus();
}

absl::Status AddProjectEnvVar(Dataset& data, const Mutation& m) {
  absl::StatusOr<Project*> project = FindProject(data, m.project);
  if (!project.ok()) return project.status();
  const std::string slug = (*project)->slug;
  for (const ProjectEnvVar& v : data.project_env_vars) {
    if (v.project_slug == slug && v.name == m.name) {
      return absl::AlreadyExistsError(absl::StrCat(
          "project '", m.project, "' already has variable '", m.name, "'"));
    }
  }
  ProjectEnvVar var;
  var.project_slug = slug;
  var.name = m.name;
  var.value =
      m.value.empty()
          ? CharsFrom(kSecretAlphabet,
                      absl::StrCat("env:", (*project)->id, ":", m.name), 20)
          : m.value;
  var.masked_value = absl::StrCat(
      "xxxx", var.value.substr(var.value.size() -
                               std::min<size_t>(3, var.value.size())));
  var.created_at = m.created_at.empty() ? kMutationTime : m.created_at;
  InsertAfterLast(
      data.project_env_vars, std::move(var),
      [&](const ProjectEnvVar& v) { return v.project_slug == slug; });
  return absl::OkStatus();
}

absl::Status RemoveProjectEnvVar(Dataset& data, const Mutation& m) {
  absl::StatusOr<Project*> project = FindProject(data, m.project);
  if (!project.ok()) return project.status();
  const std::string slug = (*project)->slug;
  const size_t before = data.project_env_vars.size();
  std::erase_if(data.project_env_vars, [&](const ProjectEnvVar& v) {
    return v.project_slug == slug && v.name == m.name;
  });
  if (data.project_env_vars.size() == before) {
    return absl::NotFoundError(absl::StrCat(
        "project '", m.project, "' has no variable '", m.name, "'"));
  }
  return absl::OkStatus();
}

absl::Status AddContextEnvVar(Dataset& data, const Mutation& m) {
  absl::StatusOr<Context*> context = FindContext(data, m.context_id);
  if (!context.ok()) return context.status();
  for (const ContextEnvVar& v : data.context_env_vars) {
    if (v.context_id == m.context_id && v.variable == m.name) {
      return absl::AlreadyExistsError(absl::StrCat(
          "context '", m.context_id, "' already has variable '", m.name, "'"));
    }
  }
  ContextEnvVar var;
  var.context_id = m.context_id;
  var.variable = m.name;
  var.created_at = m.created_at.empty() ? kMutationTime : m.created_at;
  var.updated_at = var.created_at;
  InsertAfterLast(
      data.context_env_vars, std::move(var),
      [&](const ContextEnvVar& v) { return v.context_id == m.context_id; });
  return absl::OkStatus();
}

absl::Status RemoveContextEnvVar(Dataset& data, const Mutation& m) {
  absl::StatusOr<Context*> context = FindContext(data, m.context_id);
  if (!context.ok()) return context.status();
  const size_t before = data.context_env_vars.size();
  std::erase_if(data.context_env_vars, [&](const ContextEnvVar& v) {
    return v.context_id == m.context_id && v.variable == m.name;
  });
  if (data.context_env_vars.size() == before) {
    return absl::NotFoundError(absl::StrCat(
        "context '", m.context_id, "' has no variable '", m.name, "'"));
  }
  return absl::OkStatus();
}

absl::Status SetWorkflowStatus(Dataset& data, const Mutation& m) {
  if (std::find(std::begin(kWorkflowStatuses), std::end(kWorkflowStatuses),
                m.status) == std::end(kWorkflowStatuses)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", m.status, "' is not a workflow status"));
  }
  Workflow* workflow =
      FindIf(data.workflows, [&](const Workflow& w) { return w.id == m.id; });
  if (workflow == nullptr) {
    return absl::NotFoundError(absl::StrCat("workflow '", m.id, "' not found"));
  }
  workflow->status = m.status;
  workflow->canceled_by = m.status == "canceled" ? data.user.id : "";
  if (IsFinishedWorkflowStatus(m.status) && workflow->stopped_at.empty()) {
    workflow->stopped_at = kMutationTime;
  }
  return absl::OkStatus();
}

absl::Status SetJobStatus(Dataset& data, const Mutation& m) {
  if (std::find(std::begin(kJobStatuses), std::end(kJobStatuses), m.status) ==
      std::end(kJobStatuses)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", m.status, "' is not a job status"));
  }
  Job* job = FindIf(data.jobs, [&](const Job& j) { return j.id == m.id; });
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("job '", m.id, "' not found"));
  }
  job->status = m.status;
  if (IsFinishedJobStatus(m.status)) {
    if (job->started_at.empty()) job->started_at = kMutationTime;
    if (job->stopped_at.empty()) job->stopped_at = kMutationTime;
  } else {
    job->stopped_at.clear();
  }
  return absl::OkStatus();
}

absl::Status AddPipeline(Dataset& data, const Mutation& m) {
  const std::string status = m.status.empty() ? "success" : m.status;
  if (std::find(std::begin(kWorkflowStatuses), std::end(kWorkflowStatuses),
                status) == std::end(kWorkflowStatuses)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", status, "' is not a workflow status"));
  }
  absl::StatusOr<Project*> found = FindProject(data, m.project);
  if (!found.ok()) return found.status();
  const Project& project = **found;
  const std::string created_at =
      m.created_at.empty() ? kMutationTime : m.created_at;
  absl::Time created;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, created_at, &created, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "created_at '", created_at, "' is not an RFC 3339 time: ", error));
  }
  int number = 0;
  int job_number = 0;
  for (const Pipeline& p : data.pipelines) {
    if (p.project_slug == project.slug) number = std::max(number, p.number);
  }
  for (const Job& j : data.jobs) {
    if (j.project_slug == project.slug)
      job_number = std::max(job_number, j.job_number);
  }
  Pipeline pipeline;
  pipeline.number = number + 1;
  pipeline.id = m.id.empty() ? UuidFrom(absl::StrCat("pipeline:", project.id,
                                                     ":", pipeline.number))
                             : m.id;
  if (FindIf(data.pipelines, [&](const Pipeline& p) {
        return p.id == pipeline.id;
      }) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("pipeline '", pipeline.id, "' already exists"));
  }
  pipeline.project_slug = project.slug;
  pipeline.org_slug = project.organization_slug;
  pipeline.state = "created";
  pipeline.created_at_ms = absl::ToUnixMillis(created);
  pipeline.created_at = created_at;
  pipeline.updated_at = created_at;
  pipeline.trigger_type = "api";
  pipeline.branch = project.default_branch;
  pipeline.revision = CharsFrom(kHex, pipeline.id, 40);
  Workflow workflow;
  workflow.id = UuidFrom("workflow:" + pipeline.id);
  workflow.pipeline_id = pipeline.id;
  workflow.name = "build";
  workflow.project_slug = project.slug;
  workflow.status = status;
  workflow.started_by = data.user.id;
  workflow.pipeline_number = pipeline.number;
  workflow.created_at = created_at;
  if (status == "canceled") workflow.canceled_by = data.user.id;
  const bool finished = IsFinishedWorkflowStatus(status);
  std::string previous_job;
  for (int j = 0; j < 2; ++j) {
    Job job;
    job.id = UuidFrom(absl::StrCat("job:", pipeline.id, ":", j));
    job.workflow_id = workflow.id;
    job.job_number = ++job_number;
    job.name = j == 0 ? "build" : "test";
    job.project_slug = project.slug;
    job.status = j == 0 ? "success" : finished ? status : "running";
    job.type = "build";
    job.started_at = created_at;
    if (finished || j == 0) job.stopped_at = created_at;
    if (!previous_job.empty()) job.dependencies.push_back(previous_job);
    previous_job = job.id;
    data.jobs.push_back(std::move(job));
  }
  if (finished) workflow.stopped_at = created_at;
  data.workflows.push_back(std::move(workflow));
  data.pipelines.push_back(std::move(pipeline));
  return absl::OkStatus();
}

absl::Status ApplyOne(Dataset& data, const Mutation& m) {
  if (absl::Status status = CheckFields(m); !status.ok()) return status;
  switch (m.op) {
    case MutationOp::kRemovePipeline:
      return RemovePipeline(data, m.id);
    case MutationOp::kRenameProject:
      return RenameProject(data, m);
    case MutationOp::kAddOrg:
      return AddOrg(data, m);
    case MutationOp::kRemoveOrg:
      return RemoveOrg(data, m.org);
    case MutationOp::kSetLogin:
      data.user.login = m.login;
      return absl::OkStatus();
    case MutationOp::kAddRestriction:
      return AddRestriction(data, m);
    case MutationOp::kRemoveRestriction:
      return RemoveRestriction(data, m);
    case MutationOp::kAddProjectEnvVar:
      return AddProjectEnvVar(data, m);
    case MutationOp::kRemoveProjectEnvVar:
      return RemoveProjectEnvVar(data, m);
    case MutationOp::kAddContextEnvVar:
      return AddContextEnvVar(data, m);
    case MutationOp::kRemoveContextEnvVar:
      return RemoveContextEnvVar(data, m);
    case MutationOp::kSetWorkflowStatus:
      return SetWorkflowStatus(data, m);
    case MutationOp::kAddPipeline:
      return AddPipeline(data, m);
    case MutationOp::kSetJobStatus:
      return SetJobStatus(data, m);
  }
  return absl::InvalidArgumentError("unknown op");
}

absl::StatusOr<Mutation> MutationFromJson(const rapidjson::Value& value) {
  if (!value.IsObject()) {
    return absl::InvalidArgumentError("a mutation must be a JSON object");
  }
  Mutation m;
  bool has_op = false;
  for (const auto& member : value.GetObject()) {
    const absl::string_view key(member.name.GetString(),
                                member.name.GetStringLength());
    if (!member.value.IsString()) {
      return absl::InvalidArgumentError(
          absl::StrCat("member '", key, "' must be a string"));
    }
    const absl::string_view text(member.value.GetString(),
                                 member.value.GetStringLength());
    if (key == "op") {
      const OpInfo* found = nullptr;
      for (const OpInfo& info : kOps) {
        if (text == info.name) found = &info;
      }
      if (found == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown op '", text, "'"));
      }
      m.op = found->op;
      has_op = true;
      continue;
    }
    const FieldInfo* field = nullptr;
    for (const FieldInfo& f : kFields) {
      if (key == f.name) field = &f;
    }
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown member '", key, "'"));
    }
    m.*field->member = std::string(text);
  }
  if (!has_op) return absl::InvalidArgumentError("member 'op' is required");
  return m;
}

}  // namespace

Mutation Mutation::RemovePipeline(std::string pipeline_id) {
  Mutation m;
  m.op = MutationOp::kRemovePipeline;
  m.id = std::move(pipeline_id);
  return m;
}

Mutation Mutation::RenameProject(std::string project, std::string name) {
  Mutation m;
  m.op = MutationOp::kRenameProject;
  m.project = std::move(project);
  m.name = std::move(name);
  return m;
}

Mutation Mutation::AddOrg(std::string name, std::string vcs_type) {
  Mutation m;
  m.op = MutationOp::kAddOrg;
  m.name = std::move(name);
  m.vcs_type = std::move(vcs_type);
  return m;
}

Mutation Mutation::RemoveOrg(std::string org) {
  Mutation m;
  m.op = MutationOp::kRemoveOrg;
  m.org = std::move(org);
  return m;
}

Mutation Mutation::SetLogin(std::string login) {
  Mutation m;
  m.op = MutationOp::kSetLogin;
  m.login = std::move(login);
  return m;
}

Mutation Mutation::AddRestriction(std::string context_id, std::string project) {
  Mutation m;
  m.op = MutationOp::kAddRestriction;
  m.context_id = std::move(context_id);
  m.project = std::move(project);
  return m;
}

Mutation Mutation::RemoveRestriction(std::string context_id,
                                     std::string project) {
  Mutation m;
  m.op = MutationOp::kRemoveRestriction;
  m.context_id = std::move(context_id);
  m.project = std::move(project);
  return m;
}

Mutation Mutation::RemoveRestrictionById(std::string restriction_id) {
  Mutation m;
  m.op = MutationOp::kRemoveRestriction;
  m.id = std::move(restriction_id);
  return m;
}

Mutation Mutation::AddProjectEnvVar(std::string project, std::string name,
                                    std::string value) {
  Mutation m;
  m.op = MutationOp::kAddProjectEnvVar;
  m.project = std::move(project);
  m.name = std::move(name);
  m.value = std::move(value);
  return m;
}

Mutation Mutation::RemoveProjectEnvVar(std::string project, std::string name) {
  Mutation m;
  m.op = MutationOp::kRemoveProjectEnvVar;
  m.project = std::move(project);
  m.name = std::move(name);
  return m;
}

Mutation Mutation::AddContextEnvVar(std::string context_id, std::string name) {
  Mutation m;
  m.op = MutationOp::kAddContextEnvVar;
  m.context_id = std::move(context_id);
  m.name = std::move(name);
  return m;
}

Mutation Mutation::RemoveContextEnvVar(std::string context_id,
                                       std::string name) {
  Mutation m;
  m.op = MutationOp::kRemoveContextEnvVar;
  m.context_id = std::move(context_id);
  m.name = std::move(name);
  return m;
}

Mutation Mutation::AddPipeline(std::string project, std::string id,
                               std::string status) {
  Mutation m;
  m.op = MutationOp::kAddPipeline;
  m.project = std::move(project);
  m.id = std::move(id);
  m.status = std::move(status);
  return m;
}

Mutation Mutation::SetWorkflowStatus(std::string workflow_id,
                                     std::string status) {
  Mutation m;
  m.op = MutationOp::kSetWorkflowStatus;
  m.id = std::move(workflow_id);
  m.status = std::move(status);
  return m;
}

Mutation Mutation::SetJobStatus(std::string job_id, std::string status) {
  Mutation m;
  m.op = MutationOp::kSetJobStatus;
  m.id = std::move(job_id);
  m.status = std::move(status);
  return m;
}

bool IsFinishedWorkflowStatus(absl::string_view status) {
  return status == "success" || status == "failed" || status == "error" ||
         status == "canceled" || status == "unauthorized" ||
         status == "not_run";
}

bool IsFinishedJobStatus(absl::string_view status) {
  return status == "success" || status == "failed" || status == "canceled" ||
         status == "unauthorized" || status == "not_run" ||
         status == "infrastructure_fail" || status == "timedout" ||
         status == "terminated-unknown";
}

const char* MutationOpName(MutationOp op) { return InfoFor(op).name; }

absl::StatusOr<Dataset> ApplyMutations(const Dataset& data,
                                       const std::vector<Mutation>& mutations,
                                       const MutationObserver& applied) {
  Dataset out = data;
  for (size_t i = 0; i < mutations.size(); ++i) {
    if (absl::Status status = ApplyOne(out, mutations[i]); !status.ok()) {
      return absl::Status(
          status.code(),
          absl::StrCat("mutation #", i, " (", MutationOpName(mutations[i].op),
                       "): ", status.message()));
    }
    if (applied) applied(i, out);
  }
  return out;
}

absl::StatusOr<std::vector<Mutation>> ParseMutationsJson(
    absl::string_view json) {
  return common::MutationsFromJson<Mutation>(json, MutationFromJson);
}

std::string MutationToJson(const Mutation& mutation) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("op");
  w.String(MutationOpName(mutation.op));
  for (const FieldInfo& field : kFields) {
    const std::string& value = mutation.*field.member;
    if (value.empty()) continue;
    w.Key(field.name);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace graphmill::fakes
