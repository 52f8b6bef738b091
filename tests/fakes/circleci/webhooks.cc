// Implementation of webhooks.h.
#include "tests/fakes/circleci/webhooks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/hmac.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::fakes {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const char* key, absl::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void StrOrNull(Writer& w, const char* key, absl::string_view value) {
  if (value.empty()) {
    w.Key(key);
    w.Null();
  } else {
    Str(w, key, value);
  }
}

void Raw(Writer& w, const char* key, const std::string& json) {
  w.Key(key);
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

template <typename Render>
std::string RenderJson(Render render) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  render(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

template <typename T, typename Pred>
const T* FindIf(const std::vector<T>& items, Pred pred) {
  auto it = std::find_if(items.begin(), items.end(), pred);
  return it == items.end() ? nullptr : &*it;
}

// The event of `workflow` without its job part.
absl::StatusOr<CircleCiEvent> EventOf(const Dataset& data,
                                      const Workflow& workflow,
                                      absl::string_view type, absl::Time now) {
  const Pipeline* pipeline = FindIf(data.pipelines, [&](const Pipeline& p) {
    return p.id == workflow.pipeline_id;
  });
  const Project* project = FindIf(data.projects, [&](const Project& p) {
    return p.slug == workflow.project_slug;
  });
  if (pipeline == nullptr || project == nullptr) {
    return absl::NotFoundError(absl::StrCat("workflow '", workflow.id,
                                            "' has no pipeline or project"));
  }
  CircleCiEvent event;
  event.type = std::string(type);
  event.id = common::RandomUuid();
  event.happened_at = common::IsoMillis(now);
  event.project_id = project->id;
  event.project = RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "id", project->id);
    Str(w, "name", project->name);
    Str(w, "slug", project->slug);
    w.EndObject();
  });
  event.organization = RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "id", project->organization_id);
    Str(w, "name", project->organization_name);
    w.EndObject();
  });
  event.workflow = RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "id", workflow.id);
    Str(w, "name", workflow.name);
    Str(w, "created_at", workflow.created_at);
    // null while the workflow runs (a job of it can finish before it does).
    StrOrNull(w, "stopped_at", workflow.stopped_at);
    Str(w, "url",
        absl::StrCat("https://app.circleci.com/pipelines/", project->slug, "/",
                     pipeline->number, "/workflows/", workflow.id));
    Str(w, "status", workflow.status);
    w.EndObject();
  });
  // The repository the API's checkout_url names (GitHub projects: vcs_url).
  const std::string repository =
      project->provider == "GitHub"
          ? project->vcs_url
          : absl::StrCat("https://github.com/", project->organization_name, "/",
                         project->name);
  event.pipeline = RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "id", pipeline->id);
    w.Key("number");
    w.Int(pipeline->number);
    Str(w, "created_at", pipeline->created_at);
    w.Key("trigger");
    w.StartObject();
    Str(w, "type", pipeline->trigger_type);
    w.EndObject();
    w.Key("vcs");
    w.StartObject();
    Str(w, "provider_name", "github");
    Str(w, "origin_repository_url", repository);
    Str(w, "target_repository_url", repository);
    Str(w, "revision", pipeline->revision);
    Str(w, "branch", pipeline->branch);
    w.EndObject();
    w.EndObject();
  });
  return event;
}

// A required member of `doc` of the kind `is` checks.
template <typename Is>
const rapidjson::Value* Member(const rapidjson::Value& doc, const char* name,
                               Is is) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !is(it->value)) return nullptr;
  return &it->value;
}

}  // namespace

std::vector<std::string> CircleCiWebhookEvents() {
  return {kWorkflowCompleted, kJobCompleted};
}

absl::StatusOr<CircleCiEvent> WorkflowCompletedEvent(
    const Dataset& data, absl::string_view workflow_id, absl::Time now) {
  const Workflow* workflow = FindIf(
      data.workflows, [&](const Workflow& w) { return w.id == workflow_id; });
  if (workflow == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("workflow '", workflow_id, "' not found"));
  }
  return EventOf(data, *workflow, kWorkflowCompleted, now);
}

absl::StatusOr<CircleCiEvent> JobCompletedEvent(const Dataset& data,
                                                absl::string_view job_id,
                                                absl::Time now) {
  const Job* job =
      FindIf(data.jobs, [&](const Job& j) { return j.id == job_id; });
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("job '", job_id, "' not found"));
  }
  const Workflow* workflow = FindIf(data.workflows, [&](const Workflow& w) {
    return w.id == job->workflow_id;
  });
  if (workflow == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("job '", job_id, "' has no workflow"));
  }
  absl::StatusOr<CircleCiEvent> event =
      EventOf(data, *workflow, kJobCompleted, now);
  if (!event.ok()) return event;
  event->job = RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "id", job->id);
    Str(w, "name", job->name);
    w.Key("number");
    w.Int(job->job_number);
    Str(w, "started_at", job->started_at);
    Str(w, "stopped_at", job->stopped_at);
    Str(w, "status", job->status);
    w.EndObject();
  });
  return event;
}

