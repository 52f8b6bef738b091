// Implementation of generated_api.h.
#include "tests/fakes/circleci/generated_api.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::fakes {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Small helpers so item renderers read like the JSON they produce.
void Key(Writer& w, const char* key) { w.Key(key); }
void Str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}
void Int(Writer& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}
void Null(Writer& w, const char* key) {
  w.Key(key);
  w.Null();
}

template <typename Render>
std::string RenderJson(Render render) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  render(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string RenderUser(const User& user) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Null(w, "name");
    Str(w, "login", user.login);
    Str(w, "id", user.id);
    w.EndObject();
  });
}

void WriteOrg(Writer& w, const Org& org) {
  w.StartObject();
  Str(w, "vcs_type", org.vcs_type);
  Str(w, "slug", org.slug);
  Str(w, "name", org.name);
  Str(w, "id", org.id);
  Str(w, "avatar_url", org.avatar_url);
  w.EndObject();
}

std::string RenderProject(const Project& project) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "slug", project.slug);
    Str(w, "organization_name", project.organization_name);
    Str(w, "organization_id", project.organization_id);
    Str(w, "name", project.name);
    Str(w, "id", project.id);
    Str(w, "organization_slug", project.organization_slug);
    Key(w, "vcs_info");
    w.StartObject();
    Str(w, "vcs_url", project.vcs_url);
    Str(w, "default_branch", project.default_branch);
    Str(w, "provider", project.provider);
    w.EndObject();
    w.EndObject();
  });
}

std::string RenderPipeline(const Pipeline& pipeline, const Project& project,
                           const User& user) {
  const std::string repo_full_name =
      absl::StrCat(project.organization_name, "/", project.name);
  const std::string received_at =
      absl::StrCat(pipeline.created_at.substr(0, 19), ".000Z");
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "id", pipeline.id);
    Key(w, "errors");
    w.StartArray();
    w.EndArray();
    Str(w, "project_slug", pipeline.project_slug);
    Str(w, "updated_at", pipeline.updated_at);
    Int(w, "number", pipeline.number);
    Key(w, "trigger_parameters");
    w.StartObject();
    Key(w, "git");
    w.StartObject();
    Str(w, "checkout_sha", pipeline.revision);
    Str(w, "ref", pipeline.revision);
    Str(w, "branch", pipeline.branch);
    Str(w, "checkout_url",
        absl::StrCat("git@github.com:", repo_full_name, ".git"));
    w.EndObject();
    Key(w, "circleci");
    w.StartObject();
    Str(w, "event_time", absl::StrCat(pipeline.created_at.substr(0, 19), "Z"));
    Str(w, "actor_id", user.id);
    Str(w, "event_type", pipeline.trigger_type == "webhook" ? "push" : "api");
    Str(w, "trigger_type", pipeline.trigger_type);
    w.EndObject();
    w.EndObject();
    Str(w, "state", pipeline.state);
    Str(w, "created_at", pipeline.created_at);
    Key(w, "trigger");
    w.StartObject();
    Str(w, "received_at", received_at);
    Str(w, "type", pipeline.trigger_type);
    Key(w, "actor");
    w.StartObject();
    Str(w, "login", user.login);
    Null(w, "avatar_url");
    w.EndObject();
    w.EndObject();
    if (project.provider == "GitHub") {
      Key(w, "vcs");
      w.StartObject();
      Str(w, "provider_name", "GitHub");
      Str(w, "origin_repository_url", project.vcs_url);
      Str(w, "target_repository_url", project.vcs_url);
      Str(w, "revision", pipeline.revision);
      Str(w, "branch", pipeline.branch);
      w.EndObject();
    }
    w.EndObject();
  });
}

std::string RenderWorkflow(const Workflow& workflow) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "pipeline_id", workflow.pipeline_id);
    Str(w, "id", workflow.id);
    Str(w, "name", workflow.name);
    Str(w, "project_slug", workflow.project_slug);
    Str(w, "status", workflow.status);
    Str(w, "started_by", workflow.started_by);
    Int(w, "pipeline_number", workflow.pipeline_number);
    Str(w, "created_at", workflow.created_at);
    Str(w, "stopped_at", workflow.stopped_at);
    if (!workflow.canceled_by.empty())
      Str(w, "canceled_by", workflow.canceled_by);
    w.EndObject();
  });
}

