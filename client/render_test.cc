// Tests of client/render.h.
#include "client/render.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "common/graph_objects.h"

namespace graphmill::cli {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kStartMs = 1711015200000;  // 2024-03-21T10:00:00Z

v1::StepRun Step(const std::string& id, v1::StepStatus status,
                 int64_t started_offset_ms, int64_t ended_offset_ms,
                 std::map<std::string, int64_t> counts) {
  v1::StepRun step;
  step.set_step_id(id);
  step.set_name(id);
  step.set_status(status);
  if (started_offset_ms >= 0)
    step.set_started_at_ms(kStartMs + started_offset_ms);
  if (ended_offset_ms >= 0) step.set_ended_at_ms(kStartMs + ended_offset_ms);
  for (const auto& [type, count] : counts)
    (*step.mutable_type_counts())[type] = count;
  if (!counts.empty()) {
    step.set_tasks_total(2);
    step.set_tasks_done(IsSettled(status) ? 2 : 1);
  }
  return step;
}

v1::Run RunningRun() {
  v1::Run run;
  run.set_id(12);
  run.set_instance_id("ci-prod");
  run.set_status(v1::RUN_STATUS_RUNNING);
  run.set_created_at_ms(kStartMs);
  *run.add_steps() = Step("fetch-account", v1::STEP_STATUS_SUCCESS, 0, 1200,
                          {{"circleci_account", 1}});
  *run.add_steps() =
      Step("fetch-users", v1::STEP_STATUS_RUNNING, 1200, -1,
           {{"circleci_user", 40}, {"circleci_account_has_user", 40}});
  *run.add_steps() =
      Step("fetch-pipelines", v1::STEP_STATUS_PENDING, -1, -1, {});
  *run.add_steps() =
      Step("fetch-envvars", v1::STEP_STATUS_DISABLED, -1, -1, {});
  return run;
}

TEST(Names, StripEnumPrefixes) {
  EXPECT_EQ(RunStatusName(v1::RUN_STATUS_PARTIAL), "PARTIAL");
  EXPECT_EQ(StepStatusName(v1::STEP_STATUS_FAILURE), "FAILURE");
  EXPECT_EQ(EventLevelName(v1::EVENT_LEVEL_WARN), "WARN");
  EXPECT_EQ(RunStatusName(static_cast<v1::RunStatus>(99)), "UNKNOWN");
}

TEST(RenderProgressLine, SplitsEntitiesAndRelationshipsWhenTypesAreKnown) {
  const std::set<std::string> relationship_types = {
      "circleci_account_has_user"};
  EXPECT_EQ(
      RenderProgressLine(RunningRun(), &relationship_types, kStartMs + 64'000),
      "run 12 RUNNING [##########----------] 2/4 steps  41 entities  40 "
      "relationships  "
      "1m04s");
  EXPECT_EQ(
      RenderProgressLine(RunningRun(), nullptr, kStartMs + 3'400),
      "run 12 RUNNING [##########----------] 2/4 steps  81 objects  3.4s");
}

TEST(RenderProgressLine, EndedRunStopsTheClock) {
  v1::Run run = RunningRun();
  run.set_status(v1::RUN_STATUS_SUCCEEDED);
  run.set_ended_at_ms(kStartMs + 5'000);
  EXPECT_THAT(RenderProgressLine(run, nullptr, kStartMs + 99'000),
              HasSubstr("  5.0s"));
}

TEST(RenderRunSummary, ShowsRunStepsAndEvents) {
  v1::GetRunResponse response;
  v1::Run& run = *response.mutable_run();
  run = RunningRun();
  run.set_status(v1::RUN_STATUS_PARTIAL);
  run.set_ended_at_ms(kStartMs + 184'000);
  run.set_created_count(81);
  run.set_updated_count(2);
  run.set_deleted_count(1);
  run.mutable_steps(1)->set_status(v1::STEP_STATUS_FAILURE);
  run.mutable_steps(1)->set_ended_at_ms(kStartMs + 3'000);
  run.mutable_steps(1)->set_error("HTTP 500 from /api/v2/me");
  run.mutable_steps(1)->set_tasks_done(2);
  v1::Event& event = *response.add_events();
  event.set_time_ms(kStartMs + 2'000);
  event.set_level(v1::EVENT_LEVEL_WARN);
  event.set_name("warn_missing_permission");
  event.set_step_id("fetch-users");
  event.set_description("403 on org users");
  v1::Event& started = *response.add_events();
  started.set_time_ms(kStartMs);
  started.set_level(v1::EVENT_LEVEL_INFO);
  started.set_name("run_start");

  EXPECT_EQ(RenderRunSummary(response, kStartMs + 999'000),
            "run       12\n"
            "status    PARTIAL\n"
            "instance  ci-prod\n"
            "created   2024-03-21T10:00:00Z\n"
            "ended     2024-03-21T10:03:04Z\n"
            "duration  3m04s\n"
            "changes   81 created, 2 updated, 1 deleted\n"
            "\n"
            "STEP             STATUS    DURATION  TASKS  COUNTS\n"
            "fetch-account    SUCCESS   1.2s      2/2    circleci_account=1\n"
            "fetch-users      FAILURE   1.8s      2/2    "
            "circleci_account_has_user=40 "
            "circleci_user=40\n"
            "fetch-pipelines  PENDING   -         -\n"
            "fetch-envvars    DISABLED  -         -\n"
            "\n"
            "Step errors:\n"
            "  fetch-users  HTTP 500 from /api/v2/me\n"
            "\n"
            "Events:\n"
            "TIME                  LEVEL  NAME                     "
            "STEP         DESCRIPTION\n"
            "2024-03-21T10:00:02Z  WARN   warn_missing_permission  "
            "fetch-users  403 on org users\n"
            "2024-03-21T10:00:00Z  INFO   run_start                -\n");
}

TEST(RenderRunSummary, RunErrorAndNoEvents) {
  v1::GetRunResponse response;
  response.mutable_run()->set_id(3);
  response.mutable_run()->set_status(v1::RUN_STATUS_FAILED);
  response.mutable_run()->set_error("invalid credentials");
  const std::string text = RenderRunSummary(response, kStartMs);
  EXPECT_THAT(text, HasSubstr("error     invalid credentials\n"));
  EXPECT_THAT(text, HasSubstr("Events:\n(none)\n"));
}

TEST(RenderRunEndLine, SuccessShowsChangesFailureShowsError) {
  v1::Run run;
  run.set_id(12);
  run.set_created_at_ms(kStartMs);
  run.set_ended_at_ms(kStartMs + 184'000);
  run.set_status(v1::RUN_STATUS_SUCCEEDED);
  run.set_created_count(120);
  run.set_updated_count(3);
  EXPECT_EQ(RenderRunEndLine(run),
            "run 12 SUCCEEDED in 3m04s: 120 created, 3 updated, 0 deleted");
  run.set_status(v1::RUN_STATUS_FAILED);
  run.set_error("invalid credentials:\nHTTP 401");
  EXPECT_EQ(RenderRunEndLine(run),
            "run 12 FAILED in 3m04s: invalid credentials: HTTP 401");
}

TEST(RenderEventLine, OneLineWithStep) {
  v1::Event event;
  event.set_time_ms(kStartMs + 2'000);
  event.set_level(v1::EVENT_LEVEL_WARN);
  event.set_name("warn_missing_permission");
  event.set_step_id("fetch-envvars");
  event.set_description("403 on\nproject x");
  EXPECT_EQ(RenderEventLine(event),
            "10:00:02Z WARN warn_missing_permission [fetch-envvars] 403 on "
            "project x");
}

TEST(RenderStepChangeLine, SettledStepsShowTheirWork) {
  v1::Run run = RunningRun();
  EXPECT_EQ(RenderStepChangeLine(run.steps(0), kStartMs + 9'000),
            "10:00:01Z step fetch-account SUCCESS 1.2s tasks 2/2 objects 1");
  EXPECT_EQ(RenderStepChangeLine(run.steps(1), kStartMs + 9'000),
            "10:00:01Z step fetch-users RUNNING");
  EXPECT_EQ(RenderStepChangeLine(run.steps(3), kStartMs + 9'000),
            "10:00:09Z step fetch-envvars DISABLED");
}

TEST(RenderRuns, OneRowPerRun) {
  v1::ListRunsResponse response;
  *response.add_runs() = RunningRun();
  EXPECT_EQ(RenderRuns(response, kStartMs + 2'000),
            "ID  INSTANCE  STATUS   STARTED               DURATION  STEPS  "
            "CHANGES   ERROR\n"
            "12  ci-prod   RUNNING  2024-03-21T10:00:00Z  2.0s      2/4    +0 "
            "~0 -0\n");
}

TEST(RenderInstance, ShowsConfigAsReturned) {
  v1::Instance instance;
  instance.set_id("ci-prod");
  instance.set_integration("circleci");
  instance.set_created_at_ms(kStartMs);
  (*instance.mutable_config())["orgSlug"] = "gh/acme";
  (*instance.mutable_config())["apiKey"] = "***";
  EXPECT_EQ(RenderInstance(instance),
            "id              ci-prod\n"
            "integration     circleci\n"
            "created         2024-03-21T10:00:00Z\n"
            "updated         -\n"
            "config.apiKey   ***\n"
            "config.orgSlug  gh/acme\n");
}

TEST(RenderEntities, KeyTypeClassesDisplayName) {
  v1::Entity user;
  user.set_key("circleci_user:1");
  user.set_type("circleci_user");
  user.add_classes("User");
  user.add_classes("Person");
  (*user.mutable_properties())["displayName"] = StringValue("Kim");
  v1::Entity odd;
  odd.set_key("circleci_thing:22");
  odd.set_type("circleci_thing");
  odd.add_classes("Resource");
  (*odd.mutable_properties())["displayName"] = IntValue(7);
  EXPECT_EQ(RenderEntities({user, odd}),
            "KEY                TYPE            CLASS        DISPLAY NAME\n"
            "circleci_user:1    circleci_user   User,Person  Kim\n"
            "circleci_thing:22  circleci_thing  Resource     7\n");
}

TEST(RenderEntity, PropertiesByNameAndRawDataOnRequest) {
  v1::Entity user;
  user.set_key("circleci_user:1");
  user.set_type("circleci_user");
  user.add_classes("User");
  (*user.mutable_properties())["name"] = StringValue("kim");
  (*user.mutable_properties())["active"] = BoolValue(true);
  v1::RawData* raw = user.add_raw_data();
  raw->set_name("default");
  raw->set_json(R"({"login":"kim"})");
  EXPECT_EQ(RenderEntity(user, false),
            "_key    circleci_user:1\n"
            "_type   circleci_user\n"
            "_class  User\n"
            "active  true\n"
            "name    kim\n");
  EXPECT_THAT(RenderEntity(user, true),
              HasSubstr("_rawData.default  {\"login\":\"kim\"}\n"));
}

TEST(RenderRelationships, EndpointsInColumns) {
  v1::Relationship relationship =
      DirectRelationship("circleci_account:1", "circleci_account", "HAS",
                         "circleci_user:1", "circleci_user");
  EXPECT_EQ(
      RenderRelationships({relationship}),
      "KEY                                     TYPE                       "
      "CLASS  FROM                TO\n"
      "circleci_account:1|has|circleci_user:1  circleci_account_has_user  "
      "HAS    circleci_account:1  circleci_user:1\n");
}

TEST(MessageToJsonLine, OneProto3JsonObjectPerLine) {
  v1::Run run;
  run.set_id(12);
  run.set_instance_id("ci-prod");
  run.set_status(v1::RUN_STATUS_SUCCEEDED);
  const std::string line = MessageToJsonLine(run);
  // One line, ending in a newline, that parses back to the same message (fields with
  // default values are printed too, so scripts see every field).
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_NE(line.find(R"("id":"12","instanceId":"ci-prod","status":"RUN_STATUS_SUCCEEDED")"),
            std::string::npos);
  EXPECT_NE(line.find(R"("deletedCount":"0")"), std::string::npos);
  v1::Run parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line.substr(0, line.size() - 1),
                                                          &parsed)
                  .ok());
  EXPECT_EQ(parsed.id(), 12);
  EXPECT_EQ(parsed.instance_id(), "ci-prod");
  EXPECT_EQ(parsed.status(), v1::RUN_STATUS_SUCCEEDED);
}

}  // namespace
}  // namespace graphmill::cli
