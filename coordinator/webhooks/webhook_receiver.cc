#include "coordinator/webhooks/webhook_receiver.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "coordinator/metrics.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/webhook.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/webhook.h"

namespace graphmill::coordinator {
namespace {

WebhookReply Reply(int http_status, std::string outcome,
                   absl::string_view message,
                   const PatchCounts* counts = nullptr) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("status");
  json.String(outcome.c_str());
  json.Key("message");
  json.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  if (counts != nullptr) {
    for (const auto& [name, value] :
         {std::pair<const char*, int64_t>{"created", counts->created},
          {"updated", counts->updated},
          {"deleted", counts->deleted},
          {"skipped", counts->skipped}}) {
      json.Key(name);
      json.Int64(value);
    }
  }
  json.EndObject();
  return WebhookReply{http_status, buffer.GetString(), std::move(outcome)};
}

// Errors reading the store (as opposed to refusals: an unknown instance,
// secrets that do not open, no webhookSecret), answered 503 so the provider
// retries.
bool IsStoreFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

// One reply for every refusal: see the header.
WebhookReply Unauthorized(const std::string& instance_id,
                          absl::string_view why) {
  LogWarn("webhook for instance '", instance_id, "' refused: ", why);
  return Reply(401, "unauthorized",
               "the delivery's signature does not verify for this endpoint");
}

}  // namespace

WebhookReceiver::WebhookReceiver(Store* store, const InstanceSecrets* secrets,
                                 WebhookHandlers handlers,
                                 WebhookReceiverOptions options)
    : store_(store),
      secrets_(secrets),
      handlers_(std::move(handlers)),
      options_(std::move(options)) {}

bool WebhookReceiver::TakeToken(const std::string& instance_id) {
  const double burst = std::max(1.0, 2 * options_.rate_per_instance);
  const int64_t now_ms = options_.clock->NowMs();
  absl::MutexLock lock(&mu_);
  auto [it, added] = buckets_.try_emplace(instance_id, Bucket{burst, now_ms});
  Bucket& bucket = it->second;
  bucket.tokens =
      std::min(burst, bucket.tokens + (now_ms - bucket.refilled_ms) / 1000.0 *
                                          options_.rate_per_instance);
  bucket.refilled_ms = now_ms;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

WebhookReply WebhookReceiver::Receive(const std::string& instance_id,
                                      const worker::WebhookHeaders& headers,
                                      absl::string_view body) {
  const absl::Time received = options_.clock->Now();
  std::string integration;
  WebhookReply reply = Handle(instance_id, headers, body, integration);
  CoordinatorMetrics::Get().WebhookReceived(integration, reply.outcome,
                                            options_.clock->Now() - received);
  return reply;
}

WebhookReply WebhookReceiver::Handle(const std::string& instance_id,
                                     const worker::WebhookHeaders& headers,
                                     absl::string_view body,
                                     std::string& integration) {
  const int64_t received_ms = options_.clock->NowMs();
  absl::StatusOr<WebhookInstance> loaded =
      LoadWebhookInstance(*store_, *secrets_, handlers_, instance_id);
  if (!loaded.ok()) {
    if (IsStoreFailure(loaded.status())) {
      LogError("webhook for instance '", instance_id,
               "': cannot read the store: ", loaded.status().message());
      return Reply(503, "store_error", "the coordinator cannot read its store");
    }
    return Unauthorized(instance_id, loaded.status().message());
  }
  integration = loaded->instance.integration();
  // After the instance is known, so that the buckets stay bounded.
  if (!TakeToken(instance_id)) {
    return Reply(429, "rate_limited",
                 "too many webhook deliveries for this instance; retry later");
  }
  const worker::WebhookHandler& handler = *loaded->handler;
  if (absl::Status verified = handler.Verify(headers, body, loaded->secret);
      !verified.ok()) {
    return Unauthorized(instance_id, verified.message());
  }

  absl::StatusOr<worker::WebhookChange> change =
      handler.Resolve(loaded->config, body, received_ms);
  if (!change.ok()) {
    if (absl::IsInvalidArgument(change.status())) {
      return Reply(400, "invalid", change.status().message());
    }
    // The provider's API failed: the provider retries the delivery later.
    LogWarn("webhook for instance '", instance_id,
            "': cannot resolve the event: ", change.status().message());
    return Reply(502, "provider_error", change.status().message());
  }
  if (change->ignored) {
    return Reply(
        202, "ignored",
        absl::StrCat(change->event_type, ": nothing the graph holds changes"));
  }
  GraphPatch patch;
  patch.instance_id = instance_id;
  patch.event_id = change->event_id;
  patch.as_of_ms = change->as_of_ms;
  patch.objects = std::move(change->objects);
  patch.deleted_entity_keys = std::move(change->deleted_entity_keys);
  for (const v1::StepDefinition& step : loaded->definition.steps()) {
    for (const v1::DeclaredEntityType& type : step.entities()) {
      patch.entity_types.push_back(type.type());
    }
  }
  patch.now_ms = options_.clock->NowMs();
  absl::StatusOr<PatchCounts> counts = store_->ApplyPatch(patch);
  if (!counts.ok()) {
    LogError("webhook for instance '", instance_id, "': cannot apply event ",
             change->event_id, ": ", counts.status().message());
    if (absl::IsInvalidArgument(counts.status())) {
      return Reply(400, "invalid", counts.status().message());
    }
    return Reply(503, "store_error", "the coordinator cannot write its store");
  }
  if (counts->duplicate) {
    return Reply(
        200, "duplicate",
        absl::StrCat("event ", change->event_id, " was applied before"));
  }
  CoordinatorMetrics::Get().GraphChanged(integration, counts->created,
                                         counts->updated, counts->deleted);
  if (counts->created + counts->updated + counts->deleted > 0 &&
      options_.on_change) {
    options_.on_change();
  }
  LogInfo("webhook for instance '", instance_id, "': ", change->event_type, " ",
          change->event_id, ": ", counts->created, " created, ",
          counts->updated, " updated, ", counts->deleted, " deleted, ",
          counts->skipped, " skipped in ",
          options_.clock->NowMs() - received_ms, " ms");
  return Reply(200, "applied", change->event_type, &*counts);
}

WebhookHandlers DefaultWebhookHandlers(
    const http::HttpClientOptions& http_options) {
  WebhookHandlers handlers;
  handlers[worker::circleci::kIntegrationName] =
      std::make_unique<worker::circleci::CircleCiWebhookHandler>(http_options);
  handlers[worker::heroku::kIntegrationName] =
      std::make_unique<worker::heroku::HerokuWebhookHandler>(http_options);
  return handlers;
}

}  // namespace graphmill::coordinator