std::string RenderJob(const Job& job) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Key(w, "dependencies");
    w.StartArray();
    for (const std::string& dependency : job.dependencies) {
      w.String(dependency.c_str(),
               static_cast<rapidjson::SizeType>(dependency.size()));
    }
    w.EndArray();
    Int(w, "job_number", job.job_number);
    Str(w, "id", job.id);
    Str(w, "started_at", job.started_at);
    Str(w, "name", job.name);
    Str(w, "project_slug", job.project_slug);
    Str(w, "status", job.status);
    Str(w, "type", job.type);
    Str(w, "stopped_at", job.stopped_at);
    w.EndObject();
  });
}

std::string RenderProjectEnvVar(const ProjectEnvVar& var) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "name", var.name);
    Str(w, "value", var.masked_value);
    Str(w, "created_at", var.created_at);
    w.EndObject();
  });
}

std::string RenderContext(const Context& context) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "name", context.name);
    Str(w, "id", context.id);
    Str(w, "created_at", context.created_at);
    w.EndObject();
  });
}

std::string RenderRestriction(const ContextRestriction& restriction) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "context_id", restriction.context_id);
    Str(w, "id", restriction.id);
    Str(w, "project_id", restriction.project_id);
    Str(w, "name", restriction.name);
    Str(w, "restriction_type", restriction.restriction_type);
    Str(w, "restriction_value", restriction.restriction_value);
    w.EndObject();
  });
}

std::string RenderContextEnvVar(const ContextEnvVar& var) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "variable", var.variable);
    Str(w, "updated_at", var.updated_at);
    Str(w, "context_id", var.context_id);
    Str(w, "created_at", var.created_at);
    w.EndObject();
  });
}

// Stable across processes (unlike std::hash), so tokens are too.
uint64_t Fnv1a(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Opaque, URL-safe (base64url, no padding) token naming a list and an offset in
// it.
std::string EncodePageToken(absl::string_view route, absl::string_view resource,
                            size_t offset) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("v1:", route, ":", absl::Hex(Fnv1a(resource)), ":", offset));
}

// The offset `token` names in the list (route, resource), or -1 when it names
// another list or is not a token at all.
int64_t DecodePageToken(absl::string_view token, absl::string_view route,
                        absl::string_view resource) {
  std::string payload;
  if (!absl::WebSafeBase64Unescape(token, &payload)) return -1;
  const std::vector<absl::string_view> parts = absl::StrSplit(payload, ':');
  int64_t offset = -1;
  if (parts.size() != 4 || parts[0] != "v1" || parts[1] != route ||
      parts[2] != absl::StrCat(absl::Hex(Fnv1a(resource))) ||
      !absl::SimpleAtoi(parts[3], &offset)) {
    return -1;
  }
  return offset;
}

// `,"padding":"..."` with `bytes` filler characters: a repeated run of
// letters and digits (JSON-safe, and as compressible as ordinary text).
std::string PaddingMember(int64_t bytes) {
  if (bytes <= 0) return "";
  constexpr absl::string_view kFiller =
      "graphmill-padding-0123456789-abcdefghijklmnopqrstuvwxyz-";
  std::string member = ",\"padding\":\"";
  member.reserve(member.size() + static_cast<size_t>(bytes) + 1);
  for (int64_t i = 0; i < bytes; ++i) {
    member.push_back(kFiller[static_cast<size_t>(i) % kFiller.size()]);
  }
  member.push_back('"');
  return member;
}

bool LooksLikeUuid(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash ? c != '-'
             : !absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsPaddableRoute(absl::string_view route) {
  return route == "pipeline" || route == "pipeline-workflows" ||
         route == "workflow-jobs" || route == "envvar" || route == "context" ||
         route == "restrictions" || route == "context-envvar";
}

std::string ErrorBody(absl::string_view message) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    w.Key("message");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    w.EndObject();
  });
}

