// Tests of client/command_line.h: every command, both flag forms, config
// assembly and the exact wording of usage errors.
#include "client/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

namespace graphmill::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup FakeEnv(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) {
    auto it = variables.find(name);
    return it == variables.end() ? std::nullopt
                                 : std::optional<std::string>(it->second);
  };
}

absl::StatusOr<CommandLine> Parse(std::vector<std::string> args,
                                  std::map<std::string, std::string> env = {}) {
  return ParseCommandLine(args, FakeEnv(std::move(env)));
}

// The usage error `args` produce.
std::string ErrorOf(std::vector<std::string> args,
                    std::map<std::string, std::string> env = {}) {
  absl::StatusOr<CommandLine> line = Parse(std::move(args), std::move(env));
  if (line.ok()) return "(parsed)";
  EXPECT_EQ(line.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(line.status().message());
}

std::string WriteTempFile(const std::string& name, const std::string& content) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(ParseCommandLine, Defaults) {
  absl::StatusOr<CommandLine> line = Parse({"integration", "list"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command, Command::kIntegrationList);
  EXPECT_EQ(line->command_path, "integration list");
  EXPECT_FALSE(line->help);
  EXPECT_EQ(line->server, "127.0.0.1:7400");
  EXPECT_EQ(line->output, OutputFormat::kTable);
  EXPECT_EQ(line->timeout, absl::Seconds(30));
  EXPECT_EQ(line->token, "");
}

TEST(ParseCommandLine, ServerFromEnvironmentThenFlag) {
  EXPECT_EQ(
      Parse({"instance", "list"}, {{"GRAPHMILL_SERVER", "coord:9000"}})->server,
      "coord:9000");
  EXPECT_EQ(Parse({"instance", "list"}, {{"GRAPHMILL_SERVER", ""}})->server,
            "127.0.0.1:7400");
  EXPECT_EQ(Parse({"instance", "list", "--server", "a:1"},
                  {{"GRAPHMILL_SERVER", "coord:9000"}})
                ->server,
            "a:1");
  EXPECT_EQ(Parse({"--server=b:2", "instance", "list"})->server, "b:2");
  EXPECT_EQ(Parse({"instance", "list"}, {{"GRAPHMILL_TOKEN", "t0k"}})->token,
            "t0k");
}

TEST(ParseCommandLine, GlobalFlagsAnywhereInBothForms) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"--output", "json", "--timeout", "2.5", "run", "show", "7"},
           {"run", "--output=json", "show", "--timeout=2.5", "7"},
           {"run", "show", "7", "--timeout", "2.5", "--output", "json"},
       }) {
    absl::StatusOr<CommandLine> line = Parse(args);
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_EQ(line->command, Command::kRunShow);
    EXPECT_EQ(line->run_id, 7);
    EXPECT_EQ(line->output, OutputFormat::kJson);
    EXPECT_EQ(line->timeout, absl::Milliseconds(2500));
  }
}

TEST(ParseCommandLine, InstanceCommands) {
  absl::StatusOr<CommandLine> create = Parse(
      {"instance", "create", "ci-prod", "--integration", "circleci", "--config",
       "orgSlug=gh/acme", "--config=apiKey=a=b", "--config", "empty="});
  ASSERT_TRUE(create.ok()) << create.status();
  EXPECT_EQ(create->command, Command::kInstanceCreate);
  EXPECT_EQ(create->instance_id, "ci-prod");
  EXPECT_EQ(create->integration, "circleci");
  EXPECT_EQ(create->config,
            (std::map<std::string, std::string>{
                {"orgSlug", "gh/acme"}, {"apiKey", "a=b"}, {"empty", ""}}));

  EXPECT_EQ(Parse({"instance", "list"})->command, Command::kInstanceList);
  absl::StatusOr<CommandLine> get = Parse({"instance", "get", "ci-prod"});
  EXPECT_EQ(get->command, Command::kInstanceGet);
  EXPECT_EQ(get->instance_id, "ci-prod");
}

TEST(ParseCommandLine, RunCommands) {
  absl::StatusOr<CommandLine> start =
      Parse({"run", "start", "ci-prod", "--watch"});
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(start->command, Command::kRunStart);
  EXPECT_EQ(start->instance_id, "ci-prod");
  EXPECT_TRUE(start->watch);
  EXPECT_FALSE(Parse({"run", "start", "ci-prod"})->watch);

  absl::StatusOr<CommandLine> watch = Parse({"run", "watch", "12"});
  EXPECT_EQ(watch->command, Command::kRunWatch);
  EXPECT_EQ(watch->run_id, 12);
  EXPECT_EQ(Parse({"run", "show", "9"})->command, Command::kRunShow);

  absl::StatusOr<CommandLine> list =
      Parse({"run", "list", "--instance=ci-prod", "--limit", "5"});
  EXPECT_EQ(list->command, Command::kRunList);
  EXPECT_EQ(list->instance_id, "ci-prod");
  EXPECT_EQ(list->limit, 5);
  EXPECT_EQ(Parse({"run", "list"})->limit, 0);
}

