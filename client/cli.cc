// Implementation of client/cli.h: one function per command, each printing to
// `out` and returning an exit status or an error for RunCli to print.
#include "client/cli.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/cli_output.pb.h"
#include "client/completion.h"
#include "client/coordinator_client.h"
#include "client/describe.h"
#include "client/dot_writer.h"
#include "client/instance_settings.h"
#include "client/interrupt.h"
#include "client/json_output.h"
#include "client/render.h"
#include "client/run_watch.h"
#include "client/suggest.h"
#include "client/table.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::cli {
namespace {

// Largest page the CLI asks for (the server's default). Pages may come back
// smaller (the server also bounds them by bytes), so paging follows the token.
constexpr int32_t kGraphPageSize = 500;

// Everything a command needs.
struct Invocation {
  const CommandLine& line;
  CoordinatorClient& client;
  std::ostream& out;
  std::ostream& err;
  const CliEnvironment& environment;

  bool json() const { return line.output == OutputFormat::kJson; }
};

void PrintError(std::ostream& err, absl::string_view message) {
  // One line, whatever the server put in its message.
  std::string text =
      absl::StrReplaceAll(message, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}});
  if (text.empty()) text = "unknown error";
  err << "graphmill: " << text << "\n";
  err.flush();
}

absl::StatusOr<int> IntegrationList(const Invocation& call) {
  absl::StatusOr<v1::ListIntegrationsResponse> response =
      call.client.ListIntegrations();
  if (!response.ok()) return response.status();
  if (call.json()) {
    for (const auto& integration : response->integrations()) {
      call.out << JsonLine(integration);
    }
  } else {
    call.out << RenderIntegrations(*response);
  }
  return kExitSuccess;
}

absl::StatusOr<int> IntegrationDescribe(const Invocation& call) {
  absl::StatusOr<v1::ListIntegrationsResponse> response =
      call.client.ListIntegrations();
  if (!response.ok()) return response.status();
  std::vector<std::string> names;
  for (const v1::IntegrationDefinition& integration :
       response->integrations()) {
    if (integration.name() == call.line.integration) {
      call.out << (call.json() ? JsonLine(integration)
                               : RenderIntegrationDescription(integration));
      return kExitSuccess;
    }
    names.push_back(integration.name());
  }
  const std::string suggestion = DidYouMean(call.line.integration, names);
  return absl::NotFoundError(absl::StrCat(
      "integration '", call.line.integration, "' not found",
      !suggestion.empty() ? suggestion
      : names.empty()     ? " (no worker has connected yet)"
                          : absl::StrCat(" (connected workers implement: ",
                                         absl::StrJoin(names, ", "), ")")));
}

void PrintInstance(const Invocation& call, const v1::Instance& instance) {
  call.out << (call.json() ? JsonLine(MaskUploadToken(instance))
                           : RenderInstance(instance));
}

absl::StatusOr<int> InstanceCreate(const Invocation& call) {
  absl::StatusOr<v1::Instance> instance = BuildInstance(call.line);
  if (!instance.ok()) return instance.status();
  absl::StatusOr<v1::Instance> created = call.client.CreateInstance(*instance);
  if (!created.ok()) return created.status();
  PrintInstance(call, *created);
  return kExitSuccess;
}

absl::StatusOr<int> InstanceList(const Invocation& call) {
  absl::StatusOr<v1::ListInstancesResponse> response =
      call.client.ListInstances();
  if (!response.ok()) return response.status();
  if (call.json()) {
    for (const auto& instance : response->instances())
      call.out << JsonLine(instance);
  } else {
    // One ListRuns per instance: instance lists are short, and the Admin API
    // keeps runs separate from instances.
    std::map<std::string, v1::Run> last_runs;
    for (const v1::Instance& instance : response->instances()) {
      v1::ListRunsRequest request;
      request.set_instance_id(instance.id());
      request.set_limit(1);
      absl::StatusOr<v1::ListRunsResponse> runs = call.client.ListRuns(request);
      if (!runs.ok()) return runs.status();
      if (runs->runs_size() > 0) last_runs[instance.id()] = runs->runs(0);
    }
    call.out << RenderInstances(*response, last_runs);
  }
  return kExitSuccess;
}

absl::StatusOr<int> InstanceGet(const Invocation& call) {
  absl::StatusOr<v1::Instance> instance =
      call.client.GetInstance(call.line.instance_id);
  if (!instance.ok()) return instance.status();
  PrintInstance(call, *instance);
  return kExitSuccess;
}

absl::StatusOr<int> InstanceUpdate(const Invocation& call) {
  absl::StatusOr<v1::Instance> stored =
      call.client.GetInstance(call.line.instance_id);
  if (!stored.ok()) return stored.status();
  absl::StatusOr<v1::Instance> instance =
      MergeInstanceUpdate(*stored, call.line);
  if (!instance.ok()) return instance.status();
  // The coordinator checks the names to unset: a misspelt one is refused
  // there, for every client, rather than removing nothing in silence.
  absl::StatusOr<v1::Instance> updated =
      call.client.UpdateInstance(*instance, call.line.unset_config);
  if (!updated.ok()) return updated.status();
  PrintInstance(call, *updated);
  return kExitSuccess;
}

