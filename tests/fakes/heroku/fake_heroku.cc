// Implementation of fake_heroku.h: the HTTP front (auth, faults, Accept, rate
// limit, scopes, counters, control endpoints) over GeneratedApi or HarReplay.
#include "tests/fakes/heroku/fake_heroku.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/common/control.h"
#include "tests/fakes/common/server_thread.h"
#include "tests/fakes/common/webhook_sender.h"
#include "tests/fakes/heroku/generated_api.h"
#include "tests/fakes/heroku/har_replay.h"
#include "tests/fakes/heroku/http_server.h"
#include "tests/fakes/heroku/mutations.h"
#include "tests/fakes/heroku/payloads.h"
#include "tests/fakes/heroku/routes.h"
#include "tests/fakes/heroku/webhooks.h"

namespace graphmill::fakes {
namespace {

using heroku::BucketState;
using heroku::Fault;
using heroku::FaultDecision;
using heroku::FaultKind;
using heroku::FaultTable;
using heroku::Reply;
using heroku::Route;
using heroku::RouteMatch;
using heroku::TokenSpec;

constexpr char kControlPrefix[] = "/_control/";
constexpr int kUnmatchedIndex = heroku::kRouteCount;
constexpr int kTotalIndex = heroku::kRouteCount + 1;
constexpr int kStatusSlots = 600;
constexpr char kNoRouteMessage[] =
    "The requested API endpoint was not found. Are you using the right HTTP "
    "verb (i.e. `GET` vs. `POST`), and did you specify your intended version "
    "with the `Accept` header?";
constexpr char kUnauthorizedMessage[] = "Invalid credentials provided.";
constexpr char kScopeMessage[] =
    "The scope of this OAuth authorization does not allow access to this "
    "resource.";
constexpr char kRateLimitMessage[] =
    "Your account reached the API rate limit\n"
    "Please wait a few minutes before making new requests";
// A body cut in the middle of an object: no JSON parser accepts it.
constexpr char kMalformedBody[] = "[{\"id\":\"01234567-89ab-cdef";
constexpr char kHtmlErrorBody[] =
    "<!DOCTYPE html>\n<html><head><title>Heroku | Service Unavailable</title>"
    "</head><body><h1>Service Unavailable</h1><p>The service is temporarily "
    "unavailable. Please try again later.</p></body></html>\n";

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

int CounterIndex(absl::string_view name) {
  const Route route = heroku::RouteByName(name);
  if (route != Route::kNone) return static_cast<int>(route);
  if (name == "unmatched") return kUnmatchedIndex;
  if (name == "total") return kTotalIndex;
  return -1;
}

// Heroku's error id and message for an injected status.
std::pair<std::string, std::string> InjectedError(int status, Route route) {
  switch (status) {
    case 400:
      return {"bad_request", "Bad request."};
    case 401:
      return {"unauthorized", kUnauthorizedMessage};
    case 402:
      return {"delinquent", "This account is delinquent."};
    case 403:
      return {"forbidden", kScopeMessage};
    case 404:
      return {"not_found", route == Route::kNone || route == Route::kAccount ||
                                   route == Route::kRateLimits ||
                                   route == Route::kEnterpriseAccounts
                               ? std::string(kNoRouteMessage)
                               : std::string(heroku::Info(route).not_found)};
    case 406:
      return {"not_acceptable", "The requested API version is not available."};
    case 409:
      return {"conflict", "Conflict."};
    case 410:
      return {"gone", "This resource is gone."};
    case 416:
      return {"requested_range_not_satisfiable",
              "Requested range not satisfiable."};
    case 422:
      return {"invalid_params", "Invalid parameters."};
    case 429:
      return {"rate_limit", kRateLimitMessage};
    case 503:
      return {"unavailable",
              "The service is temporarily unavailable. Please try again "
              "later."};
    default:
      if (status >= 500) {
        return {"internal_server_error",
                "Internal server error. Please try again later."};
      }
      return {"bad_request",
              absl::StrCat("Injected fault (status ", status, ").")};
  }
}

// Resets the connection of the request being handled (RST, no response).
// The socket gets SO_LINGER 0 and is replaced by an unconnected one, so the
// RST goes out now and httplib's own write and close hit the placeholder.
bool ResetCurrentConnection() {
  const int fd = heroku::HttpServer::CurrentSocket();
  if (fd < 0) return false;
  const linger abort_on_close{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close,
             sizeof(abort_on_close));
  const int placeholder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (placeholder < 0) return false;
  const bool replaced = dup2(placeholder, fd) >= 0;
  close(placeholder);
  return replaced;
}

// False when Accept names the Heroku media type with a version other than 3
// (3.x variants such as "3.sdk" pass). Absent or generic Accept passes.
bool AcceptsVersion3(absl::string_view accept) {
  const std::string lower = absl::AsciiStrToLower(accept);
  if (!absl::StrContains(lower, "application/vnd.heroku+json")) return true;
  const size_t at = lower.find("version=");
  if (at == std::string::npos) return true;
  absl::string_view version = absl::string_view(lower).substr(at + 8);
  version = version.substr(0, version.find_first_of(";, "));
  return version == "3" || absl::StartsWith(version, "3.");
}

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    default:
      return 500;
  }
}