ApiReply OkReply(std::string body) {
  ApiReply reply;
  reply.body = std::move(body);
  return reply;
}

ApiReply ErrorReply(int status, absl::string_view message) {
  ApiReply reply;
  reply.status = status;
  reply.body = ErrorBody(message);
  return reply;
}

template <typename T>
using Groups = absl::flat_hash_map<std::string, std::vector<const T*>>;

// Every list key the API knows (a parent with no children has an empty list,
// not a 404), with its items in the order they are served.
struct GeneratedApi::Index {
  explicit Index(const Dataset& data) {
    for (const Org& org : data.orgs) {
      projects_by_org[org.slug];
      feed_by_org[org.slug];
      contexts_by_org[org.slug];
    }
    for (const Project& project : data.projects) {
      project_by_slug[project.slug] = &project;
      projects_by_org[project.organization_slug].push_back(&project);
      env_vars_by_project[project.slug];
    }
    std::vector<const Pipeline*> feed_order;
    feed_order.reserve(data.pipelines.size());
    for (const Pipeline& pipeline : data.pipelines) {
      feed_order.push_back(&pipeline);
    }
    std::sort(feed_order.begin(), feed_order.end(),
              [](const Pipeline* a, const Pipeline* b) {
                if (a->created_at_ms != b->created_at_ms) {
                  return a->created_at_ms > b->created_at_ms;
                }
                return a->id < b->id;
              });
    for (const Pipeline* pipeline : feed_order) {
      feed_by_org[pipeline->org_slug].push_back(pipeline);
      workflows_by_pipeline[pipeline->id];
    }
    for (const Workflow& workflow : data.workflows) {
      workflows_by_pipeline[workflow.pipeline_id].push_back(&workflow);
      jobs_by_workflow[workflow.id];
    }
    for (const Job& job : data.jobs) {
      jobs_by_workflow[job.workflow_id].push_back(&job);
    }
    for (const ProjectEnvVar& var : data.project_env_vars) {
      env_vars_by_project[var.project_slug].push_back(&var);
    }
    for (const Context& context : data.contexts) {
      contexts_by_org[context.org_slug].push_back(&context);
      restrictions_by_context[context.id];
      env_vars_by_context[context.id];
    }
    for (const ContextRestriction& restriction : data.restrictions) {
      restrictions_by_context[restriction.context_id].push_back(&restriction);
    }
    for (const ContextEnvVar& var : data.context_env_vars) {
      env_vars_by_context[var.context_id].push_back(&var);
    }
  }

  absl::flat_hash_map<std::string, const Project*> project_by_slug;
  Groups<Project> projects_by_org;  // what an org's pipelines render from
  Groups<Pipeline> feed_by_org;     // newest first
  Groups<Workflow> workflows_by_pipeline;
  Groups<Job> jobs_by_workflow;
  Groups<ProjectEnvVar> env_vars_by_project;
  Groups<Context> contexts_by_org;
  Groups<ContextRestriction> restrictions_by_context;
  Groups<ContextEnvVar> env_vars_by_context;
};

namespace {

template <typename T>
bool SameItems(const std::vector<const T*>& a, const std::vector<const T*>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const T* x, const T* y) { return *x == *y; });
}

template <typename T>
bool SameGroup(const Groups<T>& a, const Groups<T>& b, const std::string& key) {
  auto in_a = a.find(key);
  auto in_b = b.find(key);
  if (in_a == a.end() || in_b == b.end())
    return in_a == a.end() && in_b == b.end();
  return SameItems(in_a->second, in_b->second);
}

}  // namespace

GeneratedApi::GeneratedApi(const Dataset& data, int page_size,
                           bool pipeline_page_overlap, ItemPadding padding)
    : page_size_(std::max(1, page_size)),
      pipeline_page_overlap_(pipeline_page_overlap && page_size >= 2),
      padding_(std::move(padding)),
      padding_member_(PaddingMember(padding_.bytes)) {
  Build(data, nullptr, nullptr);
}

