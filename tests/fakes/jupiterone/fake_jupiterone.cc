// Implementation of fake_jupiterone.h: the HTTP front (auth, counters, faults,
// size limit, control endpoints) over JobStore.
#include "tests/fakes/jupiterone/fake_jupiterone.h"

#include <httplib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <thread>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/common/control.h"
#include "tests/fakes/common/server_thread.h"
#include "tests/fakes/jupiterone/payload.h"

namespace graphmill::fakes {
namespace {

using jupiterone::AbortRequest;
using jupiterone::ApiError;
using jupiterone::CreateJobRequest;
using jupiterone::DiffCounts;
using jupiterone::ErrorBody;
using jupiterone::Fault;
using jupiterone::FaultDecision;
using jupiterone::FaultKind;
using jupiterone::FaultTable;
using jupiterone::JobRecord;
using jupiterone::JobSnapshot;
using jupiterone::JobStatusName;
using jupiterone::JobStore;
using jupiterone::kRouteNames;
using jupiterone::ObjectKind;
using jupiterone::Parsed;
using jupiterone::ReceivedObject;
using jupiterone::StoredGraph;
using jupiterone::UploadRecord;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr char kJobsPath[] = "/persister/synchronization/jobs";
constexpr char kControlPrefix[] = "/_control/";
constexpr int kRouteCount = sizeof(kRouteNames) / sizeof(kRouteNames[0]);
constexpr int kUnmatchedIndex = kRouteCount;
constexpr int kTotalIndex = kRouteCount + 1;

int RouteIndex(absl::string_view name) {
  for (int i = 0; i < kRouteCount; ++i) {
    if (name == kRouteNames[i]) return i;
  }
  if (name == "unmatched") return kUnmatchedIndex;
  if (name == "total") return kTotalIndex;
  return -1;
}

struct Route {
  std::string name;    // a kRouteNames entry; empty = no route
  std::string job_id;  // routes under /jobs/{id}
};

Route ClassifyRoute(const std::string& method, absl::string_view path) {
  if (!absl::ConsumePrefix(&path, kJobsPath)) return {};
  if (path.empty() || path == "/") {
    return method == "POST" ? Route{"create-job", ""} : Route{};
  }
  if (!absl::ConsumePrefix(&path, "/")) return {};
  const std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (parts.empty() || parts[0].empty() || parts.size() > 2) return {};
  if (parts.size() == 1) {
    return method == "GET" ? Route{"get-job", parts[0]} : Route{};
  }
  if (method != "POST") return {};
  for (const char* action :
       {"entities", "relationships", "events", "finalize", "abort"}) {
    if (parts[1] == action) return Route{action, parts[0]};
  }
  return {};
}

ApiError FaultError(int status) {
  switch (status) {
    case 401:
      return {401, "UNAUTHORIZED", "Unauthorized"};
    case 403:
      return {403, "FORBIDDEN", "Forbidden"};
    case 413:
      return {413, "RequestEntityTooLargeException",
              "Request entity too large"};
    case 429:
      return {429, "TOO_MANY_REQUESTS", "Rate limit exceeded"};
    case 500:
      return {500, "INTERNAL_SERVER_ERROR", "Internal server error"};
    default:
      return {status, "INJECTED_FAULT",
              absl::StrCat("Injected fault (status ", status, ")")};
  }
}

void WriteString(JsonWriter& w, absl::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteStringOrNull(JsonWriter& w, const std::string& text) {
  if (text.empty()) {
    w.Null();
  } else {
    WriteString(w, text);
  }
}

void WriteJobRecord(JsonWriter& w, const JobRecord& job) {
  w.StartObject();
  w.Key("id");
  WriteString(w, job.id);
  w.Key("source");
  WriteString(w, job.source);
  w.Key("scope");
  WriteStringOrNull(w, job.scope);
  w.Key("integrationInstanceId");
  WriteStringOrNull(w, job.integration_instance_id);
  w.Key("integrationJobId");
  WriteStringOrNull(w, job.integration_job_id);
  w.Key("status");
  w.String(JobStatusName(job.status));
  w.Key("startTimestamp");
  w.Int64(job.start_timestamp_ms);
  w.Key("numEntitiesUploaded");
  w.Int64(job.entities_uploaded);
  w.Key("numEntitiesCreated");
  w.Int64(job.entities.created);
  w.Key("numEntitiesUpdated");
  w.Int64(job.entities.updated);
  w.Key("numEntitiesDeleted");
  w.Int64(job.entities.deleted);
  w.Key("numRelationshipsUploaded");
  w.Int64(job.relationships_uploaded);
  w.Key("numRelationshipsCreated");
  w.Int64(job.relationships.created);
  w.Key("numRelationshipsUpdated");
  w.Int64(job.relationships.updated);
  w.Key("numRelationshipsDeleted");
  w.Int64(job.relationships.deleted);
  w.EndObject();
}

void WriteStrings(JsonWriter& w, const std::vector<std::string>& strings) {
  w.StartArray();
  for (const std::string& text : strings) WriteString(w, text);
  w.EndArray();
}

void WriteKeys(JsonWriter& w, const std::map<std::string, std::string>& map) {
  w.StartArray();
  for (const auto& [key, unused] : map) WriteString(w, key);
  w.EndArray();
}

void WriteDiff(JsonWriter& w, const DiffCounts& counts,
               const std::vector<std::string>& deleted_keys) {
  w.StartObject();
  w.Key("created");
  w.Int64(counts.created);
  w.Key("updated");
  w.Int64(counts.updated);
  w.Key("deleted");
  w.Int64(counts.deleted);
  w.Key("deletedKeys");
  WriteStrings(w, deleted_keys);
  w.EndObject();
}

// The control view of a job; `with_objects` adds every received object.
void WriteSnapshot(JsonWriter& w, const JobSnapshot& s, bool with_details,
                   bool with_objects) {
  w.StartObject();
  w.Key("job");
  WriteJobRecord(w, s.job);
  w.Key("requests");
  w.Int64(s.requests);
  w.Key("rejectedRequests");
  w.Int64(s.rejected_requests);
  w.Key("uploadRequests");
  w.Int64(static_cast<int64_t>(s.uploads.size()));
  w.Key("repeatedKeys");
  w.Int64(s.repeated_keys);
  w.Key("finalized");
  w.Bool(s.finalized);
  w.Key("partialTypes");
  WriteStrings(w, s.partial_types);
  w.Key("aborted");
  w.Bool(s.aborted);
  w.Key("abortReason");
  WriteString(w, s.abort_reason);
  w.Key("diff");
  w.StartObject();
  w.Key("entities");
  WriteDiff(w, s.entity_diff, s.deleted_entity_keys);
  w.Key("relationships");
  WriteDiff(w, s.relationship_diff, s.deleted_relationship_keys);
  w.EndObject();
  if (with_details) {
    w.Key("entityKeys");
    WriteKeys(w, s.entities);
    w.Key("relationshipKeys");
    WriteKeys(w, s.relationships);
    w.Key("uploads");
    w.StartArray();
    for (const UploadRecord& upload : s.uploads) {
      w.StartObject();
      w.Key("kind");
      w.String(jupiterone::ObjectKindPlural(upload.kind));
      w.Key("bodyBytes");
      w.Int64(upload.body_bytes);
      w.Key("wireBytes");
      w.Int64(upload.wire_bytes);
      w.Key("objects");
      w.Int64(upload.objects);
      w.Key("gzip");
      w.Bool(upload.gzip);
      w.Key("correlationId");
      WriteString(w, upload.correlation_id);
      w.EndObject();
    }
    w.EndArray();
    w.Key("events");
    w.StartArray();
    for (const auto& [name, description] : s.events) {
      w.StartObject();
      w.Key("name");
      WriteString(w, name);
      w.Key("description");
      WriteString(w, description);
      w.EndObject();
    }
    w.EndArray();
  }
  if (with_objects) {
    for (const auto& [member, objects] :
         {std::pair<const char*, const std::map<std::string, std::string>*>{
              "entities", &s.entities},
          {"relationships", &s.relationships}}) {
      w.Key(member);
      w.StartArray();
      for (const auto& [key, json] : *objects) {
        w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
      }
      w.EndArray();
    }
  }
  w.EndObject();
}

}  // namespace

class FakeJupiterOne::Impl {
 public:
  explicit Impl(FakeJupiterOneOptions options)
      : options_(std::move(options)), jobs_(options_.finalize_delay) {}

