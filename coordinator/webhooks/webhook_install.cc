#include "coordinator/webhooks/webhook_install.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/redact.h"
#include "common/tls.h"
#include "coordinator/definitions.h"

namespace graphmill::coordinator {
namespace {

// Entities read per page.
constexpr int kPageSize = 500;

absl::Status BadUrl(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("url ", why));
}

// "host[:port]" or "[v6][:port]" -> the same with a port, as
// IsLoopbackAddress takes it.
std::string WithPort(absl::string_view authority) {
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  const bool has_port = colon != absl::string_view::npos &&
                        (bracket == absl::string_view::npos || colon > bracket);
  return has_port ? std::string(authority) : absl::StrCat(authority, ":0");
}

}  // namespace

absl::StatusOr<std::string> WebhookEndpointUrl(absl::string_view base_url,
                                               absl::string_view instance_id) {
  // The URL is not quoted back: with user info it could hold a password.
  if (base_url.empty()) return BadUrl("is required");
  for (char c : base_url) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return BadUrl("must not hold spaces or control characters");
    }
  }
  absl::string_view rest = base_url;
  bool https = true;
  if (!absl::ConsumePrefix(&rest, "https://")) {
    https = false;
    if (!absl::ConsumePrefix(&rest, "http://")) {
      return BadUrl(
          "must start with https:// (http:// only for a loopback host)");
    }
  }
  if (absl::StrContains(rest, '?') || absl::StrContains(rest, '#')) {
    return BadUrl(
        "must have no query or fragment: the coordinator appends "
        "/webhooks/<instance-id> to it");
  }
  const absl::string_view authority = rest.substr(0, rest.find('/'));
  const absl::string_view path = rest.substr(authority.size());
  if (absl::StrContains(authority, '@')) {
    return BadUrl(
        "must have no user info (user:password@): providers sign deliveries "
        "with the webhookSecret instead");
  }
  if (authority.empty() || absl::StartsWith(authority, ":")) {
    return BadUrl("has no host");
  }
  if (!https && !IsLoopbackAddress(WithPort(authority))) {
    return BadUrl(
        "must use https:// (http:// is accepted only for a loopback host, "
        "for tests): providers send deliveries across the internet");
  }
  absl::string_view trimmed_path = path;
  while (absl::ConsumeSuffix(&trimmed_path, "/")) {
  }
  return absl::StrCat(https ? "https://" : "http://", authority, trimmed_path,
                      "/webhooks/", instance_id);
}

WebhookInstaller::WebhookInstaller(Store* store, const InstanceSecrets* secrets,
                                   WebhookHandlers handlers)
    : store_(store), secrets_(secrets), handlers_(std::move(handlers)) {}

absl::StatusOr<v1::InstallWebhooksResponse> WebhookInstaller::Install(
    const std::string& instance_id, absl::string_view url,
    const std::function<bool()>& stop) const {
  absl::StatusOr<WebhookInstance> loaded =
      LoadWebhookInstance(*store_, *secrets_, handlers_, instance_id);
  if (!loaded.ok()) return loaded.status();
  absl::StatusOr<std::string> endpoint = WebhookEndpointUrl(url, instance_id);
  if (!endpoint.ok()) return endpoint.status();
  const worker::WebhookHandler& handler = *loaded->handler;

  // The resources: the graph's entities of the handler's type (key and
  // properties; raw data is not needed).
  const std::string type(handler.install_entity_type());
  v1::GraphFilter filter;
  filter.set_instance_id(instance_id);
  filter.set_type(type);
  std::vector<v1::Entity> entities;
  for (std::string after;;) {
    absl::StatusOr<std::vector<v1::Entity>> page =
        store_->ListEntities(filter, after, kPageSize);
    if (!page.ok()) return page.status();
    // Store::ListEntities promises at most kPageSize, not that a shorter page
    // is the last: only an empty one ends the listing.
    if (page->empty()) break;
    for (v1::Entity& entity : *page) {
      entity.clear_raw_data();
      entities.push_back(std::move(entity));
    }
    after = entities.back().key();
  }
  if (entities.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "instance '", instance_id, "' has no ", type,
        " entities in its graph to install webhooks on: run the instance "
        "first (graphmill run start ",
        instance_id, " --watch)"));
  }

  // Handlers redact their clients' errors; this covers every secret of the
  // instance, whatever a handler does.
  const Redactor redactor(SecretValues(loaded->definition, loaded->instance));
  v1::InstallWebhooksResponse response;
  response.set_endpoint_url(*endpoint);
  for (const v1::Entity& entity : entities) {
    response.add_results()->set_resource(entity.key());
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < entities.size(); i = next++) {
      v1::WebhookInstallResult& result = *response.mutable_results(i);
      if (stop && stop()) {
        result.set_error("not attempted: the call was cancelled");
        continue;
      }
      absl::StatusOr<bool> created =
          handler.Install(loaded->config, entities[i], *endpoint);
      if (created.ok()) {
        result.set_created(*created);
      } else {
        result.set_error(redactor.Redact(
            absl::StrCat(absl::StatusCodeToString(created.status().code()),
                         ": ", created.status().message())));
      }
    }
  };
  const size_t threads =
      std::min<size_t>(kWebhookInstallThreads, entities.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();

  int created = 0;
  int failed = 0;
  for (const v1::WebhookInstallResult& result : response.results()) {
    created += result.created() ? 1 : 0;
    failed += result.error().empty() ? 0 : 1;
  }
  LogInfo("instance '", instance_id, "': webhooks to ", *endpoint, " on ",
          entities.size(), " ", type, " resources: ", created, " created, ",
          entities.size() - created - failed, " already there, ", failed,
          " failed");
  return response;
}

}  // namespace graphmill::coordinator
