// Implementation of fake_circleci.h: the HTTP front (auth, counters, faults,
// control endpoints) over GeneratedApi or HarReplay.
#include "tests/fakes/circleci/fake_circleci.h"

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/circleci/dataset_json.h"
#include "tests/fakes/circleci/generated_api.h"
#include "tests/fakes/circleci/har_replay.h"
#include "tests/fakes/circleci/routes.h"
#include "tests/fakes/circleci/url_util.h"
#include "tests/fakes/circleci/webhooks.h"
#include "tests/fakes/common/control.h"
#include "tests/fakes/common/server_thread.h"

namespace graphmill::fakes {
namespace {

constexpr char kApiPrefix[] = "/api/v2";
constexpr char kControlPrefix[] = "/_control/";
constexpr int kRouteCount = sizeof(kRouteNames) / sizeof(kRouteNames[0]);
constexpr int kUnmatchedIndex = kRouteCount;
constexpr int kTotalIndex = kRouteCount + 1;
// GET /_control/dataset is streamed in pieces of about this size.
constexpr size_t kDatasetPieceBytes = 64 * 1024;
// A body that is cut in the middle of an object: no JSON parser accepts it.
constexpr char kMalformedBody[] =
    "{\"next_page_token\":null,\"items\":[{\"id\":";

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

int RouteIndex(absl::string_view name) {
  for (int i = 0; i < kRouteCount; ++i) {
    if (name == kRouteNames[i]) return i;
  }
  if (name == "unmatched") return kUnmatchedIndex;
  if (name == "total") return kTotalIndex;
  return -1;
}

std::string DefaultMessage(int status, absl::string_view route) {
  switch (status) {
    case 401:
      return "Invalid token provided.";
    case 403:
      return "Permission denied.";
    case 404:
      if (route == "project" || route == "envvar") return "Project not found";
      if (route == "restrictions" || route == "context-envvar") {
        return "Context not found.";
      }
      return "Not Found";
    case 429:
      return "Rate limit exceeded.";
    case 500:
      return "Internal server error.";
    default:
      return absl::StrCat("Injected fault (status ", status, ").");
  }
}

// Resets the server side of the connection that carried `req` (RST, no
// response). httplib gives handlers no socket, so the socket is found by its
// address pair; the descriptor is then replaced by an unconnected socket, so
// httplib's own write and close hit that instead.
bool ResetConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    sockaddr_in local{};
    sockaddr_in peer{};
    socklen_t local_size = sizeof(local);
    socklen_t peer_size = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) !=
            0 ||
        local.sin_family != AF_INET ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) {
      continue;
    }
    if (ntohs(local.sin_port) == req.local_port &&
        ntohs(peer.sin_port) == req.remote_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  if (found < 0) return false;
  const linger abort_on_close{1, 0};
  setsockopt(found, SOL_SOCKET, SO_LINGER, &abort_on_close,
             sizeof(abort_on_close));
  const int placeholder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (placeholder < 0) return false;
  const bool replaced = dup2(placeholder, found) >= 0;
  close(placeholder);
  return replaced;
}

// Replaces the body's next_page_token (a paginated reply) with `token`; other
// bodies are returned unchanged.
std::string WithNextPageToken(const std::string& body,
                              const std::string& token) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject() ||
      !doc.HasMember("next_page_token")) {
    return body;
  }
  doc["next_page_token"].SetString(
      token.c_str(), static_cast<rapidjson::SizeType>(token.size()),
      doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
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

common::WebhookSenderOptions SenderOptions(const FakeCircleCiOptions& options) {
  common::WebhookSenderOptions sender;
  sender.timeout = options.webhook_timeout;
  sender.ca_file = options.webhook_ca_file;
  sender.known_events = CircleCiWebhookEvents();
  return sender;
}

}  // namespace

class FakeCircleCi::Impl {
 public:
  explicit Impl(FakeCircleCiOptions options)
      : options_(std::move(options)), webhooks_(SenderOptions(options_)) {}

  ~Impl() { server_thread_.Stop(); }