// Without --yes, RunCli has made sure that stdin is a terminal.
absl::StatusOr<int> InstanceDelete(const Invocation& call) {
  const std::string& id = call.line.instance_id;
  if (!call.line.yes) {
    call.err << "Delete instance '" << id
             << "' with its runs, graph and change history? [y/N] ";
    call.err.flush();
    std::string answer;
    if (call.environment.in == nullptr ||
        !std::getline(*call.environment.in, answer)) {
      call.err << "\n";  // End the prompt's line before the error.
    }
    answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
    if (answer != "y" && answer != "yes") {
      return absl::CancelledError(
          absl::StrCat("instance '", id, "' not deleted"));
    }
  }
  absl::Status status = call.client.DeleteInstance(id);
  if (!status.ok()) return status;
  if (call.json()) {
    v1::DeleteInstanceRequest deleted;
    deleted.set_instance_id(id);
    call.out << JsonLine(deleted);
  } else {
    call.out << "instance " << id << " deleted\n";
  }
  return kExitSuccess;
}

absl::StatusOr<int> InstanceValidate(const Invocation& call) {
  absl::StatusOr<v1::ValidateInstanceResponse> response =
      call.client.ValidateInstance(call.line.instance_id);
  if (!response.ok()) return response.status();
  call.out << (call.json() ? JsonLine(*response)
                           : RenderValidation(*response) + "\n");
  return response->valid() ? kExitSuccess : kExitFailure;
}

// Exit 1 when any resource has no webhook (its error is in the output).
absl::StatusOr<int> InstanceWebhooksInstall(const Invocation& call) {
  absl::StatusOr<v1::InstallWebhooksResponse> response =
      call.client.InstallWebhooks(call.line.instance_id, call.line.webhook_url);
  if (!response.ok()) return response.status();
  call.out << (call.json() ? JsonLine(*response)
                           : RenderWebhookInstall(*response));
  for (const v1::WebhookInstallResult& result : response->results()) {
    if (!result.error().empty()) return kExitFailure;
  }
  return kExitSuccess;
}

// The relationship types of the run's integration, so progress can tell
// entities from relationships. Best effort: nullopt when the coordinator will
// not say.
std::optional<std::set<std::string>> RelationshipTypes(
    CoordinatorClient& client, const std::string& instance_id) {
  absl::StatusOr<v1::Instance> instance = client.GetInstance(instance_id);
  if (!instance.ok()) return std::nullopt;
  absl::StatusOr<v1::ListIntegrationsResponse> integrations =
      client.ListIntegrations();
  if (!integrations.ok()) return std::nullopt;
  for (const v1::IntegrationDefinition& integration :
       integrations->integrations()) {
    if (integration.name() != instance->integration()) continue;
    std::set<std::string> types;
    for (const v1::StepDefinition& step : integration.steps()) {
      for (const v1::DeclaredRelationshipType& type : step.relationships()) {
        types.insert(type.type());
      }
    }
    return types;
  }
  return std::nullopt;
}

// Redraws the progress line every `interval` until destroyed.
class ProgressTicker {
 public:
  ProgressTicker(RunWatchPrinter& printer, const CliEnvironment& environment) {
    thread_ = std::thread([this, &printer, &environment] {
      while (!stop_.WaitForNotificationWithTimeout(environment.tick_interval)) {
        printer.Tick(environment.now_ms());
      }
    });
  }
  ~ProgressTicker() {
    stop_.Notify();
    thread_.join();
  }

 private:
  absl::Notification stop_;
  std::thread thread_;
};

absl::StatusOr<int> WatchRun(const Invocation& call, int64_t run_id) {
  const bool terminal = call.environment.out_is_terminal && !call.json();
  RunWatchPrinter printer(call.out, terminal);
  std::optional<v1::Run> last_run;
  absl::Status status;
  {
    std::optional<ProgressTicker> ticker;
    // Plain output ticks too: it prints a progress line every few seconds.
    if (!call.json()) ticker.emplace(printer, call.environment);
    status = call.client.WatchRun(run_id, [&](const v1::RunUpdate& update) {
      if (call.json()) {
        call.out << JsonLine(update);
        call.out.flush();
      } else {
        if (!last_run.has_value()) {
          std::optional<std::set<std::string>> types =
              RelationshipTypes(call.client, update.run().instance_id());
          if (types.has_value())
            printer.SetRelationshipTypes(*std::move(types));
        }
        printer.OnUpdate(update, call.environment.now_ms());
      }
      last_run = update.run();
    });
  }
  printer.Finish();
  if (!status.ok()) return status;
  if (!last_run.has_value() || !IsFinished(last_run->status())) {
    return absl::UnavailableError(absl::StrCat(
        "watch of run ", run_id, " ended before the run did (last status ",
        last_run.has_value() ? RunStatusName(last_run->status()) : "unknown",
        ")"));
  }
  switch (last_run->status()) {
    case v1::RUN_STATUS_SUCCEEDED:
    case v1::RUN_STATUS_PARTIAL:
      if (!call.json()) call.out << RenderRunEndLine(*last_run) << "\n";
      return last_run->status() == v1::RUN_STATUS_SUCCEEDED ? kExitSuccess
                                                            : kExitPartial;
    default:
      return absl::AbortedError(RenderRunEndLine(*last_run));
  }
}

