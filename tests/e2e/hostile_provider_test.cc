// A hostile provider across real processes (issue 10):
//
// - Items that echo the API token, in every spelling a server or proxy turns
//   it into, fail the converters and are quoted in the step error: no spelling
//   of the token reaches any process log, the run's events and errors (`run
//   show`, `run watch`, JSON or text), any other CLI output, or the store file;
//   the quoted item is there, with "***" for the token.
// - Entities with ~1 MB of raw data each: `graph entities`, `graph entity`,
//   `graph export` (jsonl and dot) and `graph snapshot` list every one of them,
//   with and without raw data.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "re2/re2.h"
#include "tests/e2e/expected_graph.h"
#include "tests/e2e/fake_control.h"

namespace graphmill::testing {
namespace {

// Characters that change under every encoding below ('/', '+', '?'), a
// standard base64 with a '/' (URL-safe: '_') and padding, and nothing a JSON
// writer escapes.
constexpr char kToken[] = "e2e/Hostile+Token.5f2c9A71?~";
constexpr char kLogin[] = "hostile-org";
constexpr char kInstance[] = "ci";
// Provider requests per second: the rate is not what these tests are about.
constexpr char kRateLimit[] = "1000";

// --- Spellings of a secret, computed here (not with the fake's or the
// product's code).

// Every byte but RFC 3986's unreserved ones as %XX; `upper` hex or lower.
std::string UrlEncode(absl::string_view text, bool upper) {
  std::string out;
  for (const char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else if (upper) {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02x", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// Every byte as %XX.
std::string PercentEncodeAll(absl::string_view text) {
  std::string out;
  for (const char c : text) {
    absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
  }
  return out;
}

struct SecretForm {
  std::string name;
  std::string text;
  bool ignore_case = false;
};

// The spellings of `secret` that must never show: raw in any letter case (so
// also upper and lower), base64 standard and URL-safe (unpadded, so the
// padded forms match too), percent-encoded with upper- or lower-case hex (case
// ignored), every byte percent-encoded, the JSON escape of '/', and a
// distinctive part of the raw token.
std::vector<SecretForm> SecretForms(const std::string& secret) {
  std::vector<SecretForm> forms = {
      {"raw (any case)", secret, true},
      {"raw, JSON-escaped '/'", absl::StrReplaceAll(secret, {{"/", "\\/"}}),
       true},
      {"base64", absl::Base64Escape(secret), false},
      {"base64url", absl::WebSafeBase64Escape(secret), false},
      {"percent-encoded (any hex case)", UrlEncode(secret, true), true},
      {"every byte percent-encoded", PercentEncodeAll(secret), true},
  };
  std::string base64 = absl::Base64Escape(secret);
  while (!base64.empty() && base64.back() == '=') base64.pop_back();
  forms.push_back({"base64 unpadded", base64, false});
  forms.push_back({"base64, JSON-escaped '/'",
                   absl::StrReplaceAll(base64, {{"/", "\\/"}}), false});
  forms.push_back({"part of the raw token", "Token.5f2c9A71", true});
  return forms;
}

// The names of the forms of kToken found in `text` (empty: none).
std::vector<std::string> Leaks(absl::string_view text) {
  static const std::vector<SecretForm>* const forms =
      new std::vector<SecretForm>(SecretForms(kToken));
  const std::string lower = absl::AsciiStrToLower(text);
  std::vector<std::string> found;
  for (const SecretForm& form : *forms) {
    if (form.ignore_case
            ? absl::StrContains(lower, absl::AsciiStrToLower(form.text))
            : absl::StrContains(text, form.text)) {
      found.push_back(form.name);
    }
  }
  return found;
}

// Where in `text` a form leaked, for the failure message (80 bytes around
// the first match of any form).
std::string LeakContext(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (const SecretForm& form : SecretForms(kToken)) {
    const size_t at = form.ignore_case
                          ? lower.find(absl::AsciiStrToLower(form.text))
                          : std::string(text).find(form.text);
    if (at == std::string::npos) continue;
    const size_t from = at < 80 ? 0 : at - 80;
    return absl::StrCat(form.name, ": ...",
                        text.substr(from, form.text.size() + 160), "...");
  }
  return "";
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// --- Token echo.

// Small, with every listing: 2 orgs, 4 projects, 8 pipelines, 16 workflows,
// 32 jobs, 8 project env vars, 2 contexts with restrictions and variables.
fakes::GeneratorOptions EchoDataOptions() {
  fakes::GeneratorOptions options;
  options.seed = 10;
  options.login = kLogin;
  options.orgs = 2;
  options.projects_per_org = 2;
  options.pipelines_per_project = 2;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 2;
  options.contexts_per_org = 1;
  options.env_vars_per_project = 2;
  options.env_vars_per_context = 2;
  options.project_restrictions_per_context = 1;
  return options;
}

struct EchoCase {
  std::string faults;  // the fake's fault syntax, comma-separated
  // The echoed item fails a converter, so the step's error quotes it.
  bool quoted = true;
};

// One listing per form, so every form is quoted by some step; then every form
// at once (the step quotes the first item), and on the restrictions listing,
// whose odd items are skipped without a word.
std::vector<EchoCase> EchoCases() {
  return {
      {"workflow-jobs:echo_token:form=raw"},
      {"envvar:echo_token:form=upper"},
      {"context-envvar:echo_token:form=lower"},
      {"pipeline-workflows:echo_token:form=base64"},
      {"me:echo_token:form=base64url"},
      {"context:echo_token:form=urlencoded"},
      {"pipeline:echo_token:form=urlencoded_lower"},
      {"collaborations:echo_token:form=all"},
      {"restrictions:echo_token:form=all", /*quoted=*/false},
  };
}

class TokenEchoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.workers = 2;
    options.fakes["circleci"] =
        CircleCiFake(FakeCircleCiFlags(EchoDataOptions(), 5), kToken);
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start().ok()) << cluster_->AllLogs();
    const CommandResult created = CreateCircleCiInstance(
        *cluster_, kInstance, kLogin, kToken, {"--rate-limit", kRateLimit});
    Record(created);
    ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  }

  // Keeps every output of the CLI (never its arguments, which hold the token
  // for `instance create`).
  void Record(const CommandResult& result) {
    absl::StrAppend(&transcript_, result.out, result.err, "\n");
  }
  CommandResult Cli(std::vector<std::string> args) {
    CommandResult result = cluster_->Cli(std::move(args));
    Record(result);
    return result;
  }

  std::unique_ptr<Cluster> cluster_;
  std::string transcript_;
};

// The forms the test looks for are found where they are.
TEST(SecretFormsTest, FindsEverySpelling) {
  const std::string token = kToken;
  for (const std::string& spelled :
       {token, absl::AsciiStrToUpper(token), absl::AsciiStrToLower(token),
        absl::Base64Escape(token), absl::WebSafeBase64Escape(token),
        UrlEncode(token, true), UrlEncode(token, false),
        PercentEncodeAll(token), absl::StrReplaceAll(token, {{"/", "\\/"}})}) {
    EXPECT_FALSE(Leaks(absl::StrCat("x \"", spelled, "\" y")).empty())
        << spelled;
  }
  EXPECT_EQ(absl::Base64Escape(token),
            "ZTJlL0hvc3RpbGUrVG9rZW4uNWYyYzlBNzE/fg==");
  EXPECT_EQ(UrlEncode(token, false), "e2e%2fHostile%2bToken.5f2c9A71%3f~");
  EXPECT_TRUE(Leaks("circleci_pipeline:5f2c9a71 Token ***").empty());
}

TEST_F(TokenEchoTest, NoSpellingOfTheTokenLeavesAnyProcess) {
  const std::string root = cluster_->fake_url("circleci");
  for (const EchoCase& echo : EchoCases()) {
    SCOPED_TRACE(echo.faults);
    ASSERT_NO_FATAL_FAILURE(
        Control(root, "POST", "/_control/faults",
                absl::StrCat(R"({"spec":")", echo.faults, R"("})")));
    absl::Cleanup clear = [&] { Control(root, "DELETE", "/_control/faults"); };

    // Full: every listing meets the faults.
    const CommandResult watched =
        Cli({"run", "start", kInstance, "--watch", "--full"});
    int64_t run = 0;
    ASSERT_TRUE(RE2::PartialMatch(watched.out, R"(run (\d+) started)", &run))
        << watched.out << watched.err;
    const std::string id = absl::StrCat(run);
    const CommandResult show = Cli({"run", "show", id});
    const CommandResult show_json = Cli({"run", "show", id, "--output=json"});
    const CommandResult watch = Cli({"run", "watch", id});
    const CommandResult watch_json = Cli({"run", "watch", id, "--output=json"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_EQ(show_json.exit_code, 0) << show_json.err;
    for (int64_t fired : FaultsFired(root)) EXPECT_GT(fired, 0);

    const std::string everything =
        absl::StrCat(watched.out, watched.err, show.out, show.err,
                     show_json.out, watch.out, watch.err, watch_json.out);
    EXPECT_TRUE(Leaks(everything).empty()) << LeakContext(everything);
    if (echo.quoted) {
      // The item was quoted (so a redaction that missed would show here), with
      // the token redacted.
      EXPECT_NE(watched.exit_code, 0) << watched.out << watched.err;
      EXPECT_TRUE(absl::StrContains(show.out, R"("id":5,"token":"***")"))
          << show.out;
      EXPECT_TRUE(absl::StrContains(show_json.out, R"(\"token\":\"***\")"))
          << show_json.out;
      EXPECT_TRUE(
          absl::StrContains(watched.out + watched.err, R"("token":"***")"))
          << watched.out << watched.err;
    } else {
      EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
      EXPECT_FALSE(absl::StrContains(show.out, R"("token")")) << show.out;
    }
  }

  // Nothing anywhere else either: other CLI output, every process log (the
  // fake's included), the store (secrets are encrypted there; an error or
  // event with the token would not be).
  Record(Cli({"run", "list"}));
  Record(Cli({"run", "list", "--output=json"}));
  Record(Cli({"instance", "get", kInstance, "--output=json"}));
  EXPECT_TRUE(Leaks(transcript_).empty()) << LeakContext(transcript_);
  const std::string logs = cluster_->AllLogs();
  EXPECT_TRUE(Leaks(logs).empty()) << LeakContext(logs);
  // The workers did report the items (so the logs were worth searching).
  EXPECT_TRUE(absl::StrContains(logs, R"("token":"***")")) << logs;
  const std::string store =
      absl::StrCat(ReadWholeFile(cluster_->dir() + "/graphmill.db"),
                   ReadWholeFile(cluster_->dir() + "/graphmill.db-wal"));
  ASSERT_FALSE(store.empty());
  EXPECT_TRUE(Leaks(store).empty()) << LeakContext(store);
}

// --- Large raw data.

constexpr int kLargeEntities = 50;
constexpr int64_t kPaddingBytes = 1000000;

// 50 pipelines (one project), each with a workflow and a job.
fakes::GeneratorOptions LargeDataOptions() {
  fakes::GeneratorOptions options;
  options.seed = 11;
  options.login = kLogin;
  options.orgs = 1;
  options.projects_per_org = 1;
  options.pipelines_per_project = kLargeEntities;
  options.workflows_per_pipeline = 1;
  options.jobs_per_workflow = 1;
  options.contexts_per_org = 0;
  options.env_vars_per_project = 0;
  options.env_vars_per_context = 0;
  options.project_restrictions_per_context = 0;
  return options;
}

// The lines of `text` that are JSON objects, parsed, by `_type`.
std::map<std::string, std::vector<std::string>> ObjectsByType(
    const std::string& text) {
  std::map<std::string, std::vector<std::string>> by_type;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "{")) continue;
    rapidjson::Document document;
    document.Parse(line.data(), line.size());
    if (document.HasParseError() || !document.HasMember("_type")) {
      ADD_FAILURE() << "not a graph object: " << line.substr(0, 200);
      continue;
    }
    by_type[document["_type"].GetString()].emplace_back(line);
  }
  return by_type;
}

std::map<std::string, size_t> Counts(
    const std::map<std::string, std::vector<std::string>>& by_type) {
  std::map<std::string, size_t> counts;
  for (const auto& [type, lines] : by_type) counts[type] = lines.size();
  return counts;
}

// The pipelines of `by_type` (none if absent: the counts say so).
std::vector<std::string> Pipelines(
    const std::map<std::string, std::vector<std::string>>& by_type) {
  auto found = by_type.find("circleci_pipeline");
  return found == by_type.end() ? std::vector<std::string>() : found->second;
}

// Bytes of the "padding" member of the default raw data of the entity `line`
// (flat JSON); -1 without raw data.
int64_t RawPaddingBytes(const std::string& line) {
  rapidjson::Document document;
  document.Parse(line.c_str(), line.size());
  if (document.HasParseError() || !document.HasMember("_rawData")) return -1;
  for (const rapidjson::Value& raw : document["_rawData"].GetArray()) {
    if (std::string(raw["name"].GetString()) != "default") continue;
    const rapidjson::Value& data = raw["rawData"];
    if (!data.IsObject() || !data.HasMember("padding")) return 0;
    return data["padding"].GetStringLength();
  }
  return -1;
}

class LargeRawDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions options;
    options.workers = 2;
    std::vector<std::string> circleci_flags =
        FakeCircleCiFlags(LargeDataOptions(), 20);
    circleci_flags.push_back("--pad_route=pipeline");
    circleci_flags.push_back(absl::StrCat("--pad_item_bytes=", kPaddingBytes));
    options.fakes["circleci"] = CircleCiFake(std::move(circleci_flags));
    cluster_ = new Cluster(options);
    absl::Status started = cluster_->Start();
    if (!started.ok()) {
      setup_error_ = new std::string(started.ToString());
      return;
    }
    const CommandResult created =
        CreateCircleCiInstance(*cluster_, kInstance, kLogin, kCircleCiToken,
                               {"--rate-limit", kRateLimit});
    const CommandResult run =
        cluster_->Cli({"run", "start", kInstance, "--watch"});
    if (created.exit_code != 0 || run.exit_code != 0) {
      setup_error_ = new std::string(absl::StrCat(
          created.out, created.err, run.out, run.err, cluster_->AllLogs()));
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_error_, nullptr) << *setup_error_; }