TEST(ParseCommandLine, GraphCommands) {
  absl::StatusOr<CommandLine> entities =
      Parse({"graph", "entities", "--instance", "ci-prod",
             "--type=circleci_user", "--class", "User", "--limit=10", "--raw"});
  ASSERT_TRUE(entities.ok()) << entities.status();
  EXPECT_EQ(entities->command, Command::kGraphEntities);
  EXPECT_EQ(entities->instance_id, "ci-prod");
  EXPECT_EQ(entities->type, "circleci_user");
  EXPECT_EQ(entities->class_name, "User");
  EXPECT_EQ(entities->limit, 10);
  EXPECT_TRUE(entities->raw);

  absl::StatusOr<CommandLine> relationships = Parse(
      {"graph", "relationships", "--instance", "ci-prod", "--class", "HAS"});
  EXPECT_EQ(relationships->command, Command::kGraphRelationships);
  EXPECT_EQ(relationships->class_name, "HAS");

  absl::StatusOr<CommandLine> entity =
      Parse({"graph", "entity", "--instance", "ci-prod", "circleci_user:1"});
  EXPECT_EQ(entity->command, Command::kGraphEntity);
  EXPECT_EQ(entity->entity_key, "circleci_user:1");
  // After "--", a key may start with '-'.
  EXPECT_EQ(Parse({"graph", "entity", "--instance", "x", "--", "-odd-key"})
                ->entity_key,
            "-odd-key");
}

TEST(ParseCommandLine, ConfigFileIsOverriddenByFlagsWhereverTheyAre) {
  const std::string path = WriteTempFile(
      "config.json",
      R"({"apiKey": "from-file", "orgSlug": "gh/acme", "includeEnv": true, "limit": 1.50})");
  absl::StatusOr<CommandLine> line =
      Parse({"instance", "create", "ci", "--integration", "circleci",
             "--config", "apiKey=from-flag", "--config-file", path});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->config,
            (std::map<std::string, std::string>{{"apiKey", "from-flag"},
                                                {"orgSlug", "gh/acme"},
                                                {"includeEnv", "true"},
                                                {"limit", "1.50"}}));
}

TEST(ParseCommandLine, ConfigEnvReadsTheVariableAndLaterFlagsWin) {
  absl::StatusOr<CommandLine> line =
      Parse({"instance", "create", "ci", "--integration", "circleci",
             "--config", "apiKey=x", "--config-env", "apiKey=CIRCLE_TOKEN",
             "--config-env=org=ORG", "--config", "org=override"},
            {{"CIRCLE_TOKEN", "s3cret"}, {"ORG", "gh/acme"}});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->config, (std::map<std::string, std::string>{
                              {"apiKey", "s3cret"}, {"org", "override"}}));
}

TEST(ParseCommandLine, HelpWinsOnceTheCommandIsKnown) {
  struct Case {
    std::vector<std::string> args;
    std::string topic;
  };
  for (const Case& c : std::vector<Case>{
           {{"--help"}, ""},
           {{"-h"}, ""},
           {{"help"}, ""},
           {{"run", "--help"}, "run"},
           {{"help", "run"}, "run"},
           {{"run", "start", "-h"}, "run start"},
           {{"instance", "create", "--help", "--bogus"}, "instance create"},
           {{"help", "graph", "entities"}, "graph entities"},
       }) {
    absl::StatusOr<CommandLine> line = Parse(c.args);
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_TRUE(line->help);
    EXPECT_EQ(line->help_topic, c.topic);
  }
}

TEST(ParseCommandLine, UsageErrorsNameTheProblem) {
  EXPECT_EQ(ErrorOf({}), "missing command (try: graphmill --help)");
  EXPECT_EQ(ErrorOf({"foo"}), "unknown command 'foo' (try: graphmill --help)");
  EXPECT_EQ(ErrorOf({"help", "foo"}),
            "unknown command 'foo' (try: graphmill --help)");
  EXPECT_EQ(ErrorOf({"instance"}),
            "missing subcommand for 'graphmill instance' (expected: create, "
            "list, get)");
  EXPECT_EQ(ErrorOf({"run", "stop", "1"}),
            "unknown command 'run stop' (try: graphmill run --help)");
  EXPECT_EQ(ErrorOf({"run", "list", "--bogus"}),
            "unknown flag '--bogus' (try: graphmill run list --help)");
  EXPECT_EQ(ErrorOf({"-x", "run"}),
            "unknown flag '-x' (try: graphmill run --help)");
  EXPECT_EQ(ErrorOf({"run", "show", "1", "--watch"}),
            "flag '--watch' is not valid for 'graphmill run show' (try: "
            "graphmill run show "
            "--help)");
  EXPECT_EQ(ErrorOf({"run", "start", "x", "--watch=yes"}),
            "--watch takes no value");
  EXPECT_EQ(ErrorOf({"instance", "list", "--server"}),
            "--server expects a value (HOST:PORT)");
  EXPECT_EQ(ErrorOf({"instance", "list", "--server="}),
            "--server expects a value (HOST:PORT)");
  EXPECT_EQ(ErrorOf({"instance", "list", "--output", "yaml"}),
            "--output expects table or json, got 'yaml'");
  EXPECT_EQ(ErrorOf({"instance", "list", "--output", "json", "--output=table"}),
            "--output given more than once");
  EXPECT_EQ(ErrorOf({"instance", "list", "--timeout", "0"}),
            "--timeout expects a positive number of seconds, got '0'");
  EXPECT_EQ(ErrorOf({"instance", "list", "--timeout", "soon"}),
            "--timeout expects a positive number of seconds, got 'soon'");
  EXPECT_EQ(ErrorOf({"run", "list", "--limit", "-3"}),
            "--limit expects a positive integer, got '-3'");
  EXPECT_EQ(ErrorOf({"run", "show", "abc"}),
            "RUN_ID expects a positive integer, got 'abc'");
  EXPECT_EQ(ErrorOf({"instance", "get"}),
            "missing ID for 'graphmill instance get' (usage: graphmill "
            "instance get ID)");
  EXPECT_EQ(ErrorOf({"instance", "get", "a", "b"}),
            "unexpected argument 'b' for 'graphmill instance get'");
  EXPECT_EQ(ErrorOf({"instance", "create", "ci"}),
            "missing --integration NAME for 'graphmill instance create'");
  EXPECT_EQ(ErrorOf({"graph", "entities"}),
            "missing --instance ID for 'graphmill graph entities'");
  EXPECT_EQ(ErrorOf({"graph", "entity", "--instance", "x"}),
            "missing KEY for 'graphmill graph entity' (usage: graphmill graph "
            "entity --instance "
            "ID [--raw] KEY)");
}