absl::StatusOr<int> RunStart(const Invocation& call) {
  absl::StatusOr<v1::Run> run =
      call.client.StartRun(call.line.instance_id, call.line.full);
  if (!run.ok()) return run.status();
  call.out << (call.json() ? JsonLine(*run) : RenderRunStarted(*run));
  call.out.flush();
  if (!call.line.watch) return kExitSuccess;
  return WatchRun(call, run->id());
}

absl::StatusOr<int> RunShow(const Invocation& call) {
  absl::StatusOr<v1::GetRunResponse> response =
      call.client.GetRun(call.line.run_id);
  if (!response.ok()) return response.status();
  call.out << (call.json()
                   ? JsonLine(*response)
                   : RenderRunSummary(*response, call.environment.now_ms()));
  return kExitSuccess;
}

absl::StatusOr<int> RunCancel(const Invocation& call) {
  absl::StatusOr<v1::Run> run = call.client.CancelRun(call.line.run_id);
  if (!run.ok()) return run.status();
  call.out << (call.json()
                   ? JsonLine(*run)
                   : absl::StrCat("run ", run->id(), " ",
                                  RunStatusName(run->status()),
                                  " for instance ", run->instance_id(), "\n"));
  return kExitSuccess;
}

absl::StatusOr<int> RunUpload(const Invocation& call) {
  absl::StatusOr<v1::Run> run = call.client.RetryUpload(call.line.run_id);
  if (!run.ok()) return run.status();
  call.out << (call.json() ? JsonLine(*run) : RenderUploadStatus(*run));
  return kExitSuccess;
}

absl::StatusOr<int> RunList(const Invocation& call) {
  v1::ListRunsRequest request;
  request.set_instance_id(call.line.instance_id);
  request.set_limit(static_cast<int32_t>(
      std::min<int64_t>(call.line.limit, std::numeric_limits<int32_t>::max())));
  absl::StatusOr<v1::ListRunsResponse> response = call.client.ListRuns(request);
  if (!response.ok()) return response.status();
  if (call.json()) {
    for (const v1::Run& run : response->runs()) call.out << JsonLine(run);
  } else {
    call.out << RenderRuns(*response, call.environment.now_ms());
  }
  return kExitSuccess;
}

v1::GraphFilter Filter(const CommandLine& line) {
  v1::GraphFilter filter;
  filter.set_instance_id(line.instance_id);
  filter.set_type(line.type);
  filter.set_class_name(line.class_name);
  for (const auto& [name, value] : line.properties) {
    (*filter.mutable_properties())[name] = value;
  }
  return filter;
}

// Pages through a Graph list call until the last page or --limit. `fetch` gets
// the page size and token and returns the page's objects plus the next token;
// `emit` takes each object.
template <typename Object, typename Fetch, typename Emit>
absl::Status ForEachGraphObject(const CommandLine& line, Fetch fetch,
                                Emit emit) {
  int64_t emitted = 0;
  std::string token;
  do {
    const int64_t remaining =
        line.limit == 0 ? kGraphPageSize : line.limit - emitted;
    const int32_t page_size =
        static_cast<int32_t>(std::min<int64_t>(kGraphPageSize, remaining));
    absl::StatusOr<std::pair<std::vector<Object>, std::string>> page =
        fetch(page_size, token);
    if (!page.ok()) return page.status();
    for (Object& object : page->first) {
      if (line.limit != 0 && emitted >= line.limit) break;
      emit(std::move(object));
      ++emitted;
    }
    if (!page->second.empty() && page->second == token) {
      return absl::InternalError(
          absl::StrCat("coordinator returned page token '", token, "' twice"));
    }
    token = std::move(page->second);
  } while (!token.empty() && (line.limit == 0 || emitted < line.limit));
  return absl::OkStatus();
}

// Every entity matching `filter`, page by page; raw data only if
// `include_raw_data` (it is most of an entity's size).
template <typename Emit>
absl::Status ForEachEntity(const Invocation& call,
                           const v1::GraphFilter& filter, bool include_raw_data,
                           Emit emit) {
  return ForEachGraphObject<v1::Entity>(
      call.line,
      [&](int32_t page_size, const std::string& token)
          -> absl::StatusOr<std::pair<std::vector<v1::Entity>, std::string>> {
        v1::ListEntitiesRequest request;
        *request.mutable_filter() = filter;
        request.set_page_size(page_size);
        request.set_page_token(token);
        request.set_include_raw_data(include_raw_data);
        absl::StatusOr<v1::ListEntitiesResponse> response =
            call.client.ListEntities(request);
        if (!response.ok()) return response.status();
        return std::make_pair(
            std::vector<v1::Entity>(response->entities().begin(),
                                    response->entities().end()),
            response->next_page_token());
      },
      emit);
}