GeneratedApi::GeneratedApi(const Dataset& data, const GeneratedApi& previous,
                           const Dataset& previous_data)
    : page_size_(previous.page_size_),
      pipeline_page_overlap_(previous.pipeline_page_overlap_),
      padding_(previous.padding_),
      padding_member_(previous.padding_member_) {
  Build(data, &previous_data, &previous);
}

void GeneratedApi::Build(const Dataset& data, const Dataset* previous_data,
                         const GeneratedApi* previous) {
  me_ = RenderUser(data.user);
  collaborations_ = RenderJson([&](Writer& w) {
    w.StartArray();
    for (const Org& org : data.orgs) WriteOrg(w, org);
    w.EndArray();
  });
  for (const Project& project : data.projects) {
    projects_[project.slug] = RenderProject(project);
  }

  const Index index(data);
  std::optional<Index> previous_index;
  if (previous != nullptr) previous_index.emplace(*previous_data);

  // Fills `out` with a list per key of `groups`: `previous`'s when the key's
  // items are unchanged and `same_context(key)` (whatever else the items
  // render from is unchanged too), else freshly rendered.
  auto fill = [&](Lists& out, const auto& groups, const auto* previous_groups,
                  const Lists* previous_lists, auto render_item,
                  auto same_context) {
    out.reserve(groups.size());
    for (const auto& [key, items] : groups) {
      if (previous_groups != nullptr) {
        auto old_list = previous_lists->find(key);
        if (old_list != previous_lists->end() &&
            SameGroup(groups, *previous_groups, key) && same_context(key)) {
          out.emplace(key, old_list->second);
          continue;
        }
      }
      auto list = std::make_shared<std::vector<std::string>>();
      list->reserve(items.size());
      for (const auto* item : items) {
        std::optional<std::string> rendered = render_item(*item);
        if (rendered.has_value()) list->push_back(*std::move(rendered));
      }
      out.emplace(key, std::move(list));
      ++rendered_lists_;
    }
  };
  auto always = [](const std::string&) { return true; };
  auto plain = [](auto render) {
    return [render](const auto& item) {
      return std::optional<std::string>(render(item));
    };
  };
  const Index* old = previous_index.has_value() ? &*previous_index : nullptr;
  auto old_groups = [&](auto member) -> decltype(&(index.*member)) {
    return old == nullptr ? nullptr : &(old->*member);
  };
  auto old_lists = [&](Lists GeneratedApi::*member) -> const Lists* {
    return previous == nullptr ? nullptr : &(previous->*member);
  };

  // A pipeline renders from its project and the /me user as well.
  fill(
      pipeline_feeds_, index.feed_by_org, old_groups(&Index::feed_by_org),
      old_lists(&GeneratedApi::pipeline_feeds_),
      [&](const Pipeline& pipeline) -> std::optional<std::string> {
        auto project = index.project_by_slug.find(pipeline.project_slug);
        if (project == index.project_by_slug.end()) return std::nullopt;
        return RenderPipeline(pipeline, *project->second, data.user);
      },
      [&](const std::string& org_slug) {
        return data.user == previous_data->user &&
               SameGroup(index.projects_by_org, old->projects_by_org, org_slug);
      });
  fill(workflows_by_pipeline_, index.workflows_by_pipeline,
       old_groups(&Index::workflows_by_pipeline),
       old_lists(&GeneratedApi::workflows_by_pipeline_), plain(RenderWorkflow),
       always);
  fill(jobs_by_workflow_, index.jobs_by_workflow,
       old_groups(&Index::jobs_by_workflow),
       old_lists(&GeneratedApi::jobs_by_workflow_), plain(RenderJob), always);
  fill(env_vars_by_project_, index.env_vars_by_project,
       old_groups(&Index::env_vars_by_project),
       old_lists(&GeneratedApi::env_vars_by_project_),
       plain(RenderProjectEnvVar), always);
  fill(contexts_by_org_, index.contexts_by_org,
       old_groups(&Index::contexts_by_org),
       old_lists(&GeneratedApi::contexts_by_org_), plain(RenderContext),
       always);
  fill(restrictions_by_context_, index.restrictions_by_context,
       old_groups(&Index::restrictions_by_context),
       old_lists(&GeneratedApi::restrictions_by_context_),
       plain(RenderRestriction), always);
  fill(env_vars_by_context_, index.env_vars_by_context,
       old_groups(&Index::env_vars_by_context),
       old_lists(&GeneratedApi::env_vars_by_context_),
       plain(RenderContextEnvVar), always);
}

