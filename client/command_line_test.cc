// Tests of client/command_line.h: every command, both flag forms, config
// assembly and the exact wording of usage errors.
#include "client/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "common/graph_objects.h"
#include "google/protobuf/util/message_differencer.h"

namespace graphmill::cli {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
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

TEST(ParseCommandLine, ShortOutputFlagInEveryForm) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"run", "list", "-o", "json"},
                                             {"run", "list", "-o=json"},
                                             {"-ojson", "run", "list"}}) {
    absl::StatusOr<CommandLine> line = Parse(args);
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_EQ(line->output, OutputFormat::kJson) << args[2];
  }
  EXPECT_EQ(ErrorOf({"run", "list", "-o", "yaml"}),
            "--output expects table or json, got 'yaml'");
  EXPECT_EQ(ErrorOf({"run", "list", "-o"}), "-o expects a value (table|json)");
}

TEST(ParseCommandLine, TyposGetADidYouMean) {
  EXPECT_EQ(ErrorOf({"instnce", "list"}),
            "unknown command 'instnce' (did you mean 'instance'?)");
  EXPECT_EQ(ErrorOf({"subscibe"}),
            "unknown command 'subscibe' (did you mean 'subscribe'?)");
  EXPECT_EQ(ErrorOf({"run", "stat", "x"}),
            "unknown command 'run stat' (did you mean 'run start'?)");
  EXPECT_EQ(ErrorOf({"graph", "entities", "--intance", "x"}),
            "unknown flag '--intance' (did you mean '--instance'?)");
}

TEST(ParseCommandLine, DescribeAndCompletionTakeTheirArgument) {
  absl::StatusOr<CommandLine> describe =
      Parse({"integration", "describe", "circleci"});
  ASSERT_TRUE(describe.ok()) << describe.status();
  EXPECT_EQ(describe->command, Command::kIntegrationDescribe);
  EXPECT_EQ(describe->integration, "circleci");
  absl::StatusOr<CommandLine> completion = Parse({"completion", "zsh"});
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(completion->command, Command::kCompletion);
  EXPECT_EQ(completion->shell, "zsh");
  EXPECT_EQ(ErrorOf({"completion", "tcsh"}),
            "completion: unknown shell 'tcsh' (expected bash, zsh or fish)");
}

TEST(ParseCommandLine, UsageErrorsNameTheProblem) {
  EXPECT_EQ(ErrorOf({}), "missing command (try: graphmill --help)");
  EXPECT_EQ(ErrorOf({"foo"}), "unknown command 'foo' (try: graphmill --help)");
  EXPECT_EQ(ErrorOf({"help", "foo"}),
            "unknown command 'foo' (try: graphmill --help)");
  EXPECT_EQ(ErrorOf({"instance"}),
            "missing subcommand for 'graphmill instance' (expected: create, "
            "list, get, update, delete, validate, webhooks install)");
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
       {"integration list",  "instance create", "instance list",
        "instance get",      "instance update", "instance delete",
        "instance validate", "run start",       "run watch",
        "run show",          "run list",        "run cancel",
        "run upload",        "graph entities",  "graph relationships",
        "graph entity",      "graph neighbors", "graph export",
        "graph count",       "graph snapshot",  "subscribe",
        "token create",      "token list",      "token revoke"}) {
    EXPECT_THAT(global, HasSubstr(command));
    EXPECT_THAT(UsageText(command),
                HasSubstr(std::string("usage: graphmill ") + command));
  }
  EXPECT_THAT(global, HasSubstr("--server HOST:PORT"));
  EXPECT_THAT(UsageText("instance create"),
              HasSubstr("--config-env KEY=ENVVAR"));
  EXPECT_THAT(UsageText("run"), HasSubstr("graphmill run watch RUN_ID"));
  EXPECT_THAT(UsageText("run"), Not(HasSubstr("instance create")));
  EXPECT_THAT(UsageText("instance update"), HasSubstr("--enable-step STEP"));
  EXPECT_THAT(UsageText("instance create"),
              Not(HasSubstr("--enable-step STEP")));
  EXPECT_THAT(UsageText("subscribe"),
              HasSubstr("--kind created|updated|deleted"));
  EXPECT_THAT(UsageText("subscribe"), HasSubstr("  --type RE "));
  EXPECT_THAT(UsageText("subscribe"), HasSubstr("  --class RE "));
  EXPECT_THAT(UsageText("graph entities"), HasSubstr("  --type TYPE "));
}

// --- instance settings -------------------------------------------------------