  ~Impl() { server_thread_.Stop(); }

  absl::Status Init() {
    if (options_.token.empty()) {
      return absl::InvalidArgumentError(
          "fake JupiterOne option 'token' must not be empty");
    }
    if (options_.account.empty()) {
      return absl::InvalidArgumentError(
          "fake JupiterOne option 'account' must not be empty");
    }
    if (options_.max_body_bytes < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("fake JupiterOne option 'max_body_bytes' must be >= 1, "
                       "got ",
                       options_.max_body_bytes));
    }
    if (options_.finalize_delay < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "fake JupiterOne option 'finalize_delay' must not be negative");
    }
    for (const Fault& fault : options_.faults) faults_.Add(fault);
    return StartServer();
  }

  int port() const { return server_thread_.port(); }
  FaultTable& faults() { return faults_; }
  JobStore& jobs() { return jobs_; }

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
  absl::Status StartServer() {
    common::ServerThreadOptions serve;
    serve.name = "fake JupiterOne";
    serve.port = options_.port;
    serve.threads = options_.threads;
    serve.internal_error_body =
        ErrorBody({500, "INTERNAL_SERVER_ERROR", "Internal server error"});
    return server_thread_.Start(
        serve, [this](const httplib::Request& req, httplib::Response& res) {
          Handle(req, res);
        });
  }