std::string CircleCiEventBody(const CircleCiEvent& event,
                              const common::WebhookTarget& target) {
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "type", event.type);
    Str(w, "id", event.id);
    Str(w, "happened_at", event.happened_at);
    w.Key("webhook");
    w.StartObject();
    Str(w, "id", target.id);
    Str(w, "name", target.name.empty() ? kDefaultWebhookName : target.name);
    w.EndObject();
    Raw(w, "project", event.project);
    Raw(w, "organization", event.organization);
    Raw(w, "workflow", event.workflow);
    Raw(w, "pipeline", event.pipeline);
    if (!event.job.empty()) Raw(w, "job", event.job);
    w.EndObject();
  });
}

common::WebhookMessage CircleCiWebhookMessage(
    const CircleCiEvent& event, const common::WebhookTarget& target) {
  common::WebhookMessage message;
  message.body = CircleCiEventBody(event, target);
  message.headers = {
      {"Content-Type", "application/json"},
      {"User-Agent", "CircleCI-Webhook/1.0"},
      {"circleci-event-type", event.type},
      {"circleci-signature",
       absl::StrCat("v1=", HmacSha256Hex(target.secret, message.body))}};
  return message;
}

std::string WebhookApiObject(const common::WebhookTarget& target) {
  const std::string time = common::IsoMillis(target.created_at);
  auto type = target.attributes.find("scope-type");
  return RenderJson([&](Writer& w) {
    w.StartObject();
    Str(w, "id", target.id);
    Str(w, "name", target.name);
    Str(w, "url", target.url);
    w.Key("verify-tls");
    w.Bool(target.verify_tls);
    Str(w, "signing-secret", "****");
    w.Key("scope");
    w.StartObject();
    Str(w, "id", target.scope);
    Str(w, "type", type == target.attributes.end() ? "project" : type->second);
    w.EndObject();
    w.Key("events");
    w.StartArray();
    for (const std::string& event : target.events) {
      w.String(event.c_str(), static_cast<rapidjson::SizeType>(event.size()));
    }
    w.EndArray();
    Str(w, "created-at", time);
    Str(w, "updated-at", time);
    w.EndObject();
  });
}

absl::StatusOr<common::WebhookTarget> WebhookFromApiBody(absl::string_view body,
                                                         const Dataset& data) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError("Request body must be a JSON object.");
  }
  auto is_string = [](const rapidjson::Value& v) { return v.IsString(); };
  auto missing = [](const char* name, const char* kind) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Missing or invalid field '", name, "': must be ", kind, "."));
  };
  common::WebhookTarget target;
  const rapidjson::Value* name = Member(doc, "name", is_string);
  if (name == nullptr || name->GetStringLength() == 0) {
    return missing("name", "a non-empty string");
  }
  target.name = name->GetString();
  const rapidjson::Value* url = Member(doc, "url", is_string);
  if (url == nullptr) return missing("url", "a string");
  target.url = url->GetString();
  const rapidjson::Value* verify = Member(
      doc, "verify-tls", [](const rapidjson::Value& v) { return v.IsBool(); });
  if (verify == nullptr) return missing("verify-tls", "a boolean");
  target.verify_tls = verify->GetBool();
  const rapidjson::Value* secret = Member(doc, "signing-secret", is_string);
  if (secret == nullptr) return missing("signing-secret", "a string");
  target.secret = secret->GetString();
  const rapidjson::Value* events = Member(
      doc, "events", [](const rapidjson::Value& v) { return v.IsArray(); });
  if (events == nullptr || events->Empty()) {
    return missing("events", "a non-empty array of event names");
  }
  const std::vector<std::string> known = CircleCiWebhookEvents();
  for (const rapidjson::Value& event : events->GetArray()) {
    if (!event.IsString()) {
      return missing("events", "a non-empty array of event names");
    }
    const std::string text = event.GetString();
    if (std::find(known.begin(), known.end(), text) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid event '", text,
          "': events must be workflow-completed or job-completed."));
    }
    if (std::find(target.events.begin(), target.events.end(), text) ==
        target.events.end()) {
      target.events.push_back(text);
    }
  }
  const rapidjson::Value* scope = Member(
      doc, "scope", [](const rapidjson::Value& v) { return v.IsObject(); });
  if (scope == nullptr) return missing("scope", "an object with id and type");
  const rapidjson::Value* scope_id = Member(*scope, "id", is_string);
  const rapidjson::Value* scope_type = Member(*scope, "type", is_string);
  if (scope_id == nullptr || scope_type == nullptr) {
    return missing("scope", "an object with id and type");
  }
  if (std::string(scope_type->GetString()) != "project") {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid scope type '", scope_type->GetString(),
                     "': the only scope type is project."));
  }
  target.scope = scope_id->GetString();
  if (FindIf(data.projects, [&](const Project& p) {
        return p.id == target.scope;
      }) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("Project '", target.scope, "' not found."));
  }
  target.attributes["scope-type"] = "project";
  return target;
}

}  // namespace graphmill::fakes