std::vector<std::string> Create(std::vector<std::string> extra) {
  std::vector<std::string> args = {"instance", "create", "ci", "--integration",
                                   "circleci"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> Update(std::vector<std::string> extra) {
  std::vector<std::string> args = {"instance", "update", "ci"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(ParseCommandLine, InstanceSettingsOnCreate) {
  absl::StatusOr<CommandLine> line =
      Parse(Create({"--schedule",
                    "4h",
                    "--jitter=180",
                    "--disable-step",
                    "fetch-envvars",
                    "--disable-step",
                    "fetch-jobs",
                    "--disable-step",
                    "fetch-envvars",
                    "--rate-limit",
                    "2.5",
                    "--j1-account",
                    "acct-1",
                    "--j1-token-env",
                    "J1_TOKEN",
                    "--j1-integration-instance",
                    "ii-1",
                    "--j1-base-url",
                    "https://api.eu.jupiterone.io",
                    "--j1-compress"}),
            {{"J1_TOKEN", "j1-s3cret"}});
  ASSERT_TRUE(line.ok()) << line.status();
  const InstanceSettings& settings = line->settings;
  EXPECT_EQ(settings.interval, v1::POLLING_INTERVAL_FOUR_HOURS);
  EXPECT_FALSE(settings.cron.has_value());
  EXPECT_EQ(settings.jitter_seconds, 180);
  EXPECT_THAT(settings.disable_steps,
              ElementsAre("fetch-envvars", "fetch-jobs"));
  EXPECT_EQ(settings.rate_limit_per_second, 2.5);
  EXPECT_EQ(settings.j1_account_id, "acct-1");
  EXPECT_EQ(settings.j1_api_token, "j1-s3cret");
  EXPECT_EQ(settings.j1_integration_instance_id, "ii-1");
  EXPECT_EQ(settings.j1_base_url, "https://api.eu.jupiterone.io");
  EXPECT_EQ(settings.j1_compress, true);
  EXPECT_FALSE(settings.no_upload);
  EXPECT_TRUE(settings.HasUploadFlags());
  EXPECT_TRUE(settings.Any());
  // Nothing given: nothing set.
  absl::StatusOr<CommandLine> plain = Parse(Create({}));
  EXPECT_FALSE(plain->settings.Any());
  EXPECT_FALSE(plain->settings.HasUploadFlags());
}

TEST(ParseCommandLine, EveryScheduleNameAndCron) {
  const std::map<std::string, v1::PollingInterval> names = {
      {"30m", v1::POLLING_INTERVAL_THIRTY_MINUTES},
      {"1h", v1::POLLING_INTERVAL_ONE_HOUR},
      {"4h", v1::POLLING_INTERVAL_FOUR_HOURS},
      {"8h", v1::POLLING_INTERVAL_EIGHT_HOURS},
      {"12h", v1::POLLING_INTERVAL_TWELVE_HOURS},
      {"1d", v1::POLLING_INTERVAL_ONE_DAY},
      {"1w", v1::POLLING_INTERVAL_ONE_WEEK},
      {"disabled", v1::POLLING_INTERVAL_DISABLED},
  };
  for (const auto& [name, interval] : names) {
    absl::StatusOr<CommandLine> line = Parse(Update({"--schedule", name}));
    ASSERT_TRUE(line.ok()) << name << ": " << line.status();
    EXPECT_EQ(line->settings.interval, interval) << name;
  }
  // Fields are kept, runs of blanks become one space.
  absl::StatusOr<CommandLine> cron =
      Parse(Update({"--cron", " 0  */6 * *\t*"}));
  ASSERT_TRUE(cron.ok()) << cron.status();
  EXPECT_EQ(cron->settings.cron, "0 */6 * * *");
  EXPECT_FALSE(cron->settings.interval.has_value());
}

TEST(ParseCommandLine, InstanceUpdateFlags) {
  absl::StatusOr<CommandLine> line = Parse(Update(
      {"--config", "orgSlug=gh/new", "--unset-config", "extraSlugs",
       "--unset-config", "extraSlugs", "--enable-step", "fetch-envvars",
       "--disable-step", "fetch-jobs", "--no-j1-compress", "--jitter", "0"}));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command, Command::kInstanceUpdate);
  EXPECT_EQ(line->instance_id, "ci");
  EXPECT_EQ(line->config,
            (std::map<std::string, std::string>{{"orgSlug", "gh/new"}}));
  EXPECT_THAT(line->unset_config, ElementsAre("extraSlugs"));
  EXPECT_THAT(line->settings.enable_steps, ElementsAre("fetch-envvars"));
  EXPECT_THAT(line->settings.disable_steps, ElementsAre("fetch-jobs"));
  EXPECT_EQ(line->settings.j1_compress, false);
  EXPECT_EQ(line->settings.jitter_seconds, 0);

  absl::StatusOr<CommandLine> no_upload = Parse(Update({"--no-upload"}));
  ASSERT_TRUE(no_upload.ok()) << no_upload.status();
  EXPECT_TRUE(no_upload->settings.no_upload);
  EXPECT_FALSE(no_upload->settings.HasUploadFlags());
  // On update, --jitter alone is fine: the stored schedule may have a cron.
  EXPECT_TRUE(Parse(Update({"--jitter", "60"})).ok());
  // A token alone is a change too.
  EXPECT_TRUE(Parse(Update({"--j1-token-env", "T"}), {{"T", "x"}}).ok());
}

TEST(ParseCommandLine, TokenFileIsTrimmedAndNeverEchoed) {
  const std::string path = WriteTempFile("j1-token", "  j1-file-s3cret\n\n");
  absl::StatusOr<CommandLine> line = Parse(Update({"--j1-token-file", path}));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->settings.j1_api_token, "j1-file-s3cret");

  const std::string empty = WriteTempFile("j1-empty", " \n");
  EXPECT_EQ(ErrorOf(Update({"--j1-token-file", empty})),
            "--j1-token-file '" + empty + "': file is empty");
  EXPECT_EQ(ErrorOf(Update({"--j1-token-file", "/nonexistent/t"})),
            "--j1-token-file '/nonexistent/t': cannot read: No such file or "
            "directory");
  const std::string big =
      WriteTempFile("j1-big", std::string(64 * 1024 + 1, 'x'));
  EXPECT_EQ(ErrorOf(Update({"--j1-token-file", big})),
            "--j1-token-file '" + big + "': larger than 65536 bytes");
}

TEST(ParseCommandLine, InstanceSettingErrors) {
  EXPECT_EQ(ErrorOf(Create({"--schedule", "2h"})),
            "--schedule expects 30m, 1h, 4h, 8h, 12h, 1d, 1w or disabled, got "
            "'2h'");
  EXPECT_EQ(ErrorOf(Create({"--schedule", "1h", "--cron", "0 * * * *"})),
            "--schedule and --cron cannot be used together");
  EXPECT_EQ(ErrorOf(Create({"--cron", "0 * *"})),
            "--cron expects five fields (minute hour day-of-month month "
            "day-of-week), got '0 * *'");
  EXPECT_EQ(ErrorOf(Create({"--schedule", "1h", "--jitter", "-1"})),
            "--jitter expects a non-negative number of seconds, got '-1'");
  EXPECT_EQ(ErrorOf(Create({"--schedule", "1h", "--jitter", "3m"})),
            "--jitter expects a non-negative number of seconds, got '3m'");
  EXPECT_EQ(ErrorOf(Create({"--schedule", "1h", "--jitter", "9999999999"})),
            "--jitter expects a non-negative number of seconds, got "
            "'9999999999'");
  EXPECT_EQ(ErrorOf(Create({"--jitter", "60"})),
            "--jitter needs --schedule or --cron");
  EXPECT_EQ(ErrorOf(Create({"--rate-limit", "-1"})),
            "--rate-limit expects a non-negative number of requests per "
            "second, got '-1'");
  EXPECT_EQ(ErrorOf(Create({"--rate-limit", "nan"})),
            "--rate-limit expects a non-negative number of requests per "
            "second, got 'nan'");
  EXPECT_EQ(ErrorOf(Create({"--enable-step", "x"})),
            "flag '--enable-step' is not valid for 'graphmill instance "
            "create' (try: graphmill instance create --help)");
  EXPECT_EQ(ErrorOf(Create({"--unset-config", "x"})),
            "flag '--unset-config' is not valid for 'graphmill instance "
            "create' (try: graphmill instance create --help)");
  EXPECT_EQ(ErrorOf(Update({"--disable-step", "a", "--enable-step", "a"})),
            "step 'a' is given to both --disable-step and --enable-step");
  EXPECT_EQ(ErrorOf(Update({"--config", "k=v", "--unset-config", "k"})),
            "config field 'k' is both set and unset");
  EXPECT_EQ(ErrorOf(Update({})),
            "nothing to change for 'graphmill instance update' (try: graphmill "
            "instance update --help)");
  EXPECT_EQ(
      ErrorOf({"instance", "update"}),
      "missing ID for 'graphmill instance update' (usage: graphmill "
      "instance update ID [--config KEY=VALUE]... [--config-file FILE] "
      "[--config-env KEY=ENVVAR]... [--unset-config KEY]... [--schedule "
      "INTERVAL | --cron EXPR] [--jitter SECONDS] [--disable-step "
      "STEP]... [--enable-step STEP]... [--rate-limit RPS] [--incremental "
      "on|off] [--look-back HOURS] [--full-run-every HOURS] [--j1-account "
      "ID] [--j1-token-env ENVVAR | --j1-token-file FILE] "
      "[--j1-integration-instance ID] [--j1-base-url URL] [--j1-compress "
      "| --no-j1-compress] [--no-upload])");
}

TEST(ParseCommandLine, UploadFlagErrors) {
  const std::map<std::string, std::string> env = {{"J1", "tok"}, {"EMPTY", ""}};
  EXPECT_EQ(ErrorOf(Update({"--j1-token-env", "NOPE"}), env),
            "--j1-token-env: environment variable 'NOPE' is not set");
  EXPECT_EQ(ErrorOf(Update({"--j1-token-env", "EMPTY"}), env),
            "--j1-token-env: environment variable 'EMPTY' is empty");
  const std::string path = WriteTempFile("j1-both", "tok\n");
  EXPECT_EQ(
      ErrorOf(Update({"--j1-token-env", "J1", "--j1-token-file", path}), env),
      "--j1-token-env and --j1-token-file cannot be used together");
  EXPECT_EQ(
      ErrorOf(Update({"--j1-token-file", path, "--j1-token-env", "J1"}), env),
      "--j1-token-env and --j1-token-file cannot be used together");
  // A literal token is refused without echoing it.
  const std::string literal =
      ErrorOf(Update({"--j1-token", "literal-s3cret"}), env);
  EXPECT_EQ(literal,
            "--j1-token is not accepted, so the token stays out of shell "
            "history and ps: use --j1-token-env ENVVAR or --j1-token-file "
            "FILE");
  EXPECT_EQ(ErrorOf(Update({"--j1-token=literal-s3cret"}), env), literal);
  EXPECT_EQ(ErrorOf(Update({"--j1-base-url", "ftp://j1"})),
            "--j1-base-url expects an http:// or https:// URL, got "
            "'ftp://j1'");
  EXPECT_EQ(ErrorOf(Update({"--j1-compress", "--no-j1-compress"})),
            "--j1-compress and --no-j1-compress cannot be used together");
  EXPECT_EQ(ErrorOf(Update({"--no-upload", "--j1-account", "a"})),
            "--no-upload cannot be used with --j1-* flags");
  EXPECT_EQ(ErrorOf(Create({"--no-upload"})),
            "flag '--no-upload' is not valid for 'graphmill instance create' "
            "(try: graphmill instance create --help)");
  EXPECT_EQ(ErrorOf(Create({"--j1-account", "a"})),
            "JupiterOne upload is incomplete: missing --j1-token-env ENVVAR "
            "or --j1-token-file FILE, --j1-integration-instance ID");
  EXPECT_EQ(ErrorOf(Create({"--j1-compress"})),
            "JupiterOne upload is incomplete: missing --j1-account ID, "
            "--j1-token-env ENVVAR or --j1-token-file FILE, "
            "--j1-integration-instance ID");
  EXPECT_EQ(
      ErrorOf(Create({"--j1-token-env", "J1", "--j1-account", "a"}), env),
      "JupiterOne upload is incomplete: missing --j1-integration-instance "
      "ID");
}

// --- instance delete/validate, run cancel/upload ----------------------------

TEST(ParseCommandLine, DeleteValidateCancelUpload) {
  absl::StatusOr<CommandLine> remove =
      Parse({"instance", "delete", "ci", "--yes"});
  ASSERT_TRUE(remove.ok()) << remove.status();
  EXPECT_EQ(remove->command, Command::kInstanceDelete);
  EXPECT_EQ(remove->instance_id, "ci");
  EXPECT_TRUE(remove->yes);
  EXPECT_FALSE(Parse({"instance", "delete", "ci"})->yes);
  EXPECT_EQ(Parse({"instance", "validate", "ci"})->command,
            Command::kInstanceValidate);

  absl::StatusOr<CommandLine> cancel = Parse({"run", "cancel", "12"});
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  EXPECT_EQ(cancel->command, Command::kRunCancel);
  EXPECT_EQ(cancel->run_id, 12);
  absl::StatusOr<CommandLine> upload = Parse({"run", "upload", "13"});
  EXPECT_EQ(upload->command, Command::kRunUpload);
  EXPECT_EQ(upload->run_id, 13);

  EXPECT_EQ(ErrorOf({"run", "cancel", "x"}),
            "RUN_ID expects a positive integer, got 'x'");
  EXPECT_EQ(ErrorOf({"instance", "validate", "ci", "--yes"}),
            "flag '--yes' is not valid for 'graphmill instance validate' (try: "
            "graphmill instance validate --help)");
  EXPECT_EQ(ErrorOf({"instance", "delete", "ci", "--yes=no"}),
            "--yes takes no value");
}

// --- instance webhooks install ---------------------------------------------

TEST(ParseCommandLine, InstanceWebhooksInstallIsASubgroupsCommand) {
  absl::StatusOr<CommandLine> line =
      Parse({"instance", "webhooks", "install", "ci", "--url",
             "https://hooks.example.com", "-o", "json"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command, Command::kInstanceWebhooksInstall);
  EXPECT_EQ(line->command_path, "instance webhooks install");
  EXPECT_EQ(line->instance_id, "ci");
  EXPECT_EQ(line->webhook_url, "https://hooks.example.com");
  EXPECT_EQ(line->output, OutputFormat::kJson);
  // Flags anywhere, = form too.
  line = Parse(
      {"--url=https://h.example", "instance", "webhooks", "install", "ci"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->webhook_url, "https://h.example");

  EXPECT_EQ(ErrorOf({"instance", "webhooks", "install", "ci"}),
            "missing --url URL for 'graphmill instance webhooks install'");
  EXPECT_EQ(ErrorOf({"instance", "webhooks", "install", "--url", "u"}),
            "missing ID for 'graphmill instance webhooks install' (usage: "
            "graphmill instance webhooks install ID --url URL)");
  EXPECT_EQ(ErrorOf({"instance", "webhooks"}),
            "missing subcommand for 'graphmill instance webhooks' (expected: "
            "install)");
  EXPECT_EQ(ErrorOf({"instance", "webhooks", "instal", "ci"}),
            "unknown command 'instance webhooks instal' (did you mean "
            "'instance webhooks install'?)");
  EXPECT_EQ(ErrorOf({"instance", "webhook", "install", "ci"}),
            "unknown command 'instance webhook' (did you mean 'instance "
            "webhooks'?)");
  EXPECT_EQ(ErrorOf({"instance", "get", "ci", "--url", "u"}),
            "flag '--url' is not valid for 'graphmill instance get' (try: "
            "graphmill instance get --help)");
  EXPECT_EQ(
      ErrorOf({"instance", "webhooks", "install", "ci", "--url", "u", "--yes"}),
      "flag '--yes' is not valid for 'graphmill instance webhooks "
      "install' (try: graphmill instance webhooks install --help)");

  // Help at each level.
  for (const auto& [args, topic] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"instance", "webhooks", "--help"}, "instance webhooks"},
           {{"instance", "webhooks", "install", "-h"},
            "instance webhooks install"},
           {{"help", "instance", "webhooks", "install"},
            "instance webhooks install"}}) {
    absl::StatusOr<CommandLine> help = Parse(args);
    ASSERT_TRUE(help.ok()) << help.status();
    EXPECT_TRUE(help->help);
    EXPECT_EQ(help->help_topic, topic);
  }
  EXPECT_THAT(UsageText("instance webhooks install"),
              HasSubstr("usage: graphmill instance webhooks install ID --url "
                        "URL\n"));
  EXPECT_THAT(UsageText("instance webhooks install"), HasSubstr("  --url URL"));
  EXPECT_THAT(
      UsageText("instance webhooks"),
      HasSubstr("  graphmill instance webhooks install ID --url URL\n"));
  EXPECT_THAT(
      UsageText("instance"),
      HasSubstr("  graphmill instance webhooks install ID --url URL\n"));
  EXPECT_THAT(UsageText(""), HasSubstr("  instance webhooks install "));
}

// --- graph
// --------------------------------------------------------------------

TEST(ParsePropertyValue, TypesFollowTheText) {
  struct Case {
    std::string text;
    v1::Value value;
  };
  for (const Case& c : std::vector<Case>{
           {"true", BoolValue(true)},
           {"false", BoolValue(false)},
           {"null", NullValue()},
           {"42", IntValue(42)},
           {"-7", IntValue(-7)},
           {"007", IntValue(7)},
           {"9223372036854775807", IntValue(9223372036854775807)},
           {"2.5", DoubleValue(2.5)},
           {"-0.5", DoubleValue(-0.5)},
           {".5", DoubleValue(0.5)},
           {"3.", DoubleValue(3)},
           {"1e3", DoubleValue(1000)},
           {"1.5E-2", DoubleValue(0.015)},
           {"api", StringValue("api")},
           {"True", StringValue("True")},
           {"NULL", StringValue("NULL")},
           {"", StringValue("")},
           {"-", StringValue("-")},
           {"+5", StringValue("+5")},
           {"1.2.3", StringValue("1.2.3")},
           {"12abc", StringValue("12abc")},
           {"1e", StringValue("1e")},
           {"e5", StringValue("e5")},
           {"nan", StringValue("nan")},
           {"inf", StringValue("inf")},
           {" 1", StringValue(" 1")},
           {"0x1F", StringValue("0x1F")},
       }) {
    absl::StatusOr<v1::Value> value = ParsePropertyValue(c.text);
    ASSERT_TRUE(value.ok()) << c.text << ": " << value.status();
    EXPECT_TRUE(MessageDifferencer::Equals(*value, c.value))
        << "'" << c.text << "' gave " << value->ShortDebugString();
  }
  EXPECT_EQ(ParsePropertyValue("9223372036854775808").status().message(),
            "integer '9223372036854775808' is out of range");
  EXPECT_EQ(ParsePropertyValue("1e999").status().message(),
            "number '1e999' is out of range");
}

TEST(ParseCommandLine, PropertyFilters) {
  absl::StatusOr<CommandLine> line = Parse(
      {"graph", "entities", "--instance", "ci", "--property", "active=true",
       "--property=count=3", "--property", "name=a=b", "--property-string",
       "id=42", "--property", "ratio=0.5", "--property", "gone=null"});
  ASSERT_TRUE(line.ok()) << line.status();
  ASSERT_EQ(line->properties.size(), 6u);
  EXPECT_TRUE(MessageDifferencer::Equals(line->properties.at("active"),
                                         BoolValue(true)));
  EXPECT_TRUE(
      MessageDifferencer::Equals(line->properties.at("count"), IntValue(3)));
  EXPECT_TRUE(MessageDifferencer::Equals(line->properties.at("name"),
                                         StringValue("a=b")));
  EXPECT_TRUE(
      MessageDifferencer::Equals(line->properties.at("id"), StringValue("42")));
  EXPECT_TRUE(MessageDifferencer::Equals(line->properties.at("ratio"),
                                         DoubleValue(0.5)));
  EXPECT_TRUE(
      MessageDifferencer::Equals(line->properties.at("gone"), NullValue()));
  EXPECT_TRUE(Parse({"graph", "relationships", "--instance", "ci", "--property",
                     "role=admin"})
                  .ok());

  EXPECT_EQ(ErrorOf({"graph", "entities", "--instance", "ci", "--property",
                     "novalue"}),
            "--property expects NAME=VALUE, got 'novalue'");
  EXPECT_EQ(ErrorOf({"graph", "entities", "--instance", "ci",
                     "--property-string", "=x"}),
            "--property-string expects NAME=VALUE, got '=x'");
  EXPECT_EQ(ErrorOf({"graph", "entities", "--instance", "ci", "--property",
                     "a=1", "--property-string", "a=1"}),
            "property 'a' given more than once");
  EXPECT_EQ(ErrorOf({"graph", "entities", "--instance", "ci", "--property",
                     "id=99999999999999999999"}),
            "--property id: integer '99999999999999999999' is out of range "
            "(use --property-string to match it as a string)");
  EXPECT_EQ(ErrorOf({"graph", "entity", "--instance", "ci", "--property", "a=1",
                     "k"}),
            "flag '--property' is not valid for 'graphmill graph entity' (try: "
            "graphmill graph entity --help)");
}

TEST(ParseCommandLine, GraphNeighborsExportSnapshot) {
  absl::StatusOr<CommandLine> neighbors =
      Parse({"graph", "neighbors", "--instance", "ci", "circleci_user:1",
             "--direction", "out", "--class", "HAS", "--raw"});
  ASSERT_TRUE(neighbors.ok()) << neighbors.status();
  EXPECT_EQ(neighbors->command, Command::kGraphNeighbors);
  EXPECT_EQ(neighbors->entity_key, "circleci_user:1");
  EXPECT_EQ(neighbors->direction, v1::DIRECTION_OUT);
  EXPECT_EQ(neighbors->class_name, "HAS");
  EXPECT_TRUE(neighbors->raw);
  EXPECT_EQ(
      Parse({"graph", "neighbors", "--instance", "ci", "k", "--direction=in"})
          ->direction,
      v1::DIRECTION_IN);
  EXPECT_EQ(Parse({"graph", "neighbors", "--instance", "ci", "k", "--direction",
                   "both"})
                ->direction,
            v1::DIRECTION_UNSPECIFIED);
  EXPECT_EQ(ErrorOf({"graph", "neighbors", "--instance", "ci", "k",
                     "--direction", "up"}),
            "--direction expects in, out or both, got 'up'");
  EXPECT_EQ(ErrorOf({"graph", "neighbors", "k"}),
            "missing --instance ID for 'graphmill graph neighbors'");
  EXPECT_EQ(ErrorOf({"graph", "neighbors", "--instance", "ci"}),
            "missing KEY for 'graphmill graph neighbors' (usage: graphmill "
            "graph neighbors --instance ID [--direction in|out|both] [--class "
            "CLASS] [--limit N] [--depth N] [--raw] KEY)");

  absl::StatusOr<CommandLine> dot =
      Parse({"graph", "export", "--instance", "ci", "--format", "dot"});
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_EQ(dot->command, Command::kGraphExport);
  EXPECT_EQ(dot->export_format, ExportFormat::kDot);
  EXPECT_EQ(
      Parse({"graph", "export", "--instance", "ci", "--format=jsonl", "--raw"})
          ->export_format,
      ExportFormat::kJsonLines);
  EXPECT_EQ(ErrorOf({"graph", "export", "--instance", "ci"}),
            "missing --format jsonl|dot for 'graphmill graph export'");
  EXPECT_EQ(ErrorOf({"graph", "export", "--instance", "ci", "--format", "svg"}),
            "--format expects jsonl or dot, got 'svg'");
  EXPECT_EQ(ErrorOf({"graph", "export", "--format", "dot"}),
            "missing --instance ID for 'graphmill graph export'");
  absl::StatusOr<CommandLine> filtered =
      Parse({"graph", "export", "--instance", "ci", "--format", "dot", "--type",
             "a", "--type=b", "--type", "a", "--class", "User"});
  ASSERT_TRUE(filtered.ok()) << filtered.status();
  EXPECT_THAT(filtered->types, ElementsAre("a", "b"));
  EXPECT_THAT(filtered->classes, ElementsAre("User"));
  EXPECT_EQ(filtered->type, "");
  EXPECT_EQ(ErrorOf({"graph", "export", "--instance", "ci", "--format", "dot",
                     "--property", "x=1"}),
            "flag '--property' is not valid for 'graphmill graph export' (try: "
            "graphmill graph export --help)");

  absl::StatusOr<CommandLine> count =
      Parse({"graph", "count", "--instance", "ci"});
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->command, Command::kGraphCount);
  EXPECT_EQ(count->instance_id, "ci");
  EXPECT_EQ(ErrorOf({"graph", "count"}),
            "missing --instance ID for 'graphmill graph count'");

  absl::StatusOr<CommandLine> snapshot =
      Parse({"graph", "snapshot", "--instance", "ci"});
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->command, Command::kGraphSnapshot);
  EXPECT_EQ(ErrorOf({"graph", "snapshot"}),
            "missing --instance ID for 'graphmill graph snapshot'");
}