  bool Authorized(const httplib::Request& req) const {
    const std::string authorization = req.get_header_value("Authorization");
    absl::string_view bearer = authorization;
    if (bearer.size() < 7 ||
        !absl::EqualsIgnoreCase(bearer.substr(0, 7), "Bearer ")) {
      return false;
    }
    bearer.remove_prefix(7);
    return bearer == options_.token &&
           req.get_header_value("JupiterOne-Account") == options_.account;
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    if (absl::StartsWith(req.path, kControlPrefix)) {
      HandleControl(req, req.path.substr(sizeof(kControlPrefix) - 1), res);
      return;
    }
    counters_[kTotalIndex].fetch_add(1);
    const Route route = ClassifyRoute(req.method, req.path);
    counters_[route.name.empty() ? kUnmatchedIndex : RouteIndex(route.name)]
        .fetch_add(1);
    if (!Authorized(req)) {
      SendError({401, "UNAUTHORIZED",
                 "Unauthorized: the bearer token or JupiterOne-Account is "
                 "not accepted"},
                res);
      return;
    }
    if (route.name.empty()) {
      SendError({404, "NOT_FOUND",
                 absl::StrCat("no route for ", req.method, " ", req.path)},
                res);
      return;
    }
    if (!route.job_id.empty()) jobs_.CountRequest(route.job_id);
    // Faults and the size limit come before the job is looked at, as an API
    // gateway's would.
    const FaultDecision decision = faults_.Decide(route.name);
    if (decision.delay_ms > 0) {
      absl::SleepFor(absl::Milliseconds(decision.delay_ms));
    }
    if (decision.response.has_value()) {
      const Fault& fault = *decision.response;
      if (fault.status == 429 && fault.retry_after_seconds >= 0) {
        res.set_header("Retry-After", absl::StrCat(fault.retry_after_seconds));
      }
      Reject(route, FaultError(fault.status), res);
      return;
    }
    if (static_cast<int64_t>(req.body.size()) > options_.max_body_bytes) {
      Reject(route,
             {413, "RequestEntityTooLargeException",
              absl::StrCat("request body of ", req.body.size(),
                           " bytes exceeds the limit of ",
                           options_.max_body_bytes, " bytes")},
             res);
      return;
    }
    Dispatch(req, route, res);
  }

