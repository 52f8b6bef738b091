// The operator contract of the API and the CLI (client/README.md), against a
// real coordinator, workers and fake CircleCI: an unknown instance is NOT_FOUND
// in every Admin and Graph call and every CLI command that names one; unknown
// config fields are refused by the coordinator, --unset-config included, and
// nothing changes; graph count and graph export --type/--class agree with the
// graph; graph export --root walks the right part of it and folded DOT stays
// within its node budget. (subscribe's JSON against a real coordinator:
// graph_changes_test.)
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "e2e-org";
constexpr char kUnknown[] = "nope";

fakes::GeneratorOptions Generator() {
  fakes::GeneratorOptions options;
  options.seed = 17;
  options.login = kLogin;
  options.user_id = "0b9a3c55-1d7e-4e4f-9b5e-3a7c2d1e0f17";
  options.orgs = 2;
  options.projects_per_org = 2;
  options.pipelines_per_project = 3;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 2;
  options.contexts_per_org = 1;
  options.env_vars_per_project = 1;
  options.env_vars_per_context = 1;
  options.project_restrictions_per_context = 1;
  return options;
}

// One unary call with a deadline.
template <typename Stub, typename Request, typename Response>
grpc::Status Unary(Stub& stub,
                   grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                const Request&, Response*),
                   const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  Response response;
  return (stub.*method)(&context, request, &response);
}

// A server stream read to its end.
template <typename Message>
grpc::Status Drain(std::unique_ptr<grpc::ClientReader<Message>> reader) {
  Message message;
  while (reader->Read(&message)) {
  }
  return reader->Finish();
}

int64_t Int64Member(const rapidjson::Value& object, const char* name) {
  int64_t value = -1;
  // Proto3 JSON: int64 as a decimal string.
  if (!object.HasMember(name) || !object[name].IsString() ||
      !absl::SimpleAtoi(object[name].GetString(), &value)) {
    ADD_FAILURE() << name << " is not an int64 string";
  }
  return value;
}

std::map<std::string, int64_t> NameCounts(const rapidjson::Value& list) {
  std::map<std::string, int64_t> counts;
  for (const rapidjson::Value& entry : list.GetArray()) {
    counts[entry["name"].GetString()] = Int64Member(entry, "count");
  }
  return counts;
}

std::vector<rapidjson::Document> ParseLines(const std::string& text) {
  std::vector<rapidjson::Document> documents;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    rapidjson::Document& document = documents.emplace_back();
    document.Parse(line.data(), line.size());
    EXPECT_TRUE(!document.HasParseError() && document.IsObject()) << line;
  }
  return documents;
}

class OperatorCliTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void SetUp() override {
    generator_ = Generator();
    ClusterOptions options;
    options.store = GetParam();
    options.workers = 1;
    options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(generator_, 5));
    cluster_ = std::make_unique<Cluster>(options);
    absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  // Creates instance `id` and ingests it once.
  void Ingest(const std::string& id) {
    CommandResult created =
        CreateCircleCiInstance(*cluster_, id, kLogin, kCircleCiToken);
    ASSERT_EQ(created.exit_code, 0) << created.err;
    CommandResult run = cluster_->Cli({"run", "start", id, "--watch"});
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  }

  fakes::GeneratorOptions generator_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(OperatorCliTest, UnknownInstanceIsNotFoundInEveryCall) {
  // A graph and a run exist, so nothing passes only because the store is
  // empty.
  Ingest("ci");
  std::shared_ptr<grpc::Channel> channel = cluster_->NewChannel();
  auto admin = v1::Admin::NewStub(channel);
  auto graph = v1::Graph::NewStub(channel);
  v1::GraphFilter filter;
  filter.set_instance_id(kUnknown);
  const std::vector<std::pair<std::string, std::function<grpc::Status()>>>
      calls = {
          {"Admin.GetInstance",
           [&] {
             v1::GetInstanceRequest request;
             request.set_instance_id(kUnknown);
             return Unary(*admin, &v1::Admin::Stub::GetInstance, request);
           }},
          {"Admin.UpdateInstance",
           [&] {
             v1::UpdateInstanceRequest request;
             request.mutable_instance()->set_id(kUnknown);
             request.mutable_instance()->set_integration("circleci");
             return Unary(*admin, &v1::Admin::Stub::UpdateInstance, request);
           }},
          {"Admin.DeleteInstance",
           [&] {
             v1::DeleteInstanceRequest request;
             request.set_instance_id(kUnknown);
             return Unary(*admin, &v1::Admin::Stub::DeleteInstance, request);
           }},
          {"Admin.ValidateInstance",
           [&] {
             v1::ValidateInstanceRequest request;
             request.set_instance_id(kUnknown);
             return Unary(*admin, &v1::Admin::Stub::ValidateInstance, request);
           }},
          {"Admin.StartRun",
           [&] {
             v1::StartRunRequest request;
             request.set_instance_id(kUnknown);
             return Unary(*admin, &v1::Admin::Stub::StartRun, request);
           }},
          {"Admin.ListRuns",
           [&] {
             v1::ListRunsRequest request;
             request.set_instance_id(kUnknown);
             return Unary(*admin, &v1::Admin::Stub::ListRuns, request);
           }},
          {"Graph.ListEntities",
           [&] {
             v1::ListEntitiesRequest request;
             *request.mutable_filter() = filter;
             return Unary(*graph, &v1::Graph::Stub::ListEntities, request);
           }},
          {"Graph.ListRelationships",
           [&] {
             v1::ListRelationshipsRequest request;
             *request.mutable_filter() = filter;
             return Unary(*graph, &v1::Graph::Stub::ListRelationships, request);
           }},
          {"Graph.GetEntity",
           [&] {
             v1::GetEntityRequest request;
             request.set_instance_id(kUnknown);
             request.set_key("circleci_account:acct-000000001");
             return Unary(*graph, &v1::Graph::Stub::GetEntity, request);
           }},
          {"Graph.ListNeighbors",
           [&] {
             v1::ListNeighborsRequest request;
             request.set_instance_id(kUnknown);
             request.set_key("circleci_account:acct-000000001");
             return Unary(*graph, &v1::Graph::Stub::ListNeighbors, request);
           }},
          {"Graph.GetSnapshot",
           [&] {
             grpc::ClientContext context;
             v1::GetSnapshotRequest request;
             request.set_instance_id(kUnknown);
             return Drain(graph->GetSnapshot(&context, request));
           }},
          {"Graph.Subscribe",
           [&] {
             grpc::ClientContext context;
             v1::SubscribeRequest request;
             request.add_instance_ids("ci");
             request.add_instance_ids(kUnknown);
             return Drain(graph->Subscribe(&context, request));
           }},
      };
  for (const auto& [name, call] : calls) {
    const grpc::Status status = call();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << name;
    EXPECT_EQ(status.error_message(), "instance 'nope' not found") << name;
  }

  const std::vector<std::vector<std::string>> commands = {
      {"instance", "get", kUnknown},
      {"instance", "update", kUnknown, "--config", "login=x"},
      {"instance", "update", kUnknown, "--unset-config", "extraProjectSlugs"},
      {"instance", "delete", kUnknown, "--yes"},
      {"instance", "validate", kUnknown},
      {"run", "start", kUnknown},
      {"run", "list", "--instance", kUnknown},
      {"graph", "entities", "--instance", kUnknown},
      {"graph", "relationships", "--instance", kUnknown},
      {"graph", "entity", "--instance", kUnknown, "circleci_user:1"},
      {"graph", "neighbors", "--instance", kUnknown, "circleci_user:1"},
      {"graph", "export", "--instance", kUnknown, "--format", "jsonl"},
      {"graph", "export", "--instance", kUnknown, "--format", "dot"},
      {"graph", "snapshot", "--instance", kUnknown},
      {"graph", "count", "--instance", kUnknown},
      {"subscribe", "--instance", kUnknown},
  };
  for (const auto& command : commands) {
    for (const char* output : {"table", "json"}) {
      std::vector<std::string> args = command;
      args.push_back(absl::StrCat("--output=", output));
      const CommandResult result = cluster_->Cli(args);
      const std::string what = absl::StrJoin(args, " ");
      EXPECT_EQ(result.exit_code, 1) << what;
      EXPECT_EQ(result.err, "graphmill: NOT_FOUND: instance 'nope' not found\n")
          << what;
      // Nothing that could pass for an empty result.
      EXPECT_EQ(result.out, "") << what;
    }
  }
}

