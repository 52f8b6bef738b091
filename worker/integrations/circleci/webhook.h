// CircleCI webhooks (workflow-completed, job-completed): the signature
// (`circleci-signature: v1=<hex HMAC-SHA256 of the body>` under the instance's
// webhookSecret) and the change. A delivery names a workflow but carries only
// part of what the steps store (no started_by, tag, job types or
// dependencies), so the handler reads the pipeline's workflows and the
// workflow's jobs through the steps' client and converts them with the steps'
// converters, with the steps' scopes: the graph then holds exactly what a run
// would. Install registers the endpoint on a project (circleci_project's
// `id`) through the same client: GET /webhook?scope-id=..&scope-type=project,
// then POST /webhook for workflow-completed and job-completed. See
// common/webhook_handler.h for the contract.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_WEBHOOK_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_WEBHOOK_H_

#include "common/http/http_client.h"
#include "worker/integrations/common/webhook_handler.h"

namespace graphmill::worker::circleci {

class CircleCiWebhookHandler : public WebhookHandler {
 public:
  // `http_options`: the client's options (timeouts, retries, pool).
  explicit CircleCiWebhookHandler(http::HttpClientOptions http_options);

  absl::string_view signature_header() const override;
  absl::Status Verify(const WebhookHeaders& headers, absl::string_view body,
                      absl::string_view secret) const override;
  absl::StatusOr<WebhookChange> Resolve(const InstanceConfig& config,
                                        absl::string_view body,
                                        int64_t now_ms) const override;
  absl::string_view install_entity_type() const override;
  absl::StatusOr<bool> Install(const InstanceConfig& config,
                               const v1::Entity& entity,
                               absl::string_view url) const override;

 private:
  const http::HttpClientOptions http_options_;
};

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_WEBHOOK_H_