  void Dispatch(const httplib::Request& req, const Route& route,
                httplib::Response& res) {
    if (route.name == "create-job") {
      Parsed<CreateJobRequest> request =
          jupiterone::ParseCreateJobBody(req.body);
      if (const ApiError* error = std::get_if<ApiError>(&request)) {
        SendError(*error, res);
        return;
      }
      SendJob(jobs_.Create(std::get<CreateJobRequest>(request)), res);
    } else if (route.name == "get-job") {
      SendJob(jobs_.Get(route.job_id), res);
    } else if (route.name == "entities" || route.name == "relationships") {
      const ObjectKind kind = route.name == "entities"
                                  ? ObjectKind::kEntity
                                  : ObjectKind::kRelationship;
      Parsed<std::vector<ReceivedObject>> objects =
          jupiterone::ParseUploadBody(req.body, kind);
      if (const ApiError* error = std::get_if<ApiError>(&objects)) {
        Reject(route, *error, res);
        return;
      }
      UploadRecord record;
      record.body_bytes = static_cast<int64_t>(req.body.size());
      record.gzip = absl::StrContains(
          absl::AsciiStrToLower(req.get_header_value("Content-Encoding")),
          "gzip");
      int64_t wire_bytes = 0;
      record.wire_bytes =
          absl::SimpleAtoi(req.get_header_value("Content-Length"), &wire_bytes)
              ? wire_bytes
              : record.body_bytes;
      record.correlation_id = req.get_header_value("JupiterOne-Correlation-Id");
      SendJob(jobs_.Upload(
                  route.job_id, kind,
                  std::get<std::vector<ReceivedObject>>(std::move(objects)),
                  std::move(record)),
              res);
    } else if (route.name == "events") {
      auto events = jupiterone::ParseEventsBody(req.body);
      if (const ApiError* error = std::get_if<ApiError>(&events)) {
        Reject(route, *error, res);
        return;
      }
      Parsed<JobRecord> job = jobs_.AddEvents(
          route.job_id,
          std::get<std::vector<std::pair<std::string, std::string>>>(
              std::move(events)));
      if (const ApiError* error = std::get_if<ApiError>(&job)) {
        SendError(*error, res);
        return;
      }
      SendJson(200, "{}", res);
    } else if (route.name == "finalize") {
      Parsed<std::vector<std::string>> types =
          jupiterone::ParseFinalizeBody(req.body);
      if (const ApiError* error = std::get_if<ApiError>(&types)) {
        Reject(route, *error, res);
        return;
      }
      SendJob(jobs_.Finalize(route.job_id, std::get<std::vector<std::string>>(
                                               std::move(types))),
              res);
    } else if (route.name == "abort") {
      Parsed<AbortRequest> request = jupiterone::ParseAbortBody(req.body);
      if (const ApiError* error = std::get_if<ApiError>(&request)) {
        Reject(route, *error, res);
        return;
      }
      SendJob(jobs_.Abort(route.job_id, std::get<AbortRequest>(request)), res);
    }
  }

  // An error answer to a request about a job: counted against it.
  void Reject(const Route& route, const ApiError& error,
              httplib::Response& res) {
    if (!route.job_id.empty()) jobs_.CountRejected(route.job_id);
    SendError(error, res);
  }

  void SendJob(const Parsed<JobRecord>& job, httplib::Response& res) {
    if (const ApiError* error = std::get_if<ApiError>(&job)) {
      // The store already counted its own rejections (not-awaiting-uploads);
      // a missing job has nothing to count against.
      SendError(*error, res);
      return;
    }
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("job");
    WriteJobRecord(w, std::get<JobRecord>(job));
    w.EndObject();
    SendJson(200, std::string(buffer.GetString(), buffer.GetSize()), res);
  }