ApiReply GeneratedApi::Serve(const RouteMatch& route,
                             const QueryParams& query) const {
  const std::string& name = route.name;
  if (name == "me") return OkReply(me_);
  if (name == "collaborations") return OkReply(collaborations_);
  if (name == "project") {
    auto it = projects_.find(route.resource);
    if (it == projects_.end()) return ErrorReply(404, "Project not found");
    return OkReply(it->second);
  }
  if (name == "pipeline") {
    if (FindParam(query, "org-slug") == nullptr) {
      return ErrorReply(400, "org-slug is required.");
    }
    return ServeList(route, pipeline_feeds_, query,
                     pipeline_page_overlap_ ? 1 : 0,
                     "Organization does not exist.", 404);
  }
  if (name == "pipeline-workflows") {
    return ServeList(route, workflows_by_pipeline_, query, 0,
                     "Pipeline not found", 404);
  }
  if (name == "workflow-jobs") {
    return ServeList(route, jobs_by_workflow_, query, 0, "Workflow not found",
                     404);
  }
  if (name == "envvar") {
    return ServeList(route, env_vars_by_project_, query, 0, "Project not found",
                     404);
  }
  if (name == "context") {
    if (FindParam(query, "owner-slug") == nullptr &&
        FindParam(query, "owner-id") == nullptr) {
      return ErrorReply(400, "Must provide owner-id or owner-slug.");
    }
    return ServeList(route, contexts_by_org_, query, 0,
                     "Organization does not exist.", 404);
  }
  if (name == "restrictions" || name == "context-envvar") {
    if (!LooksLikeUuid(route.resource))
      return ErrorReply(400, "context_id is invalid.");
    return ServeList(route,
                     name == "restrictions" ? restrictions_by_context_
                                            : env_vars_by_context_,
                     query, 0, "Context not found.", 404);
  }
  ApiReply reply = ErrorReply(404, "Not Found");
  reply.matched = false;
  return reply;
}

ApiReply GeneratedApi::ServeList(const RouteMatch& route, const Lists& lists,
                                 const QueryParams& query, int overlap,
                                 absl::string_view not_found_message,
                                 int not_found_status) const {
  auto it = lists.find(route.resource);
  if (it == lists.end()) return ErrorReply(not_found_status, not_found_message);
  const std::vector<std::string>& items = *it->second;

  size_t offset = 0;
  if (const std::string* token = FindParam(query, "page-token");
      token != nullptr && !token->empty()) {
    const int64_t decoded = DecodePageToken(*token, route.name, route.resource);
    if (decoded < 0) return ErrorReply(404, "Not Found");
    // A token past the end (the list shrank since it was issued) gives an
    // empty last page.
    offset = std::min(static_cast<size_t>(decoded), items.size());
  }
  const size_t end =
      std::min(items.size(), offset + static_cast<size_t>(page_size_));

  std::string body = "{\"next_page_token\":";
  if (end < items.size()) {
    absl::StrAppend(&body, "\"",
                    EncodePageToken(route.name, route.resource, end - overlap),
                    "\"");
  } else {
    body += "null";
  }
  body += ",\"items\":[";
  const bool pad = !padding_member_.empty() && route.name == padding_.route;
  for (size_t i = offset; i < end; ++i) {
    if (i > offset) body += ',';
    if (pad &&
        (padding_.items < 0 || i < static_cast<size_t>(padding_.items))) {
      // Every item is a JSON object: the member goes before its last '}'.
      body.append(items[i], 0, items[i].size() - 1);
      body += padding_member_;
      body += '}';
    } else {
      body += items[i];
    }
  }
  body += "]}";
  return OkReply(std::move(body));
}

}  // namespace graphmill::fakes