  absl::Status Init() {
    if (options_.token.empty()) {
      return absl::InvalidArgumentError(
          "fake CircleCI option 'token' must not be empty");
    }
    if (options_.page_size < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("fake CircleCI option 'page_size' must be >= 1, got ",
                       options_.page_size));
    }
    if (absl::Status padding = CheckPadding(); !padding.ok()) return padding;
    auto snapshot = std::make_shared<Snapshot>();
    if (options_.mode == FakeMode::kGenerated) {
      absl::StatusOr<Dataset> data = GenerateDataset(options_.generator);
      if (!data.ok()) return data.status();
      snapshot->data = std::make_shared<const Dataset>(*std::move(data));
      snapshot->api = std::make_shared<const GeneratedApi>(
          *snapshot->data, options_.page_size, options_.pipeline_page_overlap,
          options_.padding);
    } else {
      snapshot->data = std::make_shared<const Dataset>();
      if (options_.recordings.empty()) {
        return absl::InvalidArgumentError(
            "fake CircleCI replay mode needs at least one recordings path");
      }
      absl::StatusOr<std::unique_ptr<HarReplay>> replay =
          HarReplay::Load(options_.recordings);
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
    for (const Fault& fault : options_.faults) faults_.Add(fault);
    request_id_prefix_ = absl::StrFormat(
        "%08x", static_cast<uint32_t>(absl::ToUnixNanos(absl::Now())));
    return StartServer();
  }