  void SendError(const ApiError& error, httplib::Response& res) {
    SendJson(error.http_status, ErrorBody(error), res);
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
    if (path == "state" && method == "DELETE") {
      jobs_.Reset();
      SendJson(200, R"({"jobs":[]})", res);
    } else if (path == "jobs" && method == "GET") {
      rapidjson::StringBuffer buffer;
      JsonWriter w(buffer);
      w.StartObject();
      w.Key("jobs");
      w.StartArray();
      for (const JobSnapshot& job : jobs_.Jobs()) {
        WriteSnapshot(w, job, false, false);
      }
      w.EndArray();
      w.EndObject();
      SendJson(200, std::string(buffer.GetString(), buffer.GetSize()), res);
    } else if (absl::StartsWith(path, "jobs/") && method == "GET") {
      const std::string id(path.substr(5));
      std::optional<JobSnapshot> job = jobs_.Job(id);
      if (!job.has_value()) {
        SendError({404, "JOB_NOT_FOUND",
                   absl::StrCat("synchronization job '", id, "' not found")},
                  res);
        return;
      }
      const std::string objects = req.get_param_value("objects");
      rapidjson::StringBuffer buffer;
      JsonWriter w(buffer);
      WriteSnapshot(w, *job, true, objects == "true" || objects == "1");
      SendJson(200, std::string(buffer.GetString(), buffer.GetSize()), res);
    } else if (absl::StartsWith(path, "graphs/") && method == "GET") {
      const StoredGraph graph = jobs_.Graph(std::string(path.substr(7)));
      rapidjson::StringBuffer buffer;
      JsonWriter w(buffer);
      w.StartObject();
      for (const auto& [member, objects] :
           {std::pair<const char*, const std::map<std::string, std::string>*>{
                "entities", &graph.entities},
            {"relationships", &graph.relationships}}) {
        w.Key(member);
        w.StartObject();
        for (const auto& [key, type] : *objects) {
          w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
          WriteString(w, type);
        }
        w.EndObject();
      }
      w.EndObject();
      SendJson(200, std::string(buffer.GetString(), buffer.GetSize()), res);
    } else {
      SendError({404, "NOT_FOUND", "Not Found"}, res);
    }
  }

  common::ControlHooks<Fault> ControlHooks() {
    common::ControlHooks<Fault> hooks;
    hooks.syntax = &jupiterone::GetFaultSyntax();
    hooks.faults = &faults_;
    hooks.counters_json = [this] { return common::CountersJson(Counters()); };
    hooks.reset_counters = [this] { ResetCounters(); };
    hooks.bad_request_body = [](absl::string_view message) {
      return ErrorBody({400, "INVALID_FAULT", std::string(message)});
    };
    return hooks;
  }

  FakeJupiterOneOptions options_;
  FaultTable faults_;
  JobStore jobs_;
  std::array<std::atomic<int64_t>, kRouteCount + 2> counters_{};

  httplib::Server server_;
  common::ServerThread server_thread_{server_};
};

absl::StatusOr<std::unique_ptr<FakeJupiterOne>> FakeJupiterOne::Start(
    FakeJupiterOneOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status status = impl->Init(); !status.ok()) return status;
  return std::unique_ptr<FakeJupiterOne>(new FakeJupiterOne(std::move(impl)));
}

FakeJupiterOne::FakeJupiterOne(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
FakeJupiterOne::~FakeJupiterOne() = default;

int FakeJupiterOne::port() const { return impl_->port(); }
std::string FakeJupiterOne::base_url() const {
  return absl::StrCat("http://127.0.0.1:", impl_->port());
}

void FakeJupiterOne::AddFault(Fault fault) {
  impl_->faults().Add(std::move(fault));
}
absl::Status FakeJupiterOne::AddFault(absl::string_view spec) {
  absl::StatusOr<Fault> fault = jupiterone::ParseFault(spec);
  if (!fault.ok()) return fault.status();
  impl_->faults().Add(*std::move(fault));
  return absl::OkStatus();
}
void FakeJupiterOne::ClearFaults() { impl_->faults().Clear(); }
std::vector<FaultTable::Entry> FakeJupiterOne::Faults() const {
  return impl_->faults().Snapshot();
}

int64_t FakeJupiterOne::RequestCount(absl::string_view name) const {
  const int index = RouteIndex(name);
  return index < 0 ? 0 : impl_->Count(index);
}
std::map<std::string, int64_t> FakeJupiterOne::Counters() const {
  return impl_->Counters();
}
void FakeJupiterOne::ResetCounters() { impl_->ResetCounters(); }

std::vector<JobSnapshot> FakeJupiterOne::Jobs() const {
  return impl_->jobs().Jobs();
}
std::optional<JobSnapshot> FakeJupiterOne::Job(const std::string& id) const {
  return impl_->jobs().Job(id);
}
StoredGraph FakeJupiterOne::Graph(const std::string& instance) const {
  return impl_->jobs().Graph(instance);
}
void FakeJupiterOne::ResetState() { impl_->jobs().Reset(); }

}  // namespace graphmill::fakes
