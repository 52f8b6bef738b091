// Tests of client/render.h.
#include "client/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/json_output.h"
#include "common/graph_objects.h"

namespace graphmill::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
      "run 12 RUNNING [##########----------] 2/4 steps  tasks 3/4  41 "
      "entities  40 relationships  1m04s  1 objects/s  ETA 22s");
  EXPECT_EQ(RenderProgressLine(RunningRun(), nullptr, kStartMs + 3'400),
            "run 12 RUNNING [##########----------] 2/4 steps  tasks 3/4  81 "
            "objects  3.4s  24 objects/s  ETA 2s");
}

// A running task's objects count as they arrive, before the task ends.
TEST(RenderProgressLine, CountsObjectsOfRunningTasksAsTheyArrive) {
  const std::set<std::string> relationship_types = {
      "circleci_account_has_user"};
  v1::Run run = RunningRun();
  (*run.mutable_steps(1)->mutable_arriving_type_counts())["circleci_user"] = 7;
  (*run.mutable_steps(1)
        ->mutable_arriving_type_counts())["circleci_account_has_user"] = 5;
  EXPECT_EQ(RenderProgressLine(run, &relationship_types, kStartMs + 64'000),
            "run 12 RUNNING [##########----------] 2/4 steps  tasks 3/4  48 "
            "entities  45 relationships  1m04s  1 objects/s  ETA 22s");
}

// 3 of 4 tasks done in 64 s: the last one at that pace needs 21.3 s more.
TEST(EstimateRemainingMs, ScalesTheTimeSoFarByTheTasksLeft) {
  EXPECT_EQ(EstimateRemainingMs(RunningRun(), kStartMs + 64'000), 21'333);
  v1::Run run = RunningRun();
  run.mutable_steps(1)->set_tasks_total(12);  // 3 of 14 done
  EXPECT_EQ(EstimateRemainingMs(run, kStartMs + 6'000), 22'000);
}

TEST(EstimateRemainingMs, EmptyWhenItWouldMeanNothing) {
  v1::Run none_done = RunningRun();
  for (v1::StepRun& step : *none_done.mutable_steps()) step.set_tasks_done(0);
  EXPECT_EQ(EstimateRemainingMs(none_done, kStartMs + 10'000), std::nullopt);

  v1::Run all_done = RunningRun();
  all_done.mutable_steps(1)->set_tasks_done(2);  // later steps: not planned
  EXPECT_EQ(EstimateRemainingMs(all_done, kStartMs + 10'000), std::nullopt);

  v1::Run ended = RunningRun();
  ended.set_status(v1::RUN_STATUS_FAILED);
  ended.set_ended_at_ms(kStartMs + 5'000);
  EXPECT_EQ(EstimateRemainingMs(ended, kStartMs + 10'000), std::nullopt);

  // Under a second in, one quick task says little about the rest.
  EXPECT_EQ(EstimateRemainingMs(RunningRun(), kStartMs + 999), std::nullopt);

  v1::Run no_steps = RunningRun();
  no_steps.clear_steps();
  EXPECT_EQ(EstimateRemainingMs(no_steps, kStartMs + 10'000), std::nullopt);
}

TEST(RenderProgressLine, NoEtaWithoutAnEstimate) {
  v1::Run run = RunningRun();
  run.mutable_steps(1)->set_tasks_done(2);
  EXPECT_THAT(RenderProgressLine(run, nullptr, kStartMs + 10'000),
              Not(HasSubstr("ETA")));
}

TEST(FormatEta, RoundsUpToWholeSeconds) {
  EXPECT_EQ(FormatEta(0), "1s");
  EXPECT_EQ(FormatEta(1), "1s");
  EXPECT_EQ(FormatEta(1'000), "1s");
  EXPECT_EQ(FormatEta(1'001), "2s");
  EXPECT_EQ(FormatEta(59'000), "59s");
  EXPECT_EQ(FormatEta(59'001), "1m00s");
  EXPECT_EQ(FormatEta(64'000), "1m04s");
  EXPECT_EQ(FormatEta(7'380'000), "2h03m00s");
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
  v1::IncompleteType* jobs = run.add_incomplete_types();
  jobs->set_type("circleci_job");
  jobs->set_reason(
      "parent circleci_workflow incomplete: HTTP 403 on GET "
      "/pipeline/{id}/workflow for 48 circleci_pipeline entities");
  jobs->set_error(true);
  v1::IncompleteType* users = run.add_incomplete_types();
  users->set_type("circleci_user");
  users->set_reason("step 'fetch-users' failed: HTTP 500 from /api/v2/me");
  users->set_error(true);
  users->set_all_kept(true);
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
            "trigger   -\n"
            "mode      full\n"
            "created   2024-03-21T10:00:00Z\n"
            "started   -\n"
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
            "Incomplete types (kept, not deleted):\n"
            "TYPE           KEPT             WHY\n"
            "circleci_job   unlisted scopes  parent circleci_workflow "
            "incomplete: HTTP 403 on GET /pipeline/{id}/workflow for 48 "
            "circleci_pipeline entities\n"
            "circleci_user  all              step 'fetch-users' failed: HTTP "
            "500 from /api/v2/me\n"
            "\n"
            "Events:\n"
            "TIME                  LEVEL  NAME                     "
            "STEP         DESCRIPTION\n"
            "2024-03-21T10:00:02Z  WARN   warn_missing_permission  "
            "fetch-users  403 on org users\n"
            "2024-03-21T10:00:00Z  INFO   run_start                -\n");
}

TEST(RenderRunSummary, DurationShowsStepsFinalizeAndUploadApart) {
  v1::GetRunResponse response;
  v1::Run& run = *response.mutable_run();
  run = RunningRun();
  run.set_status(v1::RUN_STATUS_SUCCEEDED);
  run.set_finalize_started_at_ms(kStartMs + 4'400);
  run.set_finalized_at_ms(kStartMs + 5'600);
  run.set_ended_at_ms(kStartMs + 5'600);
  // Before the upload starts: no upload part.
  run.mutable_upload()->set_state(v1::UPLOAD_STATE_PENDING);
  EXPECT_THAT(RenderRunSummary(response, kStartMs + 9'000),
              HasSubstr("duration  5.6s (steps 4.4s, finalize 1.2s)\n"));
  // Under way: counts up to now.
  run.mutable_upload()->set_state(v1::UPLOAD_STATE_UPLOADING);
  run.mutable_upload()->set_started_at_ms(kStartMs + 5'700);
  EXPECT_THAT(
      RenderRunSummary(response, kStartMs + 5'800),
      HasSubstr("duration  5.8s (steps 4.4s, finalize 1.2s, upload 100ms)\n"))
      << "the total includes the upload so far";
  run.mutable_upload()->set_state(v1::UPLOAD_STATE_SUCCEEDED);
  run.mutable_upload()->set_ended_at_ms(kStartMs + 6'000);
  EXPECT_THAT(
      RenderRunSummary(response, kStartMs + 99'000),
      HasSubstr("duration  6.0s (steps 4.4s, finalize 1.2s, upload 300ms)\n"));
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
  v1::Run& scheduled = *response.add_runs();
  scheduled = RunningRun();
  scheduled.set_id(11);
  scheduled.set_trigger(v1::RUN_TRIGGER_SCHEDULE);
  scheduled.set_status(v1::RUN_STATUS_SUCCEEDED);
  scheduled.set_ended_at_ms(kStartMs + 1'000);
  scheduled.mutable_upload()->set_state(v1::UPLOAD_STATE_FAILED);
  scheduled.mutable_upload()->set_error("HTTP 401 from JupiterOne");
  response.mutable_runs(0)->set_trigger(v1::RUN_TRIGGER_MANUAL);
  EXPECT_EQ(
      RenderRuns(response, kStartMs + 2'000),
      "ID  INSTANCE  TRIGGER   STATUS     STARTED               DURATION  "
      "STEPS  CHANGES   UPLOAD  ERROR\n"
      "12  ci-prod   MANUAL    RUNNING    2024-03-21T10:00:00Z  2.0s      "
      "2/4    +0 ~0 -0  -\n"
      "11  ci-prod   SCHEDULE  SUCCEEDED  2024-03-21T10:00:00Z  1.0s      "
      "2/4    +0 ~0 -0  FAILED  upload: HTTP 401 from JupiterOne\n");
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
            "schedule        none (manual runs only)\n"
            "next run        -\n"
            "disabled steps  -\n"
            "rate limit      integration default\n"
            "runs            incremental (look back 24h, a full run every "
            "24h)\n"
            "upload          none\n"
            "config.apiKey   ***\n"
            "config.orgSlug  gh/acme\n");
}

TEST(RenderInstance, ShowsScheduleStepsRateAndUploadWithTheTokenMasked) {
  v1::Instance instance;
  instance.set_id("ci-prod");
  instance.set_integration("circleci");
  instance.set_created_at_ms(kStartMs);
  instance.set_updated_at_ms(kStartMs);
  instance.set_next_run_at_ms(kStartMs + 3'600'000);
  instance.mutable_schedule()->set_interval(v1::POLLING_INTERVAL_ONE_HOUR);
  instance.mutable_schedule()->set_jitter_seconds(180);
  instance.add_disabled_steps("fetch-envvars");
  instance.add_disabled_steps("fetch-jobs");
  instance.set_rate_limit_per_second(2.5);
  instance.mutable_incremental()->set_look_back_hours(6);
  v1::JupiterOneUpload& upload = *instance.mutable_upload();
  upload.set_account_id("acct-1");
  // Even a server that forgot to mask it does not get the token printed.
  upload.set_api_token("j1-s3cret");
  upload.set_integration_instance_id("ii-1");
  upload.set_compress(true);
  EXPECT_EQ(RenderInstance(instance),
            "id                          ci-prod\n"
            "integration                 circleci\n"
            "created                     2024-03-21T10:00:00Z\n"
            "updated                     2024-03-21T10:00:00Z\n"
            "schedule                    every 1h (jitter 180s)\n"
            "next run                    2024-03-21T11:00:00Z\n"
            "disabled steps              fetch-envvars,fetch-jobs\n"
            "rate limit                  2.5 requests/s\n"
            "runs                        incremental (look back 6h, a full "
            "run every 24h)\n"
            "upload.account              acct-1\n"
            "upload.integrationInstance  ii-1\n"
            "upload.baseUrl              https://api.us.jupiterone.io "
            "(default)\n"
            "upload.token                ***\n"
            "upload.compress             yes\n");

  const v1::Instance masked = MaskUploadToken(instance);
  EXPECT_EQ(masked.upload().api_token(), "***");
  EXPECT_EQ(masked.upload().account_id(), "acct-1");
  EXPECT_THAT(JsonLine(masked), Not(HasSubstr("j1-s3cret")));
  v1::Instance no_upload;
  EXPECT_FALSE(MaskUploadToken(no_upload).has_upload());
}

TEST(RenderSchedule, EveryShape) {
  v1::Instance instance;
  EXPECT_EQ(RenderSchedule(instance), "none (manual runs only)");
  instance.mutable_schedule()->set_jitter_seconds(30);
  EXPECT_EQ(RenderSchedule(instance), "none (manual runs only)");
  instance.mutable_schedule()->set_interval(v1::POLLING_INTERVAL_DISABLED);
  EXPECT_EQ(RenderSchedule(instance), "disabled (manual runs only)");
  instance.mutable_schedule()->set_interval(
      v1::POLLING_INTERVAL_THIRTY_MINUTES);
  EXPECT_EQ(RenderSchedule(instance), "every 30m (jitter 30s)");
  instance.mutable_schedule()->set_jitter_seconds(0);
  EXPECT_EQ(RenderSchedule(instance), "every 30m");
  instance.mutable_schedule()->set_cron("0 */6 * * *");
  EXPECT_EQ(RenderSchedule(instance), "cron 0 */6 * * *");
  instance.mutable_schedule()->set_jitter_seconds(60);
  EXPECT_EQ(RenderSchedule(instance), "cron 0 */6 * * * (jitter 60s)");
}

TEST(RenderValidation, ValidOrInvalidWithTheWorker) {
  v1::ValidateInstanceResponse response;
  response.set_valid(true);
  response.set_message("authenticated as kim");
  response.set_worker_id("w-1");
  EXPECT_EQ(RenderValidation(response),
            "valid: authenticated as kim (worker w-1)");
  response.set_valid(false);
  response.set_message("HTTP 401:\nbad token");
  EXPECT_EQ(RenderValidation(response),
            "invalid: HTTP 401: bad token (worker w-1)");
  response.clear_message();
  response.clear_worker_id();
  EXPECT_EQ(RenderValidation(response), "invalid");
}

v1::Run UploadedRun(v1::UploadState state) {
  v1::Run run = RunningRun();
  run.set_status(v1::RUN_STATUS_SUCCEEDED);
  run.set_trigger(v1::RUN_TRIGGER_SCHEDULE);
  run.set_incremental_since_ms(kStartMs - 24 * 3'600'000LL);
  run.set_started_at_ms(kStartMs + 500);
  run.set_ended_at_ms(kStartMs + 184'000);
  v1::UploadStatus& upload = *run.mutable_upload();
  upload.set_state(state);
  upload.set_job_id("job-7");
  upload.set_entities_uploaded(120);
  upload.set_relationships_uploaded(80);
  upload.set_skipped(2);
  if (state == v1::UPLOAD_STATE_FAILED) upload.set_error("HTTP 413");
  return run;
}

TEST(RenderRunSummary, TriggerStartAndUploadSection) {
  v1::GetRunResponse response;
  *response.mutable_run() = UploadedRun(v1::UPLOAD_STATE_FAILED);
  const std::string text = RenderRunSummary(response, kStartMs);
  EXPECT_THAT(text, HasSubstr("instance  ci-prod\n"
                              "trigger   SCHEDULE\n"
                              "mode      incremental (pipelines since "
                              "2024-03-20T10:00:00Z)\n"
                              "created   2024-03-21T10:00:00Z\n"
                              "started   2024-03-21T10:00:00Z\n"));
  EXPECT_THAT(text, HasSubstr("\nUpload to JupiterOne:\n"
                              "state                   FAILED\n"
                              "job                     job-7\n"
                              "entities uploaded       120\n"
                              "relationships uploaded  80\n"
                              "skipped                 2\n"
                              "error                   HTTP 413\n"
                              "\nEvents:\n"));
  // No upload configured: no section.
  response.mutable_run()->clear_upload();
  EXPECT_THAT(RenderRunSummary(response, kStartMs),
              Not(HasSubstr("Upload to JupiterOne")));
}

TEST(RenderUploadStatus, TitleThenFields) {
  EXPECT_EQ(RenderUploadStatus(UploadedRun(v1::UPLOAD_STATE_UPLOADING)),
            "run 12 upload to JupiterOne\n"
            "state                   UPLOADING\n"
            "job                     job-7\n"
            "entities uploaded       120\n"
            "relationships uploaded  80\n"
            "skipped                 2\n");
  v1::Run none;
  none.set_id(3);
  EXPECT_EQ(RenderUploadStatus(none),
            "run 3 upload to JupiterOne\n"
            "state                   none\n"
            "job                     -\n"
            "entities uploaded       0\n"
            "relationships uploaded  0\n"
            "skipped                 0\n");
}

TEST(RenderUploadLine, StateJobCountsAndError) {
  EXPECT_EQ(RenderUploadLine(UploadedRun(v1::UPLOAD_STATE_SUCCEEDED).upload()),
            "upload SUCCEEDED job job-7: 120 entities, 80 relationships "
            "uploaded, 2 skipped");
  EXPECT_EQ(RenderUploadLine(UploadedRun(v1::UPLOAD_STATE_FAILED).upload()),
            "upload FAILED job job-7: 120 entities, 80 relationships uploaded, "
            "2 skipped: HTTP 413");
  v1::UploadStatus pending;
  pending.set_state(v1::UPLOAD_STATE_PENDING);
  EXPECT_EQ(RenderUploadLine(pending),
            "upload PENDING: 0 entities, 0 relationships uploaded, 0 skipped");
}

TEST(RenderProgressAndEndLine, MentionTheUpload) {
  const v1::Run run = UploadedRun(v1::UPLOAD_STATE_UPLOADING);
  EXPECT_THAT(RenderProgressLine(run, nullptr, kStartMs),
              ::testing::EndsWith("3m04s  upload UPLOADING 200 uploaded"));
  EXPECT_EQ(RenderRunEndLine(run),
            "run 12 SUCCEEDED in 3m04s: 0 created, 0 updated, 0 deleted; "
            "upload UPLOADING");
}

v1::Neighbor UserNeighbor(v1::Direction direction) {
  v1::Entity account;
  account.set_key("circleci_account:1");
  account.set_type("circleci_account");
  account.add_classes("Account");
  (*account.mutable_properties())["displayName"] = StringValue("acme");
  v1::RawData* raw = account.add_raw_data();
  raw->set_name("default");
  raw->set_json(R"({"id":1})");
  v1::Entity user;
  user.set_key("circleci_user:1");
  user.set_type("circleci_user");
  user.add_classes("User");
  v1::Neighbor neighbor;
  *neighbor.mutable_relationship() = DirectRelationship(account, "HAS", user);
  *neighbor.mutable_entity() = account;
  neighbor.set_direction(direction);
  return neighbor;
}

TEST(RenderNeighbors, OneRowPerNeighbor) {
  EXPECT_EQ(
      RenderNeighbors({{1, "", UserNeighbor(v1::DIRECTION_IN)}}),
      "DIRECTION  CLASS  RELATIONSHIP                            NEIGHBOR      "
      "      TYPE              DISPLAY NAME\n"
      "in         HAS    circleci_account:1|has|circleci_user:1  "
      "circleci_account:1  circleci_account  acme\n");
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

}  // namespace
}  // namespace graphmill::cli