// Every relationship matching `filter`, page by page.
template <typename Emit>
absl::Status ForEachRelationship(const Invocation& call,
                                 const v1::GraphFilter& filter, Emit emit) {
  return ForEachGraphObject<v1::Relationship>(
      call.line,
      [&](int32_t page_size, const std::string& token)
          -> absl::StatusOr<
              std::pair<std::vector<v1::Relationship>, std::string>> {
        v1::ListRelationshipsRequest request;
        *request.mutable_filter() = filter;
        request.set_page_size(page_size);
        request.set_page_token(token);
        absl::StatusOr<v1::ListRelationshipsResponse> response =
            call.client.ListRelationships(request);
        if (!response.ok()) return response.status();
        return std::make_pair(
            std::vector<v1::Relationship>(response->relationships().begin(),
                                          response->relationships().end()),
            response->next_page_token());
      },
      emit);
}

absl::StatusOr<int> GraphEntities(const Invocation& call) {
  std::vector<v1::Entity> rows;
  // The table never shows raw data.
  const bool raw = call.line.raw && call.json();
  absl::Status status =
      ForEachEntity(call, Filter(call.line), raw, [&](v1::Entity entity) {
        if (call.json()) {
          call.out << JsonLine(entity, raw);
        } else {
          rows.push_back(std::move(entity));
        }
      });
  // Print what was read even when a later page failed, then report the
  // failure; a first page that failed (an unknown instance) prints no table.
  if (!call.json() && (status.ok() || !rows.empty())) {
    call.out << RenderEntities(rows);
  }
  if (!status.ok()) return status;
  return kExitSuccess;
}

absl::StatusOr<int> GraphRelationships(const Invocation& call) {
  std::vector<v1::Relationship> rows;
  absl::Status status = ForEachRelationship(
      call, Filter(call.line), [&](v1::Relationship relationship) {
        if (call.json()) {
          call.out << JsonLine(relationship);
        } else {
          rows.push_back(std::move(relationship));
        }
      });
  if (!call.json() && (status.ok() || !rows.empty())) {
    call.out << RenderRelationships(rows);
  }
  if (!status.ok()) return status;
  return kExitSuccess;
}

absl::StatusOr<int> GraphEntity(const Invocation& call) {
  v1::GetEntityRequest request;
  request.set_instance_id(call.line.instance_id);
  request.set_key(call.line.entity_key);
  request.set_include_raw_data(call.line.raw);
  absl::StatusOr<v1::Entity> entity = call.client.GetEntity(request);
  if (!entity.ok()) return entity.status();
  call.out << (call.json() ? JsonLine(*entity, call.line.raw)
                           : RenderEntity(*entity, call.line.raw));
  return kExitSuccess;
}