// --- subscribe
// ----------------------------------------------------------------

TEST(ParseCommandLine, SubscribeIsATopLevelCommand) {
  absl::StatusOr<CommandLine> line =
      Parse({"subscribe",  "--instance", "a",      "--instance=b",
             "--instance", "a",          "--type", "circleci_.*",
             "--class",    "User|Team",  "--kind", "created",
             "--kind",     "deleted",    "--kind", "created",
             "--from",     "41",         "--raw",  "--until-caught-up"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command, Command::kSubscribe);
  EXPECT_EQ(line->command_path, "subscribe");
  EXPECT_THAT(line->instance_ids, ElementsAre("a", "b"));
  EXPECT_EQ(line->type, "circleci_.*");
  EXPECT_EQ(line->class_name, "User|Team");
  EXPECT_THAT(line->kinds,
              ElementsAre(v1::CHANGE_KIND_CREATED, v1::CHANGE_KIND_DELETED));
  EXPECT_EQ(line->after_sequence, 41);
  EXPECT_TRUE(line->raw);
  EXPECT_TRUE(line->until_caught_up);

  absl::StatusOr<CommandLine> defaults = Parse({"subscribe"});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_TRUE(defaults->instance_ids.empty());
  EXPECT_TRUE(defaults->kinds.empty());
  EXPECT_EQ(defaults->after_sequence, 0);
  EXPECT_FALSE(defaults->until_caught_up);
  EXPECT_EQ(Parse({"subscribe", "--from", "0"})->after_sequence, 0);

  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"subscribe", "--help"},
                                             {"help", "subscribe"}}) {
    absl::StatusOr<CommandLine> help = Parse(args);
    ASSERT_TRUE(help.ok()) << help.status();
    EXPECT_TRUE(help->help);
    EXPECT_EQ(help->help_topic, "subscribe");
  }
}