TEST_P(OperatorCliTest, UnknownConfigFieldsAreRefusedAndNothingChanges) {
  // create: nothing is stored.
  CommandResult created =
      CreateCircleCiInstance(*cluster_, "bad", kLogin, kCircleCiToken,
                             {"--config", "extraProjects=gh/acme/api"});
  EXPECT_EQ(created.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(
      created.err,
      "graphmill: INVALID_ARGUMENT: instance 'bad': unknown config field "
      "'extraProjects' for integration 'circleci' (known: "))
      << created.err;
  EXPECT_EQ(cluster_->Cli({"instance", "get", "bad"}).exit_code, 1);

  ASSERT_EQ(CreateCircleCiInstance(*cluster_, "ci", kLogin, kCircleCiToken,
                                   {"--config", "extraProjectSlugs=gh/acme/x"})
                .exit_code,
            0);
  const std::string before =
      cluster_->Cli({"instance", "get", "ci", "--output=json"}).out;
  ASSERT_TRUE(absl::StrContains(before, R"("extraProjectSlugs":"gh/acme/x")"))
      << before;

  // update --config and --unset-config: refused, naming the field and the
  // valid ones.
  CommandResult set = cluster_->Cli(
      {"instance", "update", "ci", "--config", "extraProjects=y"});
  EXPECT_EQ(set.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(
      set.err,
      "graphmill: INVALID_ARGUMENT: instance 'ci': unknown config field "
      "'extraProjects' for integration 'circleci' (known: "))
      << set.err;
  CommandResult unset = cluster_->Cli(
      {"instance", "update", "ci", "--unset-config", "extraProjects"});
  EXPECT_EQ(unset.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(
      unset.err,
      "graphmill: INVALID_ARGUMENT: instance 'ci': cannot unset unknown config "
      "field 'extraProjects' of integration 'circleci' (known: "))
      << unset.err;
  for (const std::string& err : {created.err, set.err, unset.err}) {
    EXPECT_TRUE(absl::StrContains(err, "extraProjectSlugs")) << err;
    EXPECT_TRUE(absl::StrContains(err, "apiKey")) << err;
  }
  // With a valid change in the same command: still nothing changes.
  EXPECT_EQ(cluster_
                ->Cli({"instance", "update", "ci", "--unset-config",
                       "extraProjects", "--rate-limit", "7"})
                .exit_code,
            1);
  EXPECT_EQ(cluster_->Cli({"instance", "get", "ci", "--output=json"}).out,
            before);

  // The field meant is removed; unsetting it again is no error.
  for (int i = 0; i < 2; ++i) {
    CommandResult removed = cluster_->Cli(
        {"instance", "update", "ci", "--unset-config", "extraProjectSlugs"});
    EXPECT_EQ(removed.exit_code, 0) << removed.err;
    EXPECT_FALSE(absl::StrContains(removed.out, "extraProjectSlugs"))
        << removed.out;
  }
}

TEST_P(OperatorCliTest, CountAgreesWithTheGraph) {
  Ingest("ci");
  const GraphByType graph = ReadGraph(*cluster_, "ci");
  std::map<std::string, int64_t> entity_types;
  std::map<std::string, int64_t> entity_classes;
  std::map<std::string, int64_t> relationship_types;
  std::map<std::string, int64_t> relationship_classes;
  int64_t entities = 0;
  int64_t relationships = 0;
  for (const auto& [type, objects] : graph) {
    for (const auto& [key, line] : objects) {
      rapidjson::Document object;
      object.Parse(line.c_str());
      ASSERT_TRUE(object.IsObject()) << line;
      if (object["_class"].IsArray()) {  // an entity
        ++entities;
        ++entity_types[type];
        for (const rapidjson::Value& c : object["_class"].GetArray()) {
          ++entity_classes[c.GetString()];
        }
      } else {
        ++relationships;
        ++relationship_types[type];
        ++relationship_classes[object["_class"].GetString()];
      }
    }
  }
  ASSERT_GT(entities, 0);
  ASSERT_GT(relationships, 0);

  const CommandResult json =
      cluster_->Cli({"graph", "count", "--instance", "ci", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  std::vector<rapidjson::Document> lines = ParseLines(json.out);
  ASSERT_EQ(lines.size(), 1u) << json.out;
  const rapidjson::Document& count = lines[0];
  EXPECT_STREQ(count["instanceId"].GetString(), "ci");
  EXPECT_EQ(Int64Member(count, "entities"), entities);
  EXPECT_EQ(Int64Member(count, "relationships"), relationships);
  EXPECT_EQ(NameCounts(count["entityTypes"]), entity_types);
  EXPECT_EQ(NameCounts(count["entityClasses"]), entity_classes);
  EXPECT_EQ(NameCounts(count["relationshipTypes"]), relationship_types);
  EXPECT_EQ(NameCounts(count["relationshipClasses"]), relationship_classes);
  // The same snapshot as graph snapshot's.
  const CommandResult snapshot =
      cluster_->Cli({"graph", "snapshot", "--instance", "ci"});
  ASSERT_EQ(snapshot.exit_code, 0) << snapshot.err;
  EXPECT_TRUE(absl::StartsWith(
      snapshot.out, absl::StrCat("# as of sequence ",
                                 Int64Member(count, "asOfSequence"), "\n")));

  const CommandResult table =
      cluster_->Cli({"graph", "count", "--instance", "ci"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(absl::StartsWith(
      table.out,
      absl::StrCat("instance ci as of sequence ",
                   Int64Member(count, "asOfSequence"), ": ", entities,
                   " entities, ", relationships, " relationships\n\n")))
      << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "\nentity        circleci_account "))
      << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "KIND          CLASS")) << table.out;
}