// Breadth first from `line.entity_key`, `line.depth` hops out with
// `line.direction` and `line.class_name` at every hop; each entity is
// expanded once (the first time it is reached), so cycles end. Calls
// visit(depth, from, first, neighbor) for each neighbor of each expanded
// entity, `line.limit` of them at most (0: all); `first` is true the first
// time the neighbor's entity is reached. Memory: the keys reached.
template <typename Visit>
absl::Status WalkNeighbors(const Invocation& call, const CommandLine& line,
                           bool raw, Visit visit) {
  std::set<std::string> reached = {line.entity_key};
  std::vector<std::string> frontier = {line.entity_key};
  int64_t emitted = 0;
  for (int depth = 1; depth <= line.depth && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (const std::string& from : frontier) {
      if (line.limit != 0 && emitted >= line.limit) break;
      CommandLine page_line = line;
      if (page_line.limit != 0) page_line.limit -= emitted;
      absl::Status status = ForEachGraphObject<v1::Neighbor>(
          page_line,
          [&](int32_t page_size, const std::string& token)
              -> absl::StatusOr<
                  std::pair<std::vector<v1::Neighbor>, std::string>> {
            v1::ListNeighborsRequest request;
            request.set_instance_id(line.instance_id);
            request.set_key(from);
            request.set_direction(line.direction);
            request.set_relationship_class(line.class_name);
            request.set_page_size(page_size);
            request.set_page_token(token);
            request.set_include_raw_data(raw);
            absl::StatusOr<v1::ListNeighborsResponse> response =
                call.client.ListNeighbors(request);
            if (!response.ok()) return response.status();
            return std::make_pair(
                std::vector<v1::Neighbor>(response->neighbors().begin(),
                                          response->neighbors().end()),
                response->next_page_token());
          },
          [&](v1::Neighbor neighbor) {
            ++emitted;
            const bool first = reached.insert(neighbor.entity().key()).second;
            if (first) next.push_back(neighbor.entity().key());
            visit(depth, from, first, std::move(neighbor));
          });
      if (!status.ok()) return status;
    }
    frontier = std::move(next);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> GraphNeighbors(const Invocation& call) {
  std::vector<NeighborRow> rows;
  // The table never shows raw data.
  const bool raw = call.line.raw && call.json();
  const bool multi_hop = call.line.depth > 1;
  absl::Status status = WalkNeighbors(
      call, call.line, raw,
      [&](int depth, const std::string& from, bool, v1::Neighbor neighbor) {
        if (!call.json()) {
          rows.push_back({depth, from, std::move(neighbor)});
        } else if (multi_hop) {
          // The Neighbor's own JSON with where it was reached from first.
          rapidjson::StringBuffer from_json;
          rapidjson::Writer<rapidjson::StringBuffer> writer(from_json);
          writer.String(from.data(),
                        static_cast<rapidjson::SizeType>(from.size()));
          call.out << "{\"depth\":" << depth
                   << ",\"from\":" << from_json.GetString() << ","
                   << ToJson(neighbor, raw).substr(1) << "\n";
        } else {
          call.out << JsonLine(neighbor, raw);
        }
      });
  if (!call.json() && (status.ok() || !rows.empty())) {
    call.out << RenderNeighbors(rows, multi_hop);
  }
  if (!status.ok()) return status;
  return kExitSuccess;
}

// The server-side filters an export runs, one after the other: one per --type
// (types are disjoint, so no object comes twice), or one without a type. The
// --class goes to the server when there is exactly one; several are checked
// here by MatchesClasses, since an entity with two of them would otherwise
// come twice.
std::vector<v1::GraphFilter> ExportFilters(const CommandLine& line) {
  v1::GraphFilter base;
  base.set_instance_id(line.instance_id);
  if (line.classes.size() == 1) base.set_class_name(line.classes[0]);
  if (line.types.empty()) return {base};
  std::vector<v1::GraphFilter> filters;
  for (const std::string& type : line.types) {
    filters.push_back(base);
    filters.back().set_type(type);
  }
  return filters;
}

// Whether `value` is one of `list`'s, or `list` is empty (no filter).
bool Listed(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() ||
         std::find(list.begin(), list.end(), value) != list.end();
}

bool ClassListed(const CommandLine& line, const v1::Entity& entity) {
  return line.classes.empty() ||
         std::any_of(entity.classes().begin(), entity.classes().end(),
                     [&](const std::string& name) {
                       return Listed(line.classes, name);
                     });
}

// After an ExportFilters query: the server checked the type and a lone class.
bool MatchesClasses(const CommandLine& line, const v1::Entity& entity) {
  return line.classes.size() <= 1 || ClassListed(line, entity);
}

bool MatchesClasses(const CommandLine& line,
                    const v1::Relationship& relationship) {
  return line.classes.size() <= 1 ||
         Listed(line.classes, relationship.class_name());
}

// Objects found by walking from --root: every filter checked here.
bool MatchesFilters(const CommandLine& line, const v1::Entity& entity) {
  return Listed(line.types, entity.type()) && ClassListed(line, entity);
}

bool MatchesFilters(const CommandLine& line,
                    const v1::Relationship& relationship) {
  return Listed(line.types, relationship.type()) &&
         Listed(line.classes, relationship.class_name());
}

// The export of `--root KEY --depth N`: the root (NOT_FOUND if there is no
// such entity), then each entity its walk reaches, N hops out either way, then
// the relationships of the entities it expanded (those within N-1 hops), once
// each. Both ends of each such relationship are within N hops. Memory: the
// keys reached and these relationships; the CLI's depth limit keeps both to
// the part of the graph asked for.
template <typename AddEntity, typename AddRelationship>
absl::Status ExportAroundRoot(const Invocation& call, bool raw,
                              AddEntity add_entity,
                              AddRelationship add_relationship) {
  v1::GetEntityRequest request;
  request.set_instance_id(call.line.instance_id);
  request.set_key(call.line.root_key);
  request.set_include_raw_data(raw);
  absl::StatusOr<v1::Entity> root = call.client.GetEntity(request);
  if (!root.ok()) return root.status();
  if (MatchesFilters(call.line, *root)) add_entity(*root);
  CommandLine walk = call.line;
  walk.entity_key = call.line.root_key;
  walk.direction = v1::DIRECTION_UNSPECIFIED;
  walk.class_name.clear();
  walk.limit = 0;
  std::vector<v1::Relationship> relationships;
  std::set<std::string> relationship_keys;
  absl::Status status = WalkNeighbors(
      call, walk, raw,
      [&](int, const std::string&, bool first, v1::Neighbor neighbor) {
        if (first && MatchesFilters(call.line, neighbor.entity())) {
          add_entity(neighbor.entity());
        }
        // Seen from both ends when both were expanded.
        if (relationship_keys.insert(neighbor.relationship().key()).second &&
            MatchesFilters(call.line, neighbor.relationship())) {
          relationships.push_back(std::move(*neighbor.mutable_relationship()));
        }
      });
  if (!status.ok()) return status;
  for (const v1::Relationship& relationship : relationships) {
    add_relationship(relationship);
  }
  return absl::OkStatus();
}

// Streams page by page: memory holds one page, never the graph. A filtered
// or rooted DOT export also holds the keys of the entities it drew, and a
// folded one what DotWriter states.
absl::StatusOr<int> GraphExport(const Invocation& call) {
  std::optional<DotWriter> dot;
  if (call.line.export_format == ExportFormat::kDot) {
    dot.emplace(call.out, call.line.instance_id, call.line.fold);
  }
  // DOT never shows raw data.
  const bool raw = call.line.raw && !dot.has_value();
  const bool filtered = !call.line.types.empty() ||
                        !call.line.classes.empty() ||
                        !call.line.root_key.empty();
  // A filtered DOT export draws an edge only between entities it drew:
  // Graphviz would draw any other end as a bare node that is not in the
  // export.
  std::set<std::string> drawn;
  const auto add_entity = [&](const v1::Entity& entity) {
    if (!dot.has_value()) {
      call.out << JsonLine(entity, raw);
      return;
    }
    dot->AddEntity(entity);
    if (filtered) drawn.insert(entity.key());
  };
  const auto add_relationship = [&](const v1::Relationship& relationship) {
    if (!dot.has_value()) {
      call.out << JsonLine(relationship);
    } else if (!filtered || (drawn.contains(relationship.from_entity_key()) &&
                             drawn.contains(relationship.to_entity_key()))) {
      dot->AddRelationship(relationship);
    }
  };
  absl::Status status;
  if (!call.line.root_key.empty()) {
    status = ExportAroundRoot(call, raw, add_entity, add_relationship);
  } else {
    const std::vector<v1::GraphFilter> filters = ExportFilters(call.line);
    for (const v1::GraphFilter& filter : filters) {
      if (!status.ok()) break;
      status = ForEachEntity(call, filter, raw, [&](const v1::Entity& entity) {
        if (MatchesClasses(call.line, entity)) add_entity(entity);
      });
    }
    for (const v1::GraphFilter& filter : filters) {
      if (!status.ok()) break;
      status = ForEachRelationship(
          call, filter, [&](const v1::Relationship& relationship) {
            if (MatchesClasses(call.line, relationship)) {
              add_relationship(relationship);
            }
          });
    }
  }
  // A failed DOT export stays unclosed (or, folded, empty), so it cannot pass
  // for a whole graph.
  if (!status.ok()) return status;
  if (dot.has_value()) dot->Finish();
  return kExitSuccess;
}

// Counts from one snapshot as it streams: memory holds one chunk and the
// counts, never the graph. A snapshot rather than ListEntities and
// ListRelationships pages, so that a run finalized meanwhile cannot make the
// counts mix two graphs.
absl::StatusOr<int> CountGraph(const Invocation& call) {
  v1::GetSnapshotRequest request;
  request.set_instance_id(call.line.instance_id);  // no raw data: not counted
  bool started = false;
  GraphCount count;
  count.set_instance_id(call.line.instance_id);
  std::map<std::string, int64_t> entity_types;
  std::map<std::string, int64_t> entity_classes;
  std::map<std::string, int64_t> relationship_types;
  std::map<std::string, int64_t> relationship_classes;
  absl::Status status =
      call.client.GetSnapshot(request, [&](const v1::SnapshotChunk& chunk) {
        if (!started) {
          count.set_as_of_sequence(chunk.as_of_sequence());
          started = true;
        }
        for (const v1::Entity& entity : chunk.entities()) {
          ++entity_types[entity.type()];
          const auto& classes = entity.classes();
          for (auto it = classes.begin(); it != classes.end(); ++it) {
            // A class listed twice still counts the entity once.
            if (std::find(classes.begin(), it, *it) == it) {
              ++entity_classes[*it];
            }
          }
        }
        for (const v1::Relationship& relationship : chunk.relationships()) {
          ++relationship_types[relationship.type()];
          ++relationship_classes[relationship.class_name()];
        }
        count.set_entities(count.entities() + chunk.entities_size());
        count.set_relationships(count.relationships() +
                                chunk.relationships_size());
      });
  if (!status.ok()) return status;
  if (!started) {
    return absl::DataLossError(absl::StrCat("snapshot of instance '",
                                            call.line.instance_id,
                                            "' ended before its first chunk"));
  }
  for (const auto& [counts, field] :
       {std::pair{&entity_types, count.mutable_entity_types()},
        std::pair{&entity_classes, count.mutable_entity_classes()},
        std::pair{&relationship_types, count.mutable_relationship_types()},
        std::pair{&relationship_classes,
                  count.mutable_relationship_classes()}}) {
    for (const auto& [name, n] : *counts) {
      NameCount* entry = field->Add();
      entry->set_name(name);
      entry->set_count(n);
    }
  }
  call.out << (call.json() ? JsonLine(count) : RenderGraphCount(count));
  return kExitSuccess;
}

absl::StatusOr<int> GraphSnapshot(const Invocation& call) {
  bool started = false;
  v1::GetSnapshotRequest request;
  request.set_instance_id(call.line.instance_id);
  request.set_include_raw_data(call.line.raw);
  absl::Status status =
      call.client.GetSnapshot(request, [&](const v1::SnapshotChunk& chunk) {
        if (!started) {
          call.out << "# as of sequence " << chunk.as_of_sequence() << "\n";
          started = true;
        }
        for (const v1::Entity& entity : chunk.entities()) {
          call.out << JsonLine(entity, call.line.raw);
        }
        for (const v1::Relationship& relationship : chunk.relationships()) {
          call.out << JsonLine(relationship);
        }
      });
  if (!status.ok()) return status;
  if (!started) {
    return absl::DataLossError(absl::StrCat("snapshot of instance '",
                                            call.line.instance_id,
                                            "' ended before its first chunk"));
  }
  return kExitSuccess;
}

// Runs until the server ends the stream, or SIGINT (a quiet exit 0).
// subscribe's waits before resubscribing: doubling from the first, capped.
constexpr absl::Duration kFirstResubscribeWait = absl::Milliseconds(250);
constexpr absl::Duration kMaxResubscribeWait = absl::Seconds(10);

// Errors of a stream that was working and may work again: the coordinator went
// away (UNAVAILABLE), ended the stream while shutting down (CANCELLED,
// ABORTED), or the connection broke mid-stream (INTERNAL, UNKNOWN).
bool IsResubscribable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<int> Subscribe(const Invocation& call) {
  v1::SubscribeRequest request;
  for (const std::string& id : call.line.instance_ids) {
    request.add_instance_ids(id);
  }
  request.set_type_pattern(call.line.type);
  request.set_class_pattern(call.line.class_name);
  for (v1::ChangeKind kind : call.line.kinds) request.add_kinds(kind);
  request.set_after_sequence(call.line.after_sequence);
  request.set_include_raw_data(call.line.raw);
  // Always asked for: the marker goes to stderr, so stdout stays one change
  // per line and scripts can tell the stored changes from the live ones.
  request.set_mark_caught_up(true);

  StreamCancellation cancellation;
  std::optional<ScopedInterruptHandler> interrupts;
  if (call.environment.handle_interrupts) {
    interrupts.emplace([&cancellation] { cancellation.Cancel(); });
  }
  // A lost stream (the coordinator restarted, or the connection dropped) is
  // resumed after the last change printed, so nothing is missed or repeated.
  // Only a stream that delivered something (a change or the caught-up marker)
  // is retried: a first attempt that fails is reported at once, like any other
  // command's. Each resumed stream has a backlog of its own, so it marks
  // catching up again.
  int64_t after_sequence = call.line.after_sequence;
  bool ever_received = false;
  absl::Duration backoff = kFirstResubscribeWait;
  while (true) {
    request.set_after_sequence(after_sequence);
    bool received = false;
    absl::Status status = call.client.Subscribe(
        request,
        [&](const v1::ChangeEvent& event) {
          received = true;
          if (event.caught_up()) {
            // Its sequence may be past the last change printed (later ones
            // were filtered out); resuming from it skips nothing.
            after_sequence = std::max(after_sequence, event.sequence());
            // Flushed first, so the marker follows every backlog line also
            // when stdout and stderr go to one file.
            call.out.flush();
            call.err << "# caught up at sequence " << event.sequence() << "\n";
            call.err.flush();
            if (call.line.until_caught_up) cancellation.Cancel();
            return;
          }
          call.out << JsonLine(event, call.line.raw);
          call.out.flush();
          after_sequence = event.sequence();
        },
        &cancellation);
    if (cancellation.cancelled() || status.ok()) return kExitSuccess;
    ever_received |= received;
    if (!ever_received || !IsResubscribable(status)) return status;
    if (received) backoff = kFirstResubscribeWait;
    call.err << "graphmill: subscribe: " << status.message()
             << "; reconnecting in "
             << FormatDurationMs(0, absl::ToInt64Milliseconds(backoff))
             << " to resume after sequence " << after_sequence << "\n";
    call.err.flush();
    if (cancellation.WaitForCancellation(backoff)) return kExitSuccess;
    backoff = std::min(2 * backoff, kMaxResubscribeWait);
  }
}

// The token goes to stdout alone on its line (the last one), so scripts can
// capture it; the reminder that it is shown once goes to stderr.
absl::StatusOr<int> TokenCreate(const Invocation& call) {
  absl::StatusOr<v1::CreateTokenResponse> response =
      call.client.CreateToken(call.line.token_name, call.line.token_role);
  if (!response.ok()) return response.status();
  call.err << "token '" << response->name() << "' created (role "
           << TokenRoleName(response->role())
           << "). It is shown only this once: store it now; the coordinator "
              "keeps only its hash.\n";
  call.err.flush();
  call.out << (call.json() ? JsonLine(*response) : response->token() + "\n");
  return kExitSuccess;
}

absl::StatusOr<int> TokenList(const Invocation& call) {
  absl::StatusOr<v1::ListTokensResponse> response = call.client.ListTokens();
  if (!response.ok()) return response.status();
  if (call.json()) {
    for (const v1::TokenInfo& token : response->tokens()) {
      call.out << JsonLine(token);
    }
  } else {
    call.out << RenderTokens(*response);
  }
  return kExitSuccess;
}

absl::StatusOr<int> TokenRevoke(const Invocation& call) {
  absl::Status status = call.client.RevokeToken(call.line.token_name);
  if (!status.ok()) return status;
  if (call.json()) {
    v1::RevokeTokenRequest revoked;
    revoked.set_name(call.line.token_name);
    call.out << JsonLine(revoked);
  } else {
    call.out << "token " << call.line.token_name << " revoked\n";
  }
  return kExitSuccess;
}

absl::StatusOr<int> Dispatch(const Invocation& call) {
  switch (call.line.command) {
    case Command::kIntegrationList:
      return IntegrationList(call);
    case Command::kIntegrationDescribe:
      return IntegrationDescribe(call);
    case Command::kCompletion:
      return absl::InternalError("completion needs no coordinator");
    case Command::kInstanceCreate:
      return InstanceCreate(call);
    case Command::kInstanceList:
      return InstanceList(call);
    case Command::kInstanceGet:
      return InstanceGet(call);
    case Command::kInstanceUpdate:
      return InstanceUpdate(call);
    case Command::kInstanceDelete:
      return InstanceDelete(call);
    case Command::kInstanceValidate:
      return InstanceValidate(call);
    case Command::kInstanceWebhooksInstall:
      return InstanceWebhooksInstall(call);
    case Command::kRunStart:
      return RunStart(call);
    case Command::kRunWatch:
      return WatchRun(call, call.line.run_id);
    case Command::kRunShow:
      return RunShow(call);
    case Command::kRunList:
      return RunList(call);
    case Command::kRunCancel:
      return RunCancel(call);
    case Command::kRunUpload:
      return RunUpload(call);
    case Command::kGraphEntities:
      return GraphEntities(call);
    case Command::kGraphRelationships:
      return GraphRelationships(call);
    case Command::kGraphEntity:
      return GraphEntity(call);
    case Command::kGraphNeighbors:
      return GraphNeighbors(call);
    case Command::kGraphExport:
      return GraphExport(call);
    case Command::kGraphCount:
      return CountGraph(call);
    case Command::kGraphSnapshot:
      return GraphSnapshot(call);
    case Command::kSubscribe:
      return Subscribe(call);
    case Command::kTokenCreate:
      return TokenCreate(call);
    case Command::kTokenList:
      return TokenList(call);
    case Command::kTokenRevoke:
      return TokenRevoke(call);
  }
  return absl::InternalError("unhandled command");
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err, const CliEnvironment& environment) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(args, environment.env);
  if (!line.ok()) {
    PrintError(err, line.status().message());
    return kExitUsage;
  }
  if (line->help) {
    out << UsageText(line->help_topic);
    return kExitSuccess;
  }
  if (line->command == Command::kCompletion) {
    absl::StatusOr<std::string> script = CompletionScript(line->shell);
    if (!script.ok()) {
      PrintError(err, script.status().message());
      return kExitUsage;
    }
    out << *script;
    return kExitSuccess;
  }
  if (line->command == Command::kInstanceDelete && !line->yes &&
      !environment.in_is_terminal) {
    PrintError(err,
               absl::StrCat("refusing to delete instance '", line->instance_id,
                            "' without confirmation: stdin is not a "
                            "terminal (add --yes)"));
    return kExitUsage;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateCoordinatorChannel(line->server, line->tls);
  if (!channel.ok()) {
    PrintError(err, channel.status().message());
    return kExitUsage;
  }
  CoordinatorClient client(*channel, {.server = line->server,
                                      .timeout = line->timeout,
                                      .token = line->token,
                                      .token_source = line->token_source,
                                      .tls = !line->tls.ca_file.empty()});
  absl::StatusOr<int> exit_status =
      Dispatch({*line, client, out, err, environment});
  out.flush();
  if (!exit_status.ok()) {
    std::string message(exit_status.status().message());
    // An object too large for one message with its raw data (the server names
    // it) can still be read without.
    if (line->raw && absl::IsResourceExhausted(exit_status.status())) {
      absl::StrAppend(&message, " (try again without --raw)");
    }
    PrintError(err, message);
    return kExitFailure;
  }
  return *exit_status;
}

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  CliEnvironment environment{
      .env = ProcessEnvironment(),
      .out_is_terminal = &out == &std::cout && isatty(STDOUT_FILENO) == 1,
      .now_ms = [] { return absl::ToUnixMillis(absl::Now()); },
      .tick_interval = absl::Seconds(1),
      .in = &std::cin,
      .in_is_terminal = isatty(STDIN_FILENO) == 1,
      .handle_interrupts = true,
  };
  return RunCli(args, out, err, environment);
}

}  // namespace graphmill::cli
