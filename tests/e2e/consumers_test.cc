// The consumers of docs/consumers.md (examples/consumers: Node and Python) as
// child processes against a real coordinator, worker and fake CircleCI: each
// connects over mTLS with a reader token, reads the backlog to the caught_up
// marker and prints every changed object from its object_json. What they print
// must be the graph the CLI reads, object for object (flat properties and raw
// data), in the numbers the dataset implies; a wrong token ends each with
// UNAUTHENTICATED; neither prints its token. A consumer that cannot run here
// (npm packages or Debian packages missing) fails the test with what to
// install: it is never skipped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "e2e-org";
constexpr char kUserId[] = "0b9a3c55-1d7e-4e4f-9b5e-3a7c2d1e0f23";
constexpr char kInstance[] = "ci";

// The generator's defaults, fewer projects and pipelines: a few hundred
// objects.
fakes::GeneratorOptions Generator() {
  fakes::GeneratorOptions options;
  options.seed = 23;
  options.login = kLogin;
  options.user_id = kUserId;
  options.projects_per_org = 2;
  options.pipelines_per_project = 2;
  return options;
}

bool Executable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// `name` on PATH, or "".
std::string Which(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (Executable(candidate)) return candidate;
  }
  return "";
}

// One consumer program: how to start it, and "" or why it cannot run here.
struct Consumer {
  std::string name;
  std::string binary;
  std::vector<std::string> args;
  std::string missing;
};

Consumer NodeConsumer() {
  Consumer consumer;
  consumer.name = "node";
  consumer.binary = Which("node");
  // Run from the runfiles tree, symlinks kept, so that require() finds the
  // packages this target lists as data rather than the source tree's.
  consumer.args = {"--preserve-symlinks", "--preserve-symlinks-main",
                   Runfile("examples/consumers/node/subscribe.js")};
  if (consumer.binary.empty()) {
    consumer.missing = "node is not on PATH: run tools/setup (nodejs, npm)";
  } else if (!Exists(Runfile("examples/consumers/node/node_modules/@grpc/"
                             "grpc-js/package.json")) ||
             !Exists(Runfile("examples/consumers/node/node_modules/@grpc/"
                             "proto-loader/package.json"))) {
    consumer.missing =
        "@grpc/grpc-js or @grpc/proto-loader is missing from "
        "examples/consumers/node/node_modules: run tools/setup (npm ci there)";
  }
  return consumer;
}