TEST_P(OperatorCliTest, ExportFiltersByTypeAndClassInEveryFormat) {
  Ingest("ci");
  const std::map<std::string, size_t> counts =
      CountByType(ReadGraph(*cluster_, "ci"));
  const std::set<std::string> types = {"circleci_project", "circleci_pipeline",
                                       "circleci_project_has_pipeline"};
  ASSERT_TRUE(counts.contains("circleci_project_has_pipeline"));
  std::vector<std::string> type_flags;
  for (const std::string& type : types) {
    type_flags.insert(type_flags.end(), {"--type", type});
  }

  // jsonl: exactly the objects of those types.
  std::vector<std::string> args = {"graph", "export",   "--instance",
                                   "ci",    "--format", "jsonl"};
  args.insert(args.end(), type_flags.begin(), type_flags.end());
  const CommandResult jsonl = cluster_->Cli(args);
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  std::map<std::string, size_t> exported;
  for (const rapidjson::Document& object : ParseLines(jsonl.out)) {
    ++exported[object["_type"].GetString()];
  }
  std::map<std::string, size_t> expected;
  for (const std::string& type : types) expected[type] = counts.at(type);
  EXPECT_EQ(exported, expected);

  // dot: one node per entity, one edge per relationship between them.
  args[5] = "dot";
  const CommandResult dot = cluster_->Cli(args);
  ASSERT_EQ(dot.exit_code, 0) << dot.err;
  size_t nodes = 0;
  size_t edges = 0;
  for (absl::string_view line : absl::StrSplit(dot.out, '\n')) {
    if (absl::StrContains(line, " -> ")) {
      ++edges;
    } else if (absl::StrContains(line, "[label=")) {
      ++nodes;
    }
  }
  EXPECT_EQ(nodes,
            counts.at("circleci_project") + counts.at("circleci_pipeline"));
  EXPECT_EQ(edges, counts.at("circleci_project_has_pipeline"));
  EXPECT_TRUE(absl::EndsWith(dot.out, "}\n"));

  // --class (repeatable) alone: entities of either class and no relationship
  // of another class.
  const CommandResult classes =
      cluster_->Cli({"graph", "export", "--instance", "ci", "--format", "jsonl",
                     "--class", "Account", "--class", "User"});
  ASSERT_EQ(classes.exit_code, 0) << classes.err;
  std::map<std::string, size_t> by_type;
  for (const rapidjson::Document& object : ParseLines(classes.out)) {
    ++by_type[object["_type"].GetString()];
  }
  EXPECT_EQ(by_type, (std::map<std::string, size_t>{{"circleci_account", 1},
                                                    {"circleci_user", 1}}));
}

// Node ids and edges of a DOT export ("fold N" nodes stand for folded
// groups).
struct DotCounts {
  size_t nodes = 0;
  size_t fold_nodes = 0;
  size_t edges = 0;
};

DotCounts CountDot(const std::string& dot) {
  DotCounts counts;
  for (absl::string_view line : absl::StrSplit(dot, '\n')) {
    if (absl::StrContains(line, " -> ")) {
      ++counts.edges;
    } else if (absl::StrContains(line, "[label=")) {
      ++counts.nodes;
      if (absl::StartsWith(line, "  \"fold ")) ++counts.fold_nodes;
    }
  }
  return counts;
}