  absl::Status CheckPadding() const {
    const ItemPadding& padding = options_.padding;
    if (padding.bytes < 0 || padding.items < -1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fake CircleCI padding needs bytes >= 0 and items >= -1, got ",
          padding.bytes, " and ", padding.items));
    }
    if (padding.bytes == 0) return absl::OkStatus();
    if (options_.mode != FakeMode::kGenerated) {
      return absl::InvalidArgumentError(
          "fake CircleCI padding needs generated mode, not replay");
    }
    if (!IsPaddableRoute(padding.route)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fake CircleCI padding route '", padding.route,
          "' is not a paginated route (pipeline, pipeline-workflows, "
          "workflow-jobs, envvar, context, restrictions or context-envvar)"));
    }
    return absl::OkStatus();
  }

  int port() const { return server_thread_.port(); }
  common::WebhookSender& webhooks() { return webhooks_; }
  // Valid for the server's life: history_ keeps every version.
  const Dataset& dataset() const { return *CurrentSnapshot()->data; }
  int64_t data_version() const { return CurrentSnapshot()->version; }
  FaultTable& faults() { return faults_; }

  absl::Status Mutate(const std::vector<Mutation>& mutations) {
    return ApplyAndPublish(mutations).status();
  }

  int64_t Count(int index) const { return counters_[index].load(); }
  void ResetCounters() {
    for (auto& counter : counters_) counter.store(0);
  }
  std::map<std::string, int64_t> Counters() const {
    std::map<std::string, int64_t> out;
    for (int i = 0; i < kRouteCount; ++i) out[kRouteNames[i]] = Count(i);
    out["unmatched"] = Count(kUnmatchedIndex);
    out["total"] = Count(kTotalIndex);
    return out;
  }

 private:
  // One version of the data and its rendered API. Immutable: a request keeps
  // the one it started with, so it never sees half a mutation.
  struct Snapshot {
    std::shared_ptr<const Dataset> data;
    std::shared_ptr<const GeneratedApi> api;  // null in replay mode
    int64_t version = 0;
  };

  std::shared_ptr<const Snapshot> CurrentSnapshot() const {
    absl::ReaderMutexLock lock(&snapshot_mutex_);
    return snapshot_;
  }

  // Builds the next snapshot from the current one and makes it current.
  absl::StatusOr<std::shared_ptr<const Snapshot>> ApplyAndPublish(
      const std::vector<Mutation>& mutations) {
    if (replay_ != nullptr) {
      return absl::FailedPreconditionError(
          "fake CircleCI: mutations need generated mode, not replay");
    }
    if (mutations.empty()) {
      return absl::InvalidArgumentError("fake CircleCI: no mutations given");
    }
    absl::MutexLock lock(&mutate_mutex_);
    const std::shared_ptr<const Snapshot> current = CurrentSnapshot();
    // The webhook events the mutations cause, each described by the data
    // right after its mutation.
    std::vector<CircleCiEvent> events;
    absl::Status event_error;
    const absl::Time now = absl::Now();
    absl::StatusOr<Dataset> data = ApplyMutations(
        *current->data, mutations, [&](size_t index, const Dataset& after) {
          const Mutation& m = mutations[index];
          absl::StatusOr<CircleCiEvent> event;
          if (m.op == MutationOp::kSetWorkflowStatus &&
              IsFinishedWorkflowStatus(m.status)) {
            event = WorkflowCompletedEvent(after, m.id, now);
          } else if (m.op == MutationOp::kSetJobStatus &&
                     IsFinishedJobStatus(m.status)) {
            event = JobCompletedEvent(after, m.id, now);
          } else {
            return;
          }
          if (event.ok()) {
            events.push_back(*std::move(event));
          } else if (event_error.ok()) {
            event_error = event.status();
          }
        });
    if (!data.ok()) return data.status();
    if (!event_error.ok()) return event_error;
    auto next = std::make_shared<Snapshot>();
    next->data = std::make_shared<const Dataset>(*std::move(data));
    next->api = std::make_shared<const GeneratedApi>(*next->data, *current->api,
                                                     *current->data);
    next->version = current->version + 1;
    history_.push_back(next->data);
    {
      absl::MutexLock snapshot_lock(&snapshot_mutex_);
      snapshot_ = next;
    }
    // Delivered while mutate_mutex_ is held, so events reach every target in
    // the order of the mutations, and before the caller hears of success.
    for (const CircleCiEvent& event : events) {
      webhooks_.Deliver(event.type, event.project_id,
                        [&event](const common::WebhookTarget& target) {
                          return CircleCiWebhookMessage(event, target);
                        });
    }
    return std::shared_ptr<const Snapshot>(std::move(next));
  }

  // POST /api/v2/webhook: registers a project webhook.
  ApiReply CreateWebhook(const std::string& body) {
    const std::shared_ptr<const Snapshot> snapshot = CurrentSnapshot();
    absl::StatusOr<common::WebhookTarget> target =
        WebhookFromApiBody(body, *snapshot->data);
    if (target.ok()) target = webhooks_.Add(*std::move(target));
    if (!target.ok()) return ErrorReply(400, target.status().message());
    ApiReply reply = OkReply(WebhookApiObject(*target));
    reply.status = 201;
    return reply;
  }

  // GET /api/v2/webhook?scope-id=ID&scope-type=project: the project's
  // webhooks.
  ApiReply ListWebhooks(const QueryParams& query) {
    const std::string* scope_id = FindParam(query, "scope-id");
    const std::string* scope_type = FindParam(query, "scope-type");
    if (scope_id == nullptr || scope_id->empty()) {
      return ErrorReply(400, "scope-id is required.");
    }
    if (scope_type == nullptr || *scope_type != "project") {
      return ErrorReply(400, "scope-type must be project.");
    }
    const Dataset& data = *CurrentSnapshot()->data;
    if (std::none_of(data.projects.begin(), data.projects.end(),
                     [&](const Project& p) { return p.id == *scope_id; })) {
      return ErrorReply(404, "Project not found");
    }
    std::string body = "{\"items\":[";
    bool first = true;
    for (const common::WebhookTarget& target : webhooks_.Targets()) {
      if (target.scope != *scope_id) continue;
      if (!first) body += ",";
      first = false;
      body += WebhookApiObject(target);
    }
    body += "],\"next_page_token\":null}";
    return OkReply(std::move(body));
  }

  absl::Status StartServer() {
    common::ServerThreadOptions serve;
    serve.name = "fake CircleCI";
    serve.port = options_.port;
    serve.threads = options_.threads;
    serve.internal_error_body = ErrorBody("Internal server error.");
    return server_thread_.Start(
        serve, [this](const httplib::Request& req, httplib::Response& res) {
          Handle(req, res);
        });
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    auto [raw_path, raw_query] = SplitTarget(req.target);
    if (absl::StartsWith(raw_path, kControlPrefix)) {
      HandleControl(req, raw_path.substr(sizeof(kControlPrefix) - 1), res);
      return;
    }
    counters_[kTotalIndex].fetch_add(1);
    if (raw_path != kApiPrefix && !absl::StartsWith(raw_path, "/api/v2/")) {
      counters_[kUnmatchedIndex].fetch_add(1);
      Send(ErrorReply(404, "Not Found"), "", res);
      return;
    }
    QueryParams query = ParseQuery(raw_query);
    ResolveRepeatAlias(raw_path, raw_query, query);
    const RouteMatch route = ClassifyRoute(
        req.method, raw_path.substr(sizeof(kApiPrefix) - 1), query);
    if (!route.name.empty()) counters_[RouteIndex(route.name)].fetch_add(1);

    if (req.get_header_value("Circle-Token") != options_.token) {
      if (route.name.empty()) counters_[kUnmatchedIndex].fetch_add(1);
      Send(ErrorReply(401, "Invalid token provided."), route.template_path,
           res);
      return;
    }

    const FaultDecision decision = faults_.Decide(route.name, route.resource);
    if (decision.delay_ms > 0)
      absl::SleepFor(absl::Milliseconds(decision.delay_ms));
    const Fault* fault =
        decision.response.has_value() ? &*decision.response : nullptr;
    if (fault != nullptr) {
      switch (fault->kind) {
        case FaultKind::kStatus: {
          ApiReply reply = ErrorReply(
              fault->status, DefaultMessage(fault->status, route.name));
          if (fault->status == 429 && fault->retry_after_seconds >= 0) {
            reply.headers.emplace_back(
                "Retry-After", absl::StrCat(fault->retry_after_seconds));
          }
          if (fault->status == 429 && fault->ratelimit_limit >= 0) {
            reply.headers.emplace_back("x-ratelimit-limit",
                                       absl::StrCat(fault->ratelimit_limit));
          }
          Send(reply, route.template_path, res);
          return;
        }
        case FaultKind::kMalformedBody:
          Send(OkReply(kMalformedBody), route.template_path, res);
          return;
        case FaultKind::kEchoToken:
          Send(OkReply(EchoTokenBody(route.name,
                                     req.get_header_value("Circle-Token"),
                                     fault->echo_form)),
               route.template_path, res);
          return;
        case FaultKind::kConnectionReset:
          if (!ResetConnection(req)) {
            LogWarn(
                "fake CircleCI: could not find the socket to reset; answering "
                "500");
            Send(ErrorReply(500, "Internal server error."), route.template_path,
                 res);
          }
          return;
        case FaultKind::kLatency:
        case FaultKind::kTruncatedBody:
        case FaultKind::kRepeatPageToken:
          break;  // applied to the normal reply below
      }
    }

    ApiReply reply =
        Answer(req.method, raw_path, raw_query, route, query, req.body);
    if (!reply.matched) counters_[kUnmatchedIndex].fetch_add(1);
    if (fault != nullptr && fault->kind == FaultKind::kRepeatPageToken &&
        reply.status == 200) {
      reply.body =
          WithNextPageToken(reply.body, RepeatAlias(raw_path, raw_query));
    }
    if (fault != nullptr && fault->kind == FaultKind::kTruncatedBody) {
      SendTruncated(reply, route.template_path, res);
      return;
    }
    Send(reply, route.template_path, res);
  }

  ApiReply Answer(const std::string& method, const std::string& raw_path,
                  const std::string& raw_query, const RouteMatch& route,
                  const QueryParams& query, const std::string& body) {
    if (replay_ == nullptr) {
      if (route.name.empty()) {
        ApiReply reply = ErrorReply(404, "Not Found");
        reply.matched = false;
        return reply;
      }
      if (route.name == "webhook-create") return CreateWebhook(body);
      if (route.name == "webhook-list") return ListWebhooks(query);
      return CurrentSnapshot()->api->Serve(route, query);
    }
    const RecordedResponse* recorded =
        replay_->Find(method, raw_path, raw_query);
    if (recorded == nullptr) {
      ApiReply reply = ErrorReply(404, "Not Found");
      reply.matched = false;
      return reply;
    }
    ApiReply reply = OkReply(recorded->body);
    reply.status = recorded->status;
    for (const auto& [name, value] : recorded->headers) {
      if (absl::EqualsIgnoreCase(name, "content-type")) {
        reply.content_type = value;
      } else {
        reply.headers.emplace_back(name, value);
      }
    }
    return reply;
  }

  // The stable token a repeat_token fault hands out for a page: requesting it
  // serves the same page again (see ResolveRepeatAlias).
  std::string RepeatAlias(const std::string& raw_path,
                          const std::string& raw_query) {
    const std::string page = absl::StrCat(raw_path, "?", raw_query);
    absl::MutexLock lock(&alias_mutex_);
    auto it = alias_by_page_.find(page);
    if (it != alias_by_page_.end()) return it->second;
    const std::string token = absl::WebSafeBase64Escape(
        absl::StrCat("repeat:", alias_by_page_.size(), ":", raw_path));
    alias_by_page_[page] = token;
    page_by_alias_[token] = {raw_path, raw_query};
    return token;
  }

  // A request whose page-token is a repeat alias for this path is rewritten to
  // the page the alias stands for.
  void ResolveRepeatAlias(const std::string& raw_path, std::string& raw_query,
                          QueryParams& query) {
    const std::string* token = FindParam(query, "page-token");
    if (token == nullptr) return;
    absl::MutexLock lock(&alias_mutex_);
    auto it = page_by_alias_.find(*token);
    if (it == page_by_alias_.end() || it->second.first != raw_path) return;
    raw_query = it->second.second;
    query = ParseQuery(raw_query);
  }

  void AddCommonHeaders(absl::string_view template_path,
                        httplib::Response& res) {
    if (!res.has_header("x-request-id")) {
      res.set_header(
          "x-request-id",
          absl::StrFormat("%s-0000-4000-8000-%012x", request_id_prefix_,
                          request_sequence_.fetch_add(1)));
    }
    if (!template_path.empty() && !res.has_header("x-route")) {
      res.set_header("x-route", std::string(template_path));
    }
  }

  void Send(const ApiReply& reply, absl::string_view template_path,
            httplib::Response& res) {
    res.status = reply.status;
    for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    AddCommonHeaders(template_path, res);
    res.set_content(reply.body, reply.content_type);
  }

  // Declares the full length, sends half, then closes (the provider reports
  // failure).
  void SendTruncated(const ApiReply& reply, absl::string_view template_path,
                     httplib::Response& res) {
    res.status = reply.status;
    for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    AddCommonHeaders(template_path, res);
    auto body =
        std::make_shared<std::string>(reply.body.empty() ? "{}" : reply.body);
    res.set_content_provider(body->size(), reply.content_type,
                             [body](size_t, size_t, httplib::DataSink& sink) {
                               sink.write(body->data(), body->size() / 2);
                               return false;
                             });
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
    } else if (path == "dataset" && method == "GET") {
      SendDataset(res);
    } else if (path == "mutations" && method == "POST") {
      absl::StatusOr<std::vector<Mutation>> mutations =
          ParseMutationsJson(req.body);
      absl::StatusOr<std::shared_ptr<const Snapshot>> applied =
          mutations.ok() ? ApplyAndPublish(*mutations)
                         : absl::StatusOr<std::shared_ptr<const Snapshot>>(
                               mutations.status());
      if (!applied.ok()) {
        SendJson(HttpStatusFor(applied.status()),
                 ErrorBody(applied.status().message()), res);
        return;
      }
      SendJson(200, SummaryJson(**applied), res);
    } else {
      SendJson(404, ErrorBody("Not Found"), res);
    }
  }

  // Streams the current snapshot, which the provider keeps alive, so a large
  // dataset is never one string and mutations meanwhile do not affect it.
  void SendDataset(httplib::Response& res) {
    std::shared_ptr<const Snapshot> snapshot = CurrentSnapshot();
    if (replay_ != nullptr) {
      SendJson(409,
               ErrorBody("fake CircleCI: /_control/dataset needs generated "
                         "mode, not replay"),
               res);
      return;
    }
    auto writer =
        std::make_shared<DatasetJsonWriter>(snapshot->data, snapshot->version);
    res.status = 200;
    res.set_chunked_content_provider(
        "application/json", [writer](size_t, httplib::DataSink& sink) {
          std::string piece;
          if (!writer->Next(kDatasetPieceBytes, &piece)) {
            sink.done();
            return true;
          }
          return sink.write(piece.data(), piece.size());
        });
  }

  common::ControlHooks<Fault> ControlHooks() {
    common::ControlHooks<Fault> hooks;
    hooks.syntax = &GetFaultSyntax();
    hooks.faults = &faults_;
    hooks.counters_json = [this] { return common::CountersJson(Counters()); };
    hooks.reset_counters = [this] { ResetCounters(); };
    hooks.bad_request_body = [](absl::string_view message) {
      return ErrorBody(message);
    };
    hooks.webhooks = &webhooks_;
    return hooks;
  }

  std::string SummaryJson(const Snapshot& snapshot) const {
    const Dataset& data = *snapshot.data;
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    auto count = [&w](const char* key, int64_t value) {
      w.Key(key);
      w.Int64(value);
    };
    w.StartObject();
    w.Key("mode");
    if (replay_ == nullptr) {
      w.String("generated");
      count("seed", static_cast<int64_t>(options_.generator.seed));
      count("page_size", options_.page_size);
      count("version", snapshot.version);
      count("users", 1);
      count("orgs", data.orgs.size());
      count("projects", data.projects.size());
      count("pipelines", data.pipelines.size());
      count("workflows", data.workflows.size());
      count("jobs", data.jobs.size());
      count("project_env_vars", data.project_env_vars.size());
      count("contexts", data.contexts.size());
      count("restrictions", data.restrictions.size());
      count("context_env_vars", data.context_env_vars.size());
    } else {
      w.String("replay");
      count("files", replay_->files().size());
      count("entries", replay_->entry_count());
      count("shadowed", replay_->shadowed_count());
      std::map<std::string, int64_t> per_route;
      for (const std::string& raw_path : replay_->raw_paths()) {
        const std::string api_path =
            absl::StartsWith(raw_path, "/api/v2")
                ? raw_path.substr(sizeof(kApiPrefix) - 1)
                : raw_path;
        const RouteMatch route = ClassifyRoute("GET", api_path, {});
        ++per_route[route.name.empty() ? "unmatched" : route.name];
      }
      w.Key("routes");
      w.StartObject();
      for (const auto& [name, routes] : per_route) count(name.c_str(), routes);
      w.EndObject();
    }
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  FakeCircleCiOptions options_;
  std::unique_ptr<HarReplay> replay_;  // replay mode only

  mutable absl::Mutex snapshot_mutex_;  // held only to copy or swap snapshot_
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(snapshot_mutex_);
  absl::Mutex mutate_mutex_;  // one mutation at a time
  // Every version ever served, so dataset() references stay valid.
  std::vector<std::shared_ptr<const Dataset>> history_
      ABSL_GUARDED_BY(mutate_mutex_);
  FaultTable faults_;
  std::array<std::atomic<int64_t>, kRouteCount + 2> counters_{};
  std::string request_id_prefix_;
  std::atomic<uint64_t> request_sequence_{0};

  absl::Mutex alias_mutex_;
  absl::flat_hash_map<std::string, std::string> alias_by_page_
      ABSL_GUARDED_BY(alias_mutex_);
  absl::flat_hash_map<std::string, std::pair<std::string, std::string>>
      page_by_alias_ ABSL_GUARDED_BY(alias_mutex_);

  common::WebhookSender webhooks_;

  httplib::Server server_;
  common::ServerThread server_thread_{server_};
};