  // The whole expected graph: every type and its count.
  static std::map<std::string, size_t> Expected() {
    return ExpectedCircleCiCounts(*fakes::GenerateDataset(LargeDataOptions()),
                                  kLogin);
  }
  static std::map<std::string, size_t> ExpectedEntities() {
    std::map<std::string, size_t> entities;
    for (const auto& [type, count] : Expected()) {
      if (!absl::StrContains(type, "_has_") &&
          !absl::StrContains(type, "_uses_")) {
        entities[type] = count;
      }
    }
    return entities;
  }

  static Cluster* cluster_;
  static std::string* setup_error_;
};

Cluster* LargeRawDataTest::cluster_ = nullptr;
std::string* LargeRawDataTest::setup_error_ = nullptr;

TEST_F(LargeRawDataTest, EntitiesListsEveryEntityWithAndWithoutRawData) {
  ASSERT_EQ(ExpectedEntities().at("circleci_pipeline"),
            static_cast<size_t>(kLargeEntities));
  const CommandResult json = cluster_->Cli(
      {"graph", "entities", "--instance", kInstance, "--output=json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto entities = ObjectsByType(json.out);
  EXPECT_EQ(Counts(entities), ExpectedEntities());
  EXPECT_FALSE(absl::StrContains(json.out, "_rawData"));
  EXPECT_LT(json.out.size(), 1000000u);

  const CommandResult raw =
      cluster_->Cli({"graph", "entities", "--instance", kInstance, "--type",
                     "circleci_pipeline", "--raw", "--output=json"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  const auto pipelines = ObjectsByType(raw.out);
  ASSERT_EQ(pipelines.size(), 1u);
  ASSERT_EQ(pipelines.begin()->second.size(),
            static_cast<size_t>(kLargeEntities));
  for (const std::string& line : pipelines.begin()->second) {
    EXPECT_EQ(RawPaddingBytes(line), kPaddingBytes) << line.substr(0, 300);
  }

  const CommandResult table =
      cluster_->Cli({"graph", "entities", "--instance", kInstance});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  int pipeline_rows = 0;
  for (absl::string_view line : absl::StrSplit(table.out, '\n')) {
    pipeline_rows += absl::StartsWith(line, "circleci_pipeline:");
  }
  EXPECT_EQ(pipeline_rows, kLargeEntities);

  // One entity with its raw data.
  rapidjson::Document first;
  first.Parse(pipelines.begin()->second[0].c_str());
  const std::string key = first["_key"].GetString();
  const CommandResult one =
      cluster_->Cli({"graph", "entity", "--instance", kInstance, "--raw",
                     "--output=json", "--", key});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(RawPaddingBytes(one.out), kPaddingBytes) << one.out.substr(0, 300);
  EXPECT_GT(one.out.size(), static_cast<size_t>(kPaddingBytes));
}

TEST_F(LargeRawDataTest, ExportListsTheWholeGraph) {
  const CommandResult jsonl = cluster_->Cli(
      {"graph", "export", "--instance", kInstance, "--format", "jsonl"});
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  EXPECT_EQ(Counts(ObjectsByType(jsonl.out)), Expected());
  EXPECT_FALSE(absl::StrContains(jsonl.out, "_rawData"));

  const CommandResult raw =
      cluster_->Cli({"graph", "export", "--instance", kInstance, "--format",
                     "jsonl", "--raw"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  const auto objects = ObjectsByType(raw.out);
  EXPECT_EQ(Counts(objects), Expected());
  for (const std::string& line : Pipelines(objects)) {
    EXPECT_EQ(RawPaddingBytes(line), kPaddingBytes) << line.substr(0, 300);
  }
  EXPECT_GT(raw.out.size(),
            static_cast<size_t>(kLargeEntities * kPaddingBytes));

  // Every node, unfolded (--fold 0): the whole graph, streamed page by page.
  const CommandResult dot =
      cluster_->Cli({"graph", "export", "--instance", kInstance, "--format",
                     "dot", "--fold", "0"});
  ASSERT_EQ(dot.exit_code, 0) << dot.err;
  EXPECT_TRUE(absl::StartsWith(dot.out, "digraph")) << dot.out.substr(0, 200);
  EXPECT_TRUE(absl::EndsWith(dot.out, "}\n")) << dot.out.size();
  int pipeline_nodes = 0;
  for (absl::string_view line : absl::StrSplit(dot.out, '\n')) {
    pipeline_nodes += absl::StrContains(line, "\"circleci_pipeline:") &&
                      !absl::StrContains(line, "->");
  }
  EXPECT_EQ(pipeline_nodes, kLargeEntities) << dot.out.substr(0, 2000);
}

TEST_F(LargeRawDataTest, SnapshotListsTheWholeGraph) {
  for (const bool with_raw : {false, true}) {
    SCOPED_TRACE(with_raw ? "--raw" : "without raw data");
    std::vector<std::string> args = {"graph", "snapshot", "--instance",
                                     kInstance};
    if (with_raw) args.push_back("--raw");
    const CommandResult snapshot = cluster_->Cli(args);
    ASSERT_EQ(snapshot.exit_code, 0) << snapshot.err;
    EXPECT_TRUE(RE2::PartialMatch(snapshot.out, R"(^# as of sequence \d+\n)"))
        << snapshot.out.substr(0, 200);
    const auto objects = ObjectsByType(snapshot.out);
    EXPECT_EQ(Counts(objects), Expected());
    for (const std::string& line : Pipelines(objects)) {
      EXPECT_EQ(RawPaddingBytes(line), with_raw ? kPaddingBytes : -1);
    }
  }
}

}  // namespace
}  // namespace graphmill::testing
