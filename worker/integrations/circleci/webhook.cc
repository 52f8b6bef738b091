#include "worker/integrations/circleci/webhook.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/hmac.h"
#include "rapidjson/document.h"
#include "worker/integrations/circleci/client.h"
#include "worker/integrations/circleci/config.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/common/entity_builder.h"
#include "worker/integrations/common/task_http_options.h"

namespace graphmill::worker::circleci {
namespace {

constexpr char kSignatureHeader[] = "circleci-signature";

}  // namespace

CircleCiWebhookHandler::CircleCiWebhookHandler(
    http::HttpClientOptions http_options)
    : http_options_(WithConnectionPool(std::move(http_options))) {}

absl::string_view CircleCiWebhookHandler::signature_header() const {
  return kSignatureHeader;
}

absl::Status CircleCiWebhookHandler::Verify(const WebhookHeaders& headers,
                                            absl::string_view body,
                                            absl::string_view secret) const {
  auto header = headers.find(kSignatureHeader);
  if (header == headers.end()) {
    return absl::UnauthenticatedError(
        absl::StrCat("missing ", kSignatureHeader, " header"));
  }
  const std::string expected = HmacSha256Hex(secret, body);
  // "v1=<hex>", possibly beside signatures of other versions.
  for (absl::string_view part : absl::StrSplit(header->second, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, "v1=") &&
        ConstantTimeEquals(part, expected)) {
      return absl::OkStatus();
    }
  }
  return absl::UnauthenticatedError(absl::StrCat(
      kSignatureHeader, " does not match the body and the webhook secret"));
}

absl::StatusOr<WebhookChange> CircleCiWebhookHandler::Resolve(
    const InstanceConfig& config, absl::string_view body,
    int64_t now_ms) const {
  rapidjson::Document event;
  event.Parse(body.data(), body.size());
  if (event.HasParseError() || !event.IsObject()) {
    return NotAnObjectError("CircleCI", "webhook body");
  }
  WebhookChange change;
  change.event_id = WebhookString(event, {"id"});
  change.event_type = WebhookString(event, {"type"});
  if (change.event_id.empty()) return MissingWebhookField("CircleCI", "id");
  if (change.event_type != "workflow-completed" &&
      change.event_type != "job-completed") {
    // CircleCI sends no other kinds today; a new one changes nothing here.
    change.ignored = true;
    return change;
  }
  const std::string workflow_id = WebhookString(event, {"workflow", "id"});
  const std::string pipeline_id = WebhookString(event, {"pipeline", "id"});
  if (workflow_id.empty())
    return MissingWebhookField("CircleCI", "workflow.id");
  if (pipeline_id.empty())
    return MissingWebhookField("CircleCI", "pipeline.id");
  absl::StatusOr<CircleCiConfig> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.status();

  // Read now: the objects are as of this moment, later than the event.
  change.as_of_ms = now_ms;
  CircleCiClient client(parsed->base_url, parsed->api_key, http_options_);
  const std::string pipeline_key = PipelineKey(pipeline_id);
  v1::ResultBatch& objects = change.objects;
  auto add_entity = [&](v1::Entity entity, const std::string& scope) {
    *objects.add_entities() = std::move(entity);
    objects.add_entity_scopes(scope);
  };
  auto add_relationship = [&](v1::Relationship relationship,
                              const std::string& scope) {
    *objects.add_relationships() = std::move(relationship);
    objects.add_relationship_scopes(scope);
  };
  // The pipeline's workflows (a re-run adds one), as fetch-pipeline-workflows
  // stores them.
  bool listed = false;
  ++change.api_requests;
  absl::Status workflows = client.ListPipelineWorkflows(
      pipeline_id, [&](const rapidjson::Value& item) -> absl::Status {
        absl::StatusOr<v1::Entity> workflow = WorkflowEntity(item);
        if (!workflow.ok()) return workflow.status();
        listed = listed || workflow->key() == WorkflowKey(workflow_id);
        add_relationship(HasRelationship(pipeline_key, kPipelineType,
                                         workflow->key(), kWorkflowType),
                         pipeline_key);
        add_entity(*std::move(workflow), pipeline_key);
        return absl::OkStatus();
      });
  if (!workflows.ok()) return workflows;
  if (!listed) {
    return absl::NotFoundError(absl::StrCat("CircleCI lists no workflow ",
                                            workflow_id, " in pipeline ",
                                            pipeline_id));
  }
  // The workflow's jobs, as fetch-workflow-jobs stores them.
  const std::string workflow_key = WorkflowKey(workflow_id);
  ++change.api_requests;
  absl::Status jobs = client.ListWorkflowJobs(
      workflow_id, [&](const rapidjson::Value& item) -> absl::Status {
        absl::StatusOr<v1::Entity> job = JobEntity(item);
        if (!job.ok()) return job.status();
        add_relationship(
            HasRelationship(workflow_key, kWorkflowType, job->key(), kJobType),
            workflow_key);
        add_entity(*std::move(job), workflow_key);
        return absl::OkStatus();
      });
  if (!jobs.ok()) return jobs;
  return change;
}

absl::string_view CircleCiWebhookHandler::install_entity_type() const {
  return kProjectType;
}

absl::StatusOr<bool> CircleCiWebhookHandler::Install(
    const InstanceConfig& config, const v1::Entity& entity,
    absl::string_view url) const {
  if (entity.type() != kProjectType) {
    return absl::InvalidArgumentError(
        absl::StrCat("entity '", entity.key(), "' is not a ", kProjectType));
  }
  absl::StatusOr<std::string> project_id = WebhookResourceId(entity);
  if (!project_id.ok()) return project_id.status();
  absl::StatusOr<std::string> secret = WebhookSecret(config);
  if (!secret.ok()) return secret.status();
  absl::StatusOr<CircleCiConfig> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.status();
  // The secret is in the create's body only, but an answer may echo it.
  const http::HttpClientOptions options = WithRedacted(http_options_, *secret);
  http::HttpClientOptions once = options;
  once.max_attempts = 1;
  CircleCiClient client(parsed->base_url, parsed->api_key, options);
  CircleCiClient creator(parsed->base_url, parsed->api_key, once);
  return InstallWebhookOnce(
      [&]() -> absl::StatusOr<bool> {
        bool found = false;
        absl::Status listed = client.ListProjectWebhooks(
            *project_id, [&](const rapidjson::Value& item) {
              found = found || StringField(item, "url") == url;
              return absl::OkStatus();
            });
        if (!listed.ok()) return listed;
        return found;
      },
      [&] {
        return creator.CreateProjectWebhook(*project_id, url, *secret).status();
      });
}

}  // namespace graphmill::worker::circleci