TEST(ParseCommandLine, ConfigErrors) {
  const std::vector<std::string> create = {"instance", "create", "ci",
                                           "--integration", "c"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = create;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  EXPECT_EQ(ErrorOf(with({"--config", "abc"})),
            "--config expects KEY=VALUE, got 'abc'");
  EXPECT_EQ(ErrorOf(with({"--config", "=v"})),
            "--config expects KEY=VALUE, got '=v'");
  EXPECT_EQ(ErrorOf(with({"--config-env", "apiKey"})),
            "--config-env expects KEY=ENVVAR, got 'apiKey'");
  EXPECT_EQ(
      ErrorOf(with({"--config-env", "apiKey=CIRCLE_TOKEN"})),
      "--config-env apiKey: environment variable 'CIRCLE_TOKEN' is not set");
  EXPECT_EQ(ErrorOf(with({"--config-file", "/nonexistent/c.json"})),
            "--config-file '/nonexistent/c.json': cannot read: No such file or "
            "directory");
  const std::string path =
      WriteTempFile("broken.json", R"({"apiKey": "s3cret-value",)");
  const std::string broken = ErrorOf(with({"--config-file", path}));
  EXPECT_THAT(broken, HasSubstr("--config-file '" + path +
                                "': invalid JSON at offset "));
  EXPECT_THAT(broken, Not(HasSubstr("s3cret-value")));
  EXPECT_EQ(ErrorOf(with({"--config-file", path, "--config-file", path})),
            "--config-file given more than once");
}

TEST(ParseConfigJson, AcceptsFlatObjectsOfPrimitives) {
  absl::StatusOr<std::map<std::string, std::string>> config = ParseConfigJson(
      R"({"a": "x", "b": false, "c": 12345678901234567890, "d": -0.5})", "f");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config,
            (std::map<std::string, std::string>{{"a", "x"},
                                                {"b", "false"},
                                                {"c", "12345678901234567890"},
                                                {"d", "-0.5"}}));
}

TEST(ParseConfigJson, RejectsOtherShapes) {
  EXPECT_EQ(ParseConfigJson("[1]", "src").status().message(),
            "src: expected a JSON object of config values");
  EXPECT_EQ(ParseConfigJson(R"({"a": {"b": 1}})", "src").status().message(),
            "src: value of 'a' must be a string, boolean or number");
  EXPECT_EQ(ParseConfigJson(R"({"a": null})", "src").status().message(),
            "src: value of 'a' must be a string, boolean or number");
  EXPECT_EQ(ParseConfigJson("", "src").status().message(),
            "src: invalid JSON at offset 0: The document is empty.");
}

TEST(UsageText, CoversEveryCommand) {
  const std::string global = UsageText("");
  for (const char* command :
       {"integration list", "instance create", "instance list", "instance get",
        "run start", "run watch", "run show", "run list", "graph entities",
        "graph relationships", "graph entity"}) {
    EXPECT_THAT(global, HasSubstr(command));
    EXPECT_THAT(UsageText(command),
                HasSubstr(std::string("usage: graphmill ") + command));
  }
  EXPECT_THAT(global, HasSubstr("--server HOST:PORT"));
  EXPECT_THAT(UsageText("instance create"),
              HasSubstr("--config-env KEY=ENVVAR"));
  EXPECT_THAT(UsageText("run"), HasSubstr("graphmill run watch RUN_ID"));
  EXPECT_THAT(UsageText("run"), Not(HasSubstr("instance create")));
}

}  // namespace
}  // namespace graphmill::cli