absl::StatusOr<std::unique_ptr<FakeCircleCi>> FakeCircleCi::Start(
    FakeCircleCiOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status status = impl->Init(); !status.ok()) return status;
  return std::unique_ptr<FakeCircleCi>(new FakeCircleCi(std::move(impl)));
}

FakeCircleCi::FakeCircleCi(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
FakeCircleCi::~FakeCircleCi() = default;

int FakeCircleCi::port() const { return impl_->port(); }
std::string FakeCircleCi::root_url() const {
  return absl::StrCat("http://127.0.0.1:", impl_->port());
}
std::string FakeCircleCi::base_url() const {
  return absl::StrCat(root_url(), kApiPrefix);
}
const Dataset& FakeCircleCi::dataset() const { return impl_->dataset(); }
int64_t FakeCircleCi::data_version() const { return impl_->data_version(); }
absl::Status FakeCircleCi::Mutate(const std::vector<Mutation>& mutations) {
  return impl_->Mutate(mutations);
}
absl::Status FakeCircleCi::Mutate(const Mutation& mutation) {
  return impl_->Mutate(std::vector<Mutation>{mutation});
}

void FakeCircleCi::AddFault(Fault fault) {
  impl_->faults().Add(std::move(fault));
}
absl::Status FakeCircleCi::AddFault(absl::string_view spec) {
  absl::StatusOr<Fault> fault = ParseFault(spec);
  if (!fault.ok()) return fault.status();
  impl_->faults().Add(*std::move(fault));
  return absl::OkStatus();
}
void FakeCircleCi::ClearFaults() { impl_->faults().Clear(); }
std::vector<FaultTable::Entry> FakeCircleCi::Faults() const {
  return impl_->faults().Snapshot();
}

int64_t FakeCircleCi::RequestCount(absl::string_view name) const {
  const int index = RouteIndex(name);
  return index < 0 ? 0 : impl_->Count(index);
}
std::map<std::string, int64_t> FakeCircleCi::Counters() const {
  return impl_->Counters();
}
void FakeCircleCi::ResetCounters() { impl_->ResetCounters(); }
common::WebhookSender& FakeCircleCi::webhooks() { return impl_->webhooks(); }

}  // namespace graphmill::fakes