TEST(ParseCommandLine, SubscribeErrors) {
  EXPECT_EQ(ErrorOf({"subscribe", "--kind", "moved"}),
            "--kind expects created, updated or deleted, got 'moved'");
  EXPECT_EQ(ErrorOf({"subscribe", "--from", "-1"}),
            "--from expects a non-negative sequence number, got '-1'");
  EXPECT_EQ(ErrorOf({"subscribe", "--from", "x"}),
            "--from expects a non-negative sequence number, got 'x'");
  EXPECT_EQ(ErrorOf({"subscribe", "--type", "circleci_(user"}),
            "--type 'circleci_(user' is not a valid RE2 pattern: missing ): "
            "circleci_(user");
  EXPECT_THAT(ErrorOf({"subscribe", "--class", "*"}),
              HasSubstr("--class '*' is not a valid RE2 pattern: "));
  EXPECT_EQ(ErrorOf({"subscribe", "extra"}),
            "unexpected argument 'extra' for 'graphmill subscribe'");
  EXPECT_EQ(ErrorOf({"subscribe", "--bogus"}),
            "unknown flag '--bogus' (try: graphmill subscribe --help)");
  EXPECT_EQ(ErrorOf({"subscribe", "--limit", "3"}),
            "flag '--limit' is not valid for 'graphmill subscribe' (try: "
            "graphmill subscribe --help)");
  // --instance repeats only for subscribe.
  EXPECT_EQ(
      ErrorOf({"graph", "entities", "--instance", "a", "--instance", "b"}),
      "--instance given more than once");
}