// Whether Graphviz, when installed, renders `dot` (tools/setup installs it).
void ExpectGraphvizRenders(const std::string& dot, const std::string& name) {
  constexpr char kDot[] = "/usr/bin/dot";
  if (access(kDot, X_OK) != 0) return;
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string input = absl::StrCat(tmp ? tmp : "/tmp", "/", name, ".dot");
  std::ofstream(input) << dot;
  const std::string command =
      absl::StrCat(kDot, " -Tpng -o /dev/null '", input, "'");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_P(OperatorCliTest, ExportAroundARootAndFoldedDot) {
  Ingest("ci");
  // The expectation, from the whole graph: each entity's relationships.
  std::set<std::string> entities;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      relationships_of;  // entity -> (relationship, other end)
  std::string root;
  for (const auto& [type, objects] : ReadGraph(*cluster_, "ci")) {
    for (const auto& [key, line] : objects) {
      rapidjson::Document object;
      object.Parse(line.c_str());
      ASSERT_TRUE(object.IsObject()) << line;
      if (object["_class"].IsArray()) {
        entities.insert(key);
        if (type == "circleci_project" && root.empty()) root = key;
        continue;
      }
      const std::string from = object["_fromEntityKey"].GetString();
      const std::string to = object["_toEntityKey"].GetString();
      relationships_of[from].emplace_back(key, to);
      relationships_of[to].emplace_back(key, from);
    }
  }
  ASSERT_FALSE(root.empty());
  // Within 2 hops of the root, either way; relationships of those within 1.
  std::map<std::string, int> distance = {{root, 0}};
  std::vector<std::string> frontier = {root};
  std::set<std::string> expected_relationships;
  for (int hop = 1; hop <= 2; ++hop) {
    std::vector<std::string> next;
    for (const std::string& key : frontier) {
      for (const auto& [relationship, other] : relationships_of[key]) {
        expected_relationships.insert(relationship);
        if (distance.emplace(other, hop).second) next.push_back(other);
      }
    }
    frontier = std::move(next);
  }
  std::set<std::string> expected_entities;
  for (const auto& [key, hops] : distance) expected_entities.insert(key);

  const CommandResult jsonl =
      cluster_->Cli({"graph", "export", "--instance", "ci", "--format", "jsonl",
                     "--root", root, "--depth", "2"});
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  std::set<std::string> exported_entities;
  std::set<std::string> exported_relationships;
  for (const rapidjson::Document& object : ParseLines(jsonl.out)) {
    (object["_class"].IsArray() ? exported_entities : exported_relationships)
        .insert(object["_key"].GetString());
  }
  EXPECT_EQ(exported_entities, expected_entities);
  EXPECT_EQ(exported_relationships, expected_relationships);
  ASSERT_LT(expected_entities.size(), entities.size()) << "not the whole graph";

  const CommandResult rooted_dot =
      cluster_->Cli({"graph", "export", "--instance", "ci", "--format", "dot",
                     "--root", root, "--depth", "2", "--fold", "0"});
  ASSERT_EQ(rooted_dot.exit_code, 0) << rooted_dot.err;
  EXPECT_EQ(CountDot(rooted_dot.out).nodes, expected_entities.size());
  ExpectGraphvizRenders(rooted_dot.out, "rooted");

  const CommandResult unknown =
      cluster_->Cli({"graph", "export", "--instance", "ci", "--format", "dot",
                     "--root", "circleci_project:nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(unknown.err, "NOT_FOUND")) << unknown.err;
  EXPECT_EQ(unknown.out, "");

  // The whole graph: 100 entities and no fan wider than 3 draw unfolded by
  // default, as with --fold 0; --fold 2 folds what fans out more.
  const CommandResult all =
      cluster_->Cli({"graph", "export", "--instance", "ci", "--format", "dot",
                     "--fold", "0"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(CountDot(all.out).nodes, entities.size());
  const CommandResult unfolded =
      cluster_->Cli({"graph", "export", "--instance", "ci", "--format", "dot"});
  ASSERT_EQ(unfolded.exit_code, 0) << unfolded.err;
  EXPECT_EQ(CountDot(unfolded.out).nodes, entities.size());
  EXPECT_EQ(CountDot(unfolded.out).fold_nodes, 0u);
  const CommandResult folded =
      cluster_->Cli({"graph", "export", "--instance", "ci", "--format", "dot",
                     "--fold", "2"});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  const DotCounts counts = CountDot(folded.out);
  EXPECT_GT(counts.fold_nodes, 0u);
  EXPECT_LT(counts.nodes, entities.size() / 2) << folded.out;
  EXPECT_TRUE(absl::StrContains(folded.out, "folded: groups of more than 2 "))
      << folded.out;
  EXPECT_TRUE(absl::EndsWith(folded.out, "}\n"));
  ExpectGraphvizRenders(folded.out, "folded");
}

INSTANTIATE_TEST_SUITE_P(Stores, OperatorCliTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

}  // namespace
}  // namespace graphmill::testing