// Heroku's error id for a status HttpStatusFor gives.
const char* ErrorIdFor(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    default:
      return "internal_server_error";
  }
}

common::WebhookSenderOptions SenderOptions(const FakeHerokuOptions& options) {
  common::WebhookSenderOptions sender;
  sender.timeout = options.webhook_timeout;
  sender.ca_file = options.webhook_ca_file;
  sender.known_events = heroku::WebhookIncludes();
  return sender;
}

}  // namespace

class FakeHeroku::Impl {
 public:
  explicit Impl(FakeHerokuOptions options)
      : options_(std::move(options)), webhooks_(SenderOptions(options_)) {}

  ~Impl() { server_thread_.Stop(); }

  absl::Status Init() {
    if (options_.tokens.empty()) {
      TokenSpec default_token;
      default_token.token = "test-token";
      options_.tokens.push_back(std::move(default_token));
    }
    for (size_t i = 0; i < options_.tokens.size(); ++i) {
      const TokenSpec& token = options_.tokens[i];
      if (token.token.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("fake Heroku token #", i, " is empty"));
      }
      if (token.scopes.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("fake Heroku token #", i, " has no scope"));
      }
      if (!token_index_.try_emplace(token.token, static_cast<int>(i)).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("fake Heroku token #", i, " repeats token #",
                         token_index_[token.token]));
      }
    }
    const heroku::RateLimitOptions& limits = options_.rate_limit;
    if (limits.capacity < 1 || !(limits.refill_per_second >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fake Heroku rate limit needs capacity >= 1 and refill >= 0, got ",
          limits.capacity, " and ", limits.refill_per_second));
    }
    auto snapshot = std::make_shared<Snapshot>();
    if (options_.mode == FakeHerokuMode::kGenerated) {
      absl::StatusOr<heroku::Dataset> data =
          heroku::GenerateDataset(options_.dataset);
      if (!data.ok()) return data.status();
      snapshot->data =
          std::make_shared<const heroku::Dataset>(*std::move(data));
      snapshot->api =
          std::make_shared<const heroku::GeneratedApi>(*snapshot->data);
    } else {
      snapshot->data = std::make_shared<const heroku::Dataset>();
      if (options_.recordings.empty()) {
        return absl::InvalidArgumentError(
            "fake Heroku replay mode needs at least one recordings path");
      }
      absl::StatusOr<std::unique_ptr<heroku::HarReplay>> replay =
          heroku::HarReplay::Load(options_.recordings);
      if (!replay.ok()) return replay.status();
      replay_ = *std::move(replay);
    }
    {
      absl::MutexLock lock(&mutate_mutex_);
      history_.push_back(snapshot->data);
    }
    {
      absl::MutexLock lock(&snapshot_mutex_);
      snapshot_ = std::move(snapshot);
    }
    limiter_ = std::make_unique<heroku::RateLimiter>(
        limits, static_cast<int>(options_.tokens.size()), options_.clock);
    for (const Fault& fault : options_.faults) faults_.Add(fault);
    request_id_prefix_ = absl::StrFormat(
        "%08x", static_cast<uint32_t>(absl::ToUnixNanos(absl::Now())));
    return StartServer();
  }

  int port() const { return server_thread_.port(); }
  // Valid for the server's life: history_ keeps every version.
  const heroku::Dataset& dataset() const { return *CurrentSnapshot()->data; }
  int64_t data_version() const { return CurrentSnapshot()->version; }
  common::WebhookSender& webhooks() { return webhooks_; }
  absl::Status Mutate(const std::vector<heroku::Mutation>& mutations) {
    return ApplyAndPublish(mutations).status();
  }
  FaultTable& faults() { return faults_; }
  heroku::RateLimiter& limiter() { return *limiter_; }

  int TokenIndex(absl::string_view token) const {
    auto it = token_index_.find(token);
    return it == token_index_.end() ? -1 : it->second;
  }

  int64_t Count(int index) const { return counters_[index].load(); }
  int64_t StatusCount(int status) const {
    return status >= 0 && status < kStatusSlots ? statuses_[status].load() : 0;
  }
  void ResetCounters() {
    for (auto& counter : counters_) counter.store(0);
    for (auto& counter : statuses_) counter.store(0);
  }
  std::map<std::string, int64_t> Counters() const {
    std::map<std::string, int64_t> out;
    for (int i = 0; i < heroku::kRouteCount; ++i) {
      out[heroku::kRouteNames[i]] = Count(i);
    }
    out["unmatched"] = Count(kUnmatchedIndex);
    out["total"] = Count(kTotalIndex);
    return out;
  }

 private:
  // One version of the data and its API. Immutable: a request keeps the one
  // it started with, so it never sees half a mutation.
  struct Snapshot {
    std::shared_ptr<const heroku::Dataset> data;
    std::shared_ptr<const heroku::GeneratedApi> api;  // null in replay mode
    int64_t version = 0;
  };

  std::shared_ptr<const Snapshot> CurrentSnapshot() const {
    absl::ReaderMutexLock lock(&snapshot_mutex_);
    return snapshot_;
  }

  absl::Time Now() const {
    return options_.clock ? options_.clock() : absl::Now();
  }

  // Applies `mutations` to the current data, serves the result, then sends
  // the webhook events they cause (in order, before returning).
  absl::StatusOr<std::shared_ptr<const Snapshot>> ApplyAndPublish(
      const std::vector<heroku::Mutation>& mutations) {
    if (replay_ != nullptr) {
      return absl::FailedPreconditionError(
          "fake Heroku: mutations need generated mode, not replay");
    }
    absl::MutexLock lock(&mutate_mutex_);
    const std::shared_ptr<const Snapshot> current = CurrentSnapshot();
    const absl::Time now = Now();
    std::vector<heroku::Change> changes;
    absl::StatusOr<heroku::Dataset> data =
        heroku::ApplyMutations(*current->data, mutations, now, &changes);
    if (!data.ok()) return data.status();
    auto next = std::make_shared<Snapshot>();
    next->data = std::make_shared<const heroku::Dataset>(*std::move(data));
    next->api = std::make_shared<const heroku::GeneratedApi>(*next->data);
    next->version = current->version + 1;
    history_.push_back(next->data);
    {
      absl::MutexLock snapshot_lock(&snapshot_mutex_);
      snapshot_ = next;
    }
    // The changes are made by the account of the first token. Delivered
    // while mutate_mutex_ is held, so every target sees them in order.
    const heroku::User actor = current->api->AccountUser(options_.tokens[0]);
    for (heroku::Change& change : changes) {
      const heroku::HerokuEvent event =
          heroku::MakeEvent(std::move(change), now, actor);
      webhooks_.Deliver(event.change.include(), event.change.app_id,
                        [&event](const common::WebhookTarget& target) {
                          return heroku::HerokuWebhookMessage(event, target);
                        });
    }
    return std::shared_ptr<const Snapshot>(std::move(next));
  }

  // GET and POST /apps/{app}/webhooks.
  Reply ServeWebhooks(const RouteMatch& match, const std::string& body,
                      const Snapshot& snapshot) {
    const heroku::App* app = snapshot.api->FindApp(match.identity);
    if (app == nullptr) {
      return heroku::ErrorReply(404, "not_found",
                                heroku::Info(match.route).not_found);
    }
    Reply reply;
    if (match.route == Route::kAppWebhooks) {
      reply.body = "[";
      for (const common::WebhookTarget& target : webhooks_.Targets()) {
        if (target.scope != app->id) continue;
        if (reply.body.size() > 1) reply.body += ",";
        reply.body += heroku::WebhookApiObject(target, *app);
      }
      reply.body += "]";
      return reply;
    }
    std::string generated_secret;
    absl::StatusOr<common::WebhookTarget> target =
        heroku::WebhookFromApiBody(body, *app, &generated_secret);
    if (target.ok()) target = webhooks_.Add(*std::move(target));
    if (!target.ok()) {
      return heroku::ErrorReply(422, "invalid_params",
                                target.status().message());
    }
    reply.status = 201;
    reply.body = heroku::WebhookApiObject(*target, *app);
    if (!generated_secret.empty()) {
      reply.headers.emplace_back("Heroku-Webhook-Secret", generated_secret);
    }
    return reply;
  }

  absl::Status StartServer() {
    common::ServerThreadOptions serve;
    serve.name = "fake Heroku";
    serve.port = options_.port;
    serve.threads = options_.threads;
    serve.internal_error_body =
        heroku::ErrorJson("internal_server_error", "Internal server error.");
    return server_thread_.Start(
        serve, [this](const httplib::Request& req, httplib::Response& res) {
          Handle(req, res);
        });
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    if (absl::StartsWith(path, kControlPrefix)) {
      HandleControl(
          req, absl::string_view(path).substr(sizeof(kControlPrefix) - 1), res);
      return;
    }
    counters_[kTotalIndex].fetch_add(1);
    const std::shared_ptr<const Snapshot> snapshot = CurrentSnapshot();
    const bool generated = replay_ == nullptr;
    const RouteMatch match = heroku::MatchRoute(req.method, path);
    const bool routed = match.route != Route::kNone;
    if (routed) counters_[static_cast<int>(match.route)].fetch_add(1);
    const std::string range = req.get_header_value("Range");

    // 1. Authentication: no rate-limit or OAuth headers on a 401.
    const std::optional<std::string> token =
        heroku::TokenFromAuthorization(req.get_header_value("Authorization"));
    const int caller = token.has_value() ? TokenIndex(*token) : -1;
    if (caller < 0) {
      if (!routed && generated) {
        counters_[kUnmatchedIndex].fetch_add(1);
      }
      const heroku::RecordedResponse* recorded =
          replay_ != nullptr
              ? replay_->Find(req.method, req.target, range, false)
              : nullptr;
      Send(recorded != nullptr
               ? RecordedReply(*recorded, -1)
               : heroku::ErrorReply(401, "unauthorized", kUnauthorizedMessage),
           res);
      return;
    }
    const TokenSpec& spec = options_.tokens[caller];

    // 2. Injected faults.
    std::vector<std::string> resource_names;
    if (generated) {
      resource_names = snapshot->api->ResourceNames(match);
    } else if (!match.identity.empty()) {
      resource_names.push_back(match.identity);
    }
    const FaultDecision decision = faults_.Decide(
        routed ? heroku::Info(match.route).name : "", resource_names);
    if (decision.delay_ms > 0) {
      absl::SleepFor(absl::Milliseconds(decision.delay_ms));
    }
    const Fault* fault =
        decision.response.has_value() ? &*decision.response : nullptr;
    if (fault != nullptr) {
      switch (fault->kind) {
        case FaultKind::kStatus:
          Send(FaultReply(*fault, match.route), res);
          return;
        case FaultKind::kMalformedBody: {
          Reply reply;
          reply.body = kMalformedBody;
          Send(reply, res);
          return;
        }
        case FaultKind::kConnectionReset:
          if (!ResetCurrentConnection()) {
            LogWarn(
                "fake Heroku: could not find the socket to reset; answering "
                "500");
            Send(heroku::ErrorReply(500, "internal_server_error",
                                    "Internal server error."),
                 res);
          }
          return;
        case FaultKind::kLatency:
        case FaultKind::kTruncatedBody:
          break;  // applied to the normal reply below
      }
    }

    Reply reply = Answer(req, range, match, caller, spec, *snapshot);
    if (fault != nullptr && fault->kind == FaultKind::kTruncatedBody) {
      SendTruncated(reply, res);
      return;
    }
    Send(reply, res);
  }

  // Steps after authentication and faults: route, Accept, rate limit, scopes,
  // then the data.
  Reply Answer(const httplib::Request& req, const std::string& range,
               const RouteMatch& match, int caller, const TokenSpec& spec,
               const Snapshot& snapshot) {
    if (replay_ == nullptr && match.route == Route::kNone) {
      counters_[kUnmatchedIndex].fetch_add(1);
      return heroku::ErrorReply(404, "not_found", kNoRouteMessage);
    }
    if (!AcceptsVersion3(req.get_header_value("Accept"))) {
      return heroku::ErrorReply(
          406, "not_acceptable",
          "The requested API version is not available. Set Accept: "
          "application/vnd.heroku+json; version=3.");
    }
    int remaining = 0;
    if (match.route == Route::kRateLimits) {
      remaining = limiter_->Peek(caller);
    } else {
      const heroku::RateLimiter::Outcome outcome = limiter_->Take(caller);
      if (!outcome.allowed) {
        Reply reply = heroku::ErrorReply(429, "rate_limit", kRateLimitMessage);
        AddRateLimitHeaders(0, reply);
        if (options_.rate_limit.retry_after_seconds >= 0) {
          reply.headers.emplace_back(
              "Retry-After",
              absl::StrCat(options_.rate_limit.retry_after_seconds));
        }
        return reply;
      }
      remaining = outcome.remaining;
    }

    if (replay_ != nullptr) {
      const heroku::RecordedResponse* recorded =
          replay_->Find(req.method, req.target, range, true);
      if (recorded == nullptr) {
        counters_[kUnmatchedIndex].fetch_add(1);
        return heroku::ErrorReply(404, "not_found", kNoRouteMessage);
      }
      return RecordedReply(*recorded, remaining);
    }

    const heroku::RouteInfo& info = heroku::Info(match.route);
    Reply reply;
    if (!heroku::ScopeAllowed(spec.scopes, info.accepted_scopes)) {
      reply = heroku::ErrorReply(403, "forbidden", kScopeMessage);
    } else if (match.route == Route::kRateLimits) {
      reply.body = heroku::RateLimitsJson(remaining);
    } else if (match.route == Route::kAppWebhooks ||
               match.route == Route::kAppWebhookCreate) {
      reply = ServeWebhooks(match, req.body, snapshot);
    } else {
      reply = snapshot.api->Serve(match, spec, range);
    }
    AddRateLimitHeaders(remaining, reply);
    reply.headers.emplace_back("OAuth-Scope", absl::StrJoin(spec.scopes, " "));
    reply.headers.emplace_back("OAuth-Scope-Accepted", info.accepted_scopes);
    return reply;
  }

  static void AddRateLimitHeaders(int remaining, Reply& reply) {
    reply.headers.emplace_back("RateLimit-Multiplier", "1");
    reply.headers.emplace_back("RateLimit-Remaining", absl::StrCat(remaining));
  }

  // A recorded response; its RateLimit-Remaining (if recorded) shows the live
  // bucket unless `remaining` < 0.
  static Reply RecordedReply(const heroku::RecordedResponse& recorded,
                             int remaining) {
    Reply reply;
    reply.status = recorded.status;
    reply.body = recorded.body;
    for (const auto& [name, value] : recorded.headers) {
      if (absl::EqualsIgnoreCase(name, "content-type")) {
        reply.content_type = value;
      } else if (remaining >= 0 &&
                 absl::EqualsIgnoreCase(name, "ratelimit-remaining")) {
        reply.headers.emplace_back(name, absl::StrCat(remaining));
      } else {
        reply.headers.emplace_back(name, value);
      }
    }
    return reply;
  }

  Reply FaultReply(const Fault& fault, Route route) {
    const auto [id, message] = InjectedError(fault.status, route);
    Reply reply = heroku::ErrorReply(fault.status, id, message);
    if (fault.html_body) {
      reply.body = kHtmlErrorBody;
      reply.content_type = "text/html; charset=utf-8";
    }
    if (fault.status == 429) {
      AddRateLimitHeaders(0, reply);
      if (fault.retry_after_seconds >= 0) {
        reply.headers.emplace_back("Retry-After",
                                   absl::StrCat(fault.retry_after_seconds));
      }
    }
    return reply;
  }

  void AddCommonHeaders(httplib::Response& res) {
    if (!res.has_header("Request-Id")) {
      res.set_header(
          "Request-Id",
          absl::StrFormat("%s-0000-4000-8000-%012x", request_id_prefix_,
                          request_sequence_.fetch_add(1)));
    }
    if (!res.has_header("Cache-Control")) {
      res.set_header("Cache-Control", "private, no-cache");
    }
    if (!res.has_header("Vary")) {
      res.set_header("Vary", "Authorization,Accept-Encoding");
    }
    if (!res.has_header("X-Content-Type-Options")) {
      res.set_header("X-Content-Type-Options", "nosniff");
    }
  }

  void CountStatus(int status) {
    if (status >= 0 && status < kStatusSlots) statuses_[status].fetch_add(1);
  }

  void Send(const Reply& reply, httplib::Response& res) {
    res.status = reply.status;
    for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    AddCommonHeaders(res);
    res.set_content(reply.body, reply.content_type);
    CountStatus(reply.status);
  }

  // Declares the full length, sends half, then closes (the client sees a
  // short body).
  void SendTruncated(const Reply& reply, httplib::Response& res) {
    res.status = reply.status;
    for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    AddCommonHeaders(res);
    auto body =
        std::make_shared<std::string>(reply.body.empty() ? "[]" : reply.body);
    res.set_content_provider(body->size(), reply.content_type,
                             [body](size_t, size_t, httplib::DataSink& sink) {
                               sink.write(body->data(), body->size() / 2);
                               return false;
                             });
    CountStatus(reply.status);
  }

  void SendJson(int status, std::string body, httplib::Response& res) {
    res.status = status;
    res.set_content(std::move(body), "application/json");
  }

  void HandleControl(const httplib::Request& req, absl::string_view path,
                     httplib::Response& res) {
    if (common::HandleSharedControl(req.method, path, req.body, ControlHooks(),
                                    res)) {
      return;
    }
    const std::string& method = req.method;
    if (path == "dataset-summary" && method == "GET") {
      SendJson(200, SummaryJson(*CurrentSnapshot()), res);
    } else if (path == "mutations" && method == "POST") {
      absl::StatusOr<std::vector<heroku::Mutation>> mutations =
          heroku::ParseMutationsJson(req.body);
      absl::StatusOr<std::shared_ptr<const Snapshot>> applied =
          mutations.ok() ? ApplyAndPublish(*mutations)
                         : absl::StatusOr<std::shared_ptr<const Snapshot>>(
                               mutations.status());
      if (!applied.ok()) {
        const int status = HttpStatusFor(applied.status());
        SendJson(
            status,
            heroku::ErrorJson(ErrorIdFor(status), applied.status().message()),
            res);
        return;
      }
      SendJson(200, SummaryJson(**applied), res);
    } else if (path == "rate-limit" && method == "GET") {
      SendJson(200, RateLimitJson(), res);
    } else if (path == "rate-limit" && method == "DELETE") {
      limiter_->Reset();
      SendJson(200, RateLimitJson(), res);
    } else if (path == "rate-limit" && method == "POST") {
      if (absl::Status status = SetRemainingFromJson(req.body); !status.ok()) {
        SendJson(400, heroku::ErrorJson("bad_request", status.message()), res);
        return;
      }
      SendJson(200, RateLimitJson(), res);
    } else {
      SendJson(404, heroku::ErrorJson("not_found", "Not Found"), res);
    }
  }

  // {"remaining": N[, "index": I]}: sets token I's bucket, or every bucket.
  absl::Status SetRemainingFromJson(const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("remaining") ||
        !doc["remaining"].IsInt()) {
      return absl::InvalidArgumentError(
          "rate-limit body must be {\"remaining\": N[, \"index\": I]}");
    }
    const int remaining = doc["remaining"].GetInt();
    if (doc.HasMember("index")) {
      if (!doc["index"].IsInt() || doc["index"].GetInt() < 0 ||
          doc["index"].GetInt() >= limiter_->bucket_count()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rate-limit \"index\" must be 0..", limiter_->bucket_count() - 1));
      }
      limiter_->SetRemaining(doc["index"].GetInt(), remaining);
    } else {
      for (int i = 0; i < limiter_->bucket_count(); ++i) {
        limiter_->SetRemaining(i, remaining);
      }
    }
    return absl::OkStatus();
  }

  std::string CountersJson() const {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    for (const auto& [name, count] : Counters()) {
      w.Key(name.c_str());
      w.Int64(count);
    }
    w.Key("statuses");
    w.StartObject();
    for (int status = 0; status < kStatusSlots; ++status) {
      const int64_t count = StatusCount(status);
      if (count == 0) continue;
      w.Key(absl::StrCat(status).c_str());
      w.Int64(count);
    }
    w.EndObject();
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  common::ControlHooks<Fault> ControlHooks() {
    common::ControlHooks<Fault> hooks;
    hooks.syntax = &heroku::GetFaultSyntax();
    hooks.faults = &faults_;
    hooks.counters_json = [this] { return CountersJson(); };
    hooks.reset_counters = [this] { ResetCounters(); };
    hooks.bad_request_body = [](absl::string_view message) {
      return heroku::ErrorJson("bad_request", message);
    };
    hooks.webhooks = &webhooks_;
    return hooks;
  }

  std::string RateLimitJson() {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("capacity");
    w.Int(options_.rate_limit.capacity);
    w.Key("refill_per_second");
    w.Double(options_.rate_limit.refill_per_second);
    w.Key("tokens");
    w.StartArray();
    for (int i = 0; i < limiter_->bucket_count(); ++i) {
      const BucketState state = limiter_->State(i);
      w.StartObject();
      w.Key("index");
      w.Int(i);
      w.Key("token");
      w.String(heroku::DescribeToken(options_.tokens[i]).c_str());
      w.Key("remaining");
      w.Int(state.remaining);
      w.Key("min_remaining");
      w.Int(state.min_remaining);
      w.Key("taken");
      w.Int64(state.taken);
      w.Key("rate_limited");
      w.Int64(state.rate_limited);
      w.Key("exceeded");
      w.Bool(state.exceeded());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  std::string SummaryJson(const Snapshot& snapshot) const {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    auto count = [&w](const char* key, int64_t value) {
      w.Key(key);
      w.Int64(value);
    };
    w.StartObject();
    w.Key("mode");
    if (replay_ == nullptr) {
      const heroku::Dataset& data = *snapshot.data;
      w.String("generated");
      count("seed", static_cast<int64_t>(data.options.seed));
      count("version", snapshot.version);
      count("accounts", data.accounts.size());
      count("users", data.users.size());
      std::vector<int> accounts_of_user(data.users.size(), 0);
      for (const heroku::AccountMember& member : data.account_members) {
        ++accounts_of_user[member.user];
      }
      count("enterprise_users",
            std::count_if(accounts_of_user.begin(), accounts_of_user.end(),
                          [](int n) { return n > 0; }));
      count("shared_users",
            std::count_if(accounts_of_user.begin(), accounts_of_user.end(),
                          [](int n) { return n > 1; }));
      count("account_members", data.account_members.size());
      count("teams", data.teams.size());
      count("team_members", data.team_members.size());
      count("outside_team_members",
            std::count_if(data.team_members.begin(), data.team_members.end(),
                          [&](const heroku::TeamMember& member) {
                            return !data.users[member.user].enterprise_member;
                          }));
      count("apps", data.apps.size());
      std::vector<int64_t> apps_of_team(data.teams.size(), 0);
      for (const heroku::App& app : data.apps) ++apps_of_team[app.team];
      count("max_apps_per_team",
            apps_of_team.empty()
                ? 0
                : *std::max_element(apps_of_team.begin(), apps_of_team.end()));
      count("addons", data.addons.size());
    } else {
      w.String("replay");
      count("files", replay_->files().size());
      count("entries", replay_->entry_count());
      count("shadowed", replay_->shadowed_count());
      std::map<std::string, int64_t> per_route;
      for (const std::string& path : replay_->paths()) {
        ++per_route[heroku::Info(heroku::MatchRoute("GET", path).route).name];
      }
      w.Key("routes");
      w.StartObject();
      for (const auto& [name, routes] : per_route) count(name.c_str(), routes);
      w.EndObject();
    }
    count("tokens", options_.tokens.size());
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  FakeHerokuOptions options_;
  std::unique_ptr<heroku::HarReplay> replay_;
  mutable absl::Mutex snapshot_mutex_;  // held only to copy or swap snapshot_
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(snapshot_mutex_);
  absl::Mutex mutate_mutex_;  // one mutation at a time
  // Every version ever served, so dataset() references stay valid.
  std::vector<std::shared_ptr<const heroku::Dataset>> history_
      ABSL_GUARDED_BY(mutate_mutex_);
  common::WebhookSender webhooks_;
  std::unique_ptr<heroku::RateLimiter> limiter_;
  absl::flat_hash_map<std::string, int> token_index_;
  FaultTable faults_;
  std::array<std::atomic<int64_t>, heroku::kRouteCount + 2> counters_{};
  std::array<std::atomic<int64_t>, kStatusSlots> statuses_{};
  std::string request_id_prefix_;
  std::atomic<uint64_t> request_sequence_{0};

  heroku::HttpServer server_;
  common::ServerThread server_thread_{server_};
};

absl::StatusOr<std::unique_ptr<FakeHeroku>> FakeHeroku::Start(
    FakeHerokuOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status status = impl->Init(); !status.ok()) return status;
  return std::unique_ptr<FakeHeroku>(new FakeHeroku(std::move(impl)));
}

FakeHeroku::FakeHeroku(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FakeHeroku::~FakeHeroku() = default;

int FakeHeroku::port() const { return impl_->port(); }
std::string FakeHeroku::base_url() const {
  return absl::StrCat("http://127.0.0.1:", impl_->port());
}
const heroku::Dataset& FakeHeroku::dataset() const { return impl_->dataset(); }
int64_t FakeHeroku::data_version() const { return impl_->data_version(); }
absl::Status FakeHeroku::Mutate(
    const std::vector<heroku::Mutation>& mutations) {
  return impl_->Mutate(mutations);
}
absl::Status FakeHeroku::Mutate(const heroku::Mutation& mutation) {
  return impl_->Mutate(std::vector<heroku::Mutation>{mutation});
}
common::WebhookSender& FakeHeroku::webhooks() { return impl_->webhooks(); }

void FakeHeroku::AddFault(heroku::Fault fault) {
  impl_->faults().Add(std::move(fault));
}
absl::Status FakeHeroku::AddFault(absl::string_view spec) {
  absl::StatusOr<heroku::Fault> fault = heroku::ParseFault(spec);
  if (!fault.ok()) return fault.status();
  impl_->faults().Add(*std::move(fault));
  return absl::OkStatus();
}
void FakeHeroku::ClearFaults() { impl_->faults().Clear(); }
std::vector<heroku::FaultTable::Entry> FakeHeroku::Faults() const {
  return impl_->faults().Snapshot();
}

int64_t FakeHeroku::RequestCount(absl::string_view name) const {
  const int index = CounterIndex(name);
  return index < 0 ? 0 : impl_->Count(index);
}
std::map<std::string, int64_t> FakeHeroku::Counters() const {
  return impl_->Counters();
}
int64_t FakeHeroku::StatusCount(int status) const {
  return impl_->StatusCount(status);
}
void FakeHeroku::ResetCounters() { impl_->ResetCounters(); }

heroku::BucketState FakeHeroku::RateLimit(absl::string_view token) const {
  return impl_->limiter().State(impl_->TokenIndex(token));
}
void FakeHeroku::ResetRateLimits() { impl_->limiter().Reset(); }
void FakeHeroku::SetRateLimitRemaining(absl::string_view token, int remaining) {
  impl_->limiter().SetRemaining(impl_->TokenIndex(token), remaining);
}

}  // namespace graphmill::fakes