// --- token -------------------------------------------------------------------

TEST(ParseCommandLine, TokenCommands) {
  absl::StatusOr<CommandLine> create =
      Parse({"token", "create", "ci-reader", "--role", "reader"});
  ASSERT_TRUE(create.ok()) << create.status();
  EXPECT_EQ(create->command, Command::kTokenCreate);
  EXPECT_EQ(create->command_path, "token create");
  EXPECT_EQ(create->token_name, "ci-reader");
  EXPECT_EQ(create->token_role, v1::TOKEN_ROLE_READER);
  EXPECT_EQ(create->instance_id, "");
  for (const auto& [name, role] :
       std::vector<std::pair<std::string, v1::TokenRole>>{
           {"admin", v1::TOKEN_ROLE_ADMIN},
           {"reader", v1::TOKEN_ROLE_READER},
           {"worker", v1::TOKEN_ROLE_WORKER}}) {
    absl::StatusOr<CommandLine> line =
        Parse({"--role=" + name, "token", "create", "x"});
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_EQ(line->token_role, role);
  }

  absl::StatusOr<CommandLine> list =
      Parse({"token", "list", "--output", "json"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->command, Command::kTokenList);
  EXPECT_EQ(list->output, OutputFormat::kJson);

  absl::StatusOr<CommandLine> revoke = Parse({"token", "revoke", "old"});
  ASSERT_TRUE(revoke.ok()) << revoke.status();
  EXPECT_EQ(revoke->command, Command::kTokenRevoke);
  EXPECT_EQ(revoke->token_name, "old");
}

TEST(ParseCommandLine, TokenErrors) {
  EXPECT_EQ(ErrorOf({"token", "create", "ci"}),
            "missing --role admin|reader|worker for 'graphmill token create'");
  EXPECT_EQ(ErrorOf({"token", "create", "ci", "--role", "owner"}),
            "--role expects admin, reader or worker, got 'owner'");
  EXPECT_EQ(ErrorOf({"token", "create", "--role", "admin"}),
            "missing NAME for 'graphmill token create' (usage: graphmill "
            "token create NAME --role admin|reader|worker)");
  EXPECT_EQ(ErrorOf({"token", "revoke", "ci", "--role", "admin"}),
            "flag '--role' is not valid for 'graphmill token revoke' (try: "
            "graphmill token revoke --help)");
  EXPECT_EQ(ErrorOf({"token", "list", "extra"}),
            "unexpected argument 'extra' for 'graphmill token list'");
  EXPECT_EQ(ErrorOf({"token"}),
            "missing subcommand for 'graphmill token' (expected: create, "
            "list, revoke)");
}

TEST(UsageText, TokenHelp) {
  EXPECT_THAT(UsageText("token"),
              HasSubstr("graphmill token create NAME --role "
                        "admin|reader|worker"));
  EXPECT_THAT(UsageText("token create"),
              HasSubstr("  --role admin|reader|worker"));
  EXPECT_THAT(UsageText("token create"), HasSubstr("shown only this once"));
  EXPECT_THAT(UsageText("token revoke"), HasSubstr("To rotate"));
}

}  // namespace
}  // namespace graphmill::cli