Consumer PythonConsumer() {
  Consumer consumer;
  consumer.name = "python";
  consumer.binary = "/usr/bin/python3";
  consumer.args = {Runfile("examples/consumers/python/subscribe.py")};
  if (!Executable(consumer.binary)) {
    consumer.missing = "/usr/bin/python3 is missing: run tools/setup";
  } else if (RunCommand(consumer.binary, {"-c", "import grpc"}).exit_code !=
             0) {
    consumer.missing =
        "/usr/bin/python3 cannot import grpc: run tools/setup "
        "(python3-grpcio)";
  } else if (Which("protoc").empty() || Which("grpc_python_plugin").empty()) {
    consumer.missing =
        "protoc or grpc_python_plugin is not on PATH: run tools/setup "
        "(protobuf-compiler, protobuf-compiler-grpc)";
  }
  return consumer;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether `expected` (JSON text) and `actual` are the same value, member
// order and number spelling aside (1 and 1.0 are equal): each consumer
// re-serializes the flat JSON with its own language's JSON library.
bool SameJson(const std::string& expected, const rapidjson::Value& actual) {
  rapidjson::Document document;
  document.Parse(expected.c_str());
  return !document.HasParseError() && document == actual;
}

class ConsumersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dataset = fakes::GenerateDataset(Generator());
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset_ = *std::move(dataset);
  }

  // The consumer's command line against the cluster: the CLI's connection
  // flags (server, CA, client certificate), which the examples share, with
  // `token_file`.
  std::vector<std::string> Args(const Consumer& consumer,
                                const std::string& token_file) {
    std::vector<std::string> args = consumer.args;
    for (const std::string& flag : cluster_->CliFlags()) {
      args.push_back(absl::StartsWith(flag, "--token-file=")
                         ? "--token-file=" + token_file
                         : flag);
    }
    args.insert(args.end(),
                {"--instance", kInstance, "--raw", "--until-caught-up",
                 "--proto-dir", Runfile("proto")});
    return args;
  }

  fakes::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(ConsumersTest, NodeAndPythonReadTheBacklogAsFlatJson) {
  // Before the cluster starts, so that a machine without the consumers'
  // packages fails in a second, saying what to install.
  const std::vector<Consumer> consumers = {NodeConsumer(), PythonConsumer()};
  for (const Consumer& consumer : consumers) {
    ASSERT_EQ(consumer.missing, "") << consumer.name << " consumer";
  }

  ClusterOptions options;
  options.workers = 1;
  options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(Generator(), 5));
  cluster_ = std::make_unique<Cluster>(options);
  absl::Status started = cluster_->Start();
  ASSERT_TRUE(started.ok()) << started;
  CommandResult created =
      CreateCircleCiInstance(*cluster_, kInstance, kLogin, kCircleCiToken);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  CommandResult run = cluster_->Cli({"run", "start", kInstance, "--watch"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // The graph as the CLI reads it (entities with raw data), and the numbers
  // the dataset implies, which do not depend on graphmill's code.
  const GraphByType expected = ReadGraph(*cluster_, kInstance);
  ASSERT_EQ(CountByType(expected), ExpectedCircleCiCounts(dataset_, kLogin));
  size_t expected_entities = 0;
  size_t expected_relationships = 0;
  for (const auto& [type, objects] : expected) {
    for (const auto& [key, json] : objects) {
      ++(absl::StrContains(json, "\"_fromEntityKey\"") ? expected_relationships
                                                       : expected_entities);
    }
  }
  const std::string reader_token = std::string(
      absl::StripAsciiWhitespace(ReadFile(cluster_->reader_token_file())));
  ASSERT_FALSE(reader_token.empty());
  const std::string wrong_token_file = cluster_->dir() + "/wrong.token";
  std::ofstream(wrong_token_file) << "gm_not-a-token-of-this-coordinator\n";

  for (const Consumer& consumer : consumers) {
    SCOPED_TRACE(consumer.name);
    const CommandResult result = RunCommand(
        consumer.binary, Args(consumer, cluster_->reader_token_file()),
        absl::Seconds(30));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_FALSE(absl::StrContains(result.out + result.err, reader_token))
        << "the token was printed";

    // Every change once, in sequence order; all created (one run).
    GraphByType printed;
    std::map<std::string, rapidjson::Document> objects;  // by _key
    int64_t last_sequence = 0;
    size_t entities = 0;
    size_t relationships = 0;
    for (absl::string_view line :
         absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
      rapidjson::Document change;
      change.Parse(line.data(), line.size());
      ASSERT_TRUE(!change.HasParseError() && change.IsObject() &&
                  change.HasMember("object") && change["object"].IsObject() &&
                  change["object"].HasMember("_key") &&
                  change["object"].HasMember("_type"))
          << line;
      int64_t sequence = 0;
      ASSERT_TRUE(change["sequence"].IsString() &&
                  absl::SimpleAtoi(change["sequence"].GetString(), &sequence))
          << line;
      EXPECT_GT(sequence, last_sequence) << line;
      last_sequence = sequence;
      EXPECT_STREQ(change["kind"].GetString(), "CHANGE_KIND_CREATED") << line;
      EXPECT_STREQ(change["instanceId"].GetString(), kInstance) << line;
      const std::string key = change["object"]["_key"].GetString();
      printed[change["object"]["_type"].GetString()][key] = "";
      ++(change["object"].HasMember("_fromEntityKey") ? relationships
                                                      : entities);
      rapidjson::Document& object = objects[key];
      EXPECT_TRUE(object.IsNull()) << "printed twice: " << key;
      object.CopyFrom(change["object"], object.GetAllocator());
    }
    EXPECT_EQ(CountByType(printed), CountByType(expected));
    // Each object exactly as the CLI shows it.
    int differences = 0;
    for (const auto& [type, by_key] : expected) {
      for (const auto& [key, json] : by_key) {
        auto found = objects.find(key);
        if (found == objects.end()) {
          ADD_FAILURE() << "not printed: " << key;
        } else if (!SameJson(json, found->second)) {
          ADD_FAILURE() << key << " differs from the CLI's " << json;
        } else {
          continue;
        }
        if (++differences == 5) break;
      }
      if (differences == 5) break;
    }
    // A known object, spelled out: the user from /me.
    auto user = objects.find(absl::StrCat("circleci_user:", kUserId));
    ASSERT_NE(user, objects.end());
    const rapidjson::Value& flat = user->second;
    EXPECT_STREQ(flat["_type"].GetString(), "circleci_user");
    ASSERT_TRUE(flat["_class"].IsArray() && flat["_class"].Size() == 1);
    EXPECT_STREQ(flat["_class"][0].GetString(), "User");
    ASSERT_TRUE(flat.HasMember("username") && flat["username"].IsString());
    EXPECT_STREQ(flat["username"].GetString(), kLogin);
    ASSERT_TRUE(flat.HasMember("active"));
    EXPECT_TRUE(flat["active"].IsTrue());
    ASSERT_TRUE(flat.HasMember("_rawData") && flat["_rawData"].IsArray() &&
                flat["_rawData"].Size() >= 1);
    EXPECT_STREQ(flat["_rawData"][0]["name"].GetString(), "default");
    EXPECT_TRUE(flat["_rawData"][0]["rawData"].IsObject());

    // The marker: after the backlog, at its last sequence, with the counts
    // the consumer's in-memory graph reached.
    EXPECT_TRUE(absl::StrContains(
        result.err, absl::StrCat("# caught up at sequence ", last_sequence,
                                 ": ", expected_entities, " entities, ",
                                 expected_relationships, " relationships\n")))
        << result.err;
    EXPECT_EQ(entities, expected_entities);
    EXPECT_EQ(relationships, expected_relationships);

    // The token is what lets it in: a wrong one ends it at once.
    const CommandResult refused = RunCommand(
        consumer.binary, Args(consumer, wrong_token_file), absl::Seconds(30));
    EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
    EXPECT_TRUE(absl::StrContains(refused.err, "UNAUTHENTICATED"))
        << refused.err;
    EXPECT_EQ(refused.out, "");
    EXPECT_FALSE(absl::StrContains(refused.err, "gm_not-a-token"))
        << "the token was printed";
  }
}

// While the coordinator cannot be reached (UNAVAILABLE), each consumer keeps
// trying, after the sequence it was given, waiting longer each time.
TEST_F(ConsumersTest, ReconnectWithGrowingWaitsWhileUnavailable) {
  const std::string token_file = NewTempDir("consumers") + "/token";
  std::ofstream(token_file) << "gm_unused\n";
  for (const Consumer& consumer : {NodeConsumer(), PythonConsumer()}) {
    SCOPED_TRACE(consumer.name);
    ASSERT_EQ(consumer.missing, "");
    std::vector<std::string> args = consumer.args;
    // Port 1 on loopback: nothing listens there, so every attempt is
    // refused at once.
    args.insert(args.end(),
                {"--server=127.0.0.1:1", "--token-file=" + token_file,
                 "--from=42", "--proto-dir=" + Runfile("proto")});
    // Killed after the time of the first two waits (250 + 500 ms) and start.
    const CommandResult result =
        RunCommand(consumer.binary, args, absl::Seconds(4));
    EXPECT_EQ(result.exit_code, -1) << "it gave up: " << result.err;
    EXPECT_TRUE(absl::StrContains(result.err, "UNAVAILABLE: ")) << result.err;
    for (const char* wait : {"250ms", "500ms", "1000ms"}) {
      EXPECT_TRUE(absl::StrContains(
          result.err, absl::StrCat("reconnecting in ", wait,
                                   " to resume after sequence 42\n")))
          << result.err;
    }
    EXPECT_EQ(result.out, "");
  }
}

}  // namespace
}  // namespace graphmill::testing
