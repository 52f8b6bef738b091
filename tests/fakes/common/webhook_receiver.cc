// Implementation of webhook_receiver.h.
#include "tests/fakes/common/webhook_receiver.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace graphmill::fakes::common {

std::string ReceivedRequest::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<WebhookReceiver>> WebhookReceiver::Start(
    const std::string& cert_file, const std::string& key_file) {
  const bool tls = !cert_file.empty();
  std::unique_ptr<httplib::Server> server =
      tls ? std::make_unique<httplib::SSLServer>(cert_file.c_str(),
                                                 key_file.c_str())
          : std::make_unique<httplib::Server>();
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(
        "webhook receiver: cannot load the certificate or key");
  }
  std::unique_ptr<WebhookReceiver> receiver(
      new WebhookReceiver(std::move(server), tls));
  ServerThreadOptions options;
  options.name = "webhook receiver";
  options.threads = 4;
  options.internal_error_body = "{}";
  WebhookReceiver* self = receiver.get();
  absl::Status started = receiver->thread_.Start(
      options, [self](const httplib::Request& req, httplib::Response& res) {
        ReceivedRequest received;
        received.method = req.method;
        received.target = req.target;
        received.headers = req.headers;
        received.body = req.body;
        absl::MutexLock lock(&self->mutex_);
        self->requests_.push_back(std::move(received));
        res.status = self->status_;
        res.set_content("{}", "application/json");
      });
  if (!started.ok()) return started;
  return receiver;
}

WebhookReceiver::WebhookReceiver(std::unique_ptr<httplib::Server> server,
                                 bool tls)
    : server_(std::move(server)), thread_(*server_), tls_(tls) {}

WebhookReceiver::~WebhookReceiver() { thread_.Stop(); }

std::string WebhookReceiver::url(const std::string& path) const {
  return absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", port(), path);
}

void WebhookReceiver::set_status(int status) {
  absl::MutexLock lock(&mutex_);
  status_ = status;
}

std::vector<ReceivedRequest> WebhookReceiver::requests() const {
  absl::MutexLock lock(&mutex_);
  return requests_;
}

}  // namespace graphmill::fakes::common
