// Tests of client/run_watch.h: plain lines for pipes, in-place progress for
// terminals.
#include "client/run_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace graphmill::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kStartMs = 1711015200000;  // 2024-03-21T10:00:00Z

v1::RunUpdate Update(v1::RunStatus status, v1::StepStatus users,
                     v1::StepStatus projects) {
  v1::RunUpdate update;
  v1::Run& run = *update.mutable_run();
  run.set_id(12);
  run.set_instance_id("ci-prod");
  run.set_status(status);
  run.set_created_at_ms(kStartMs);
  v1::StepRun& first = *run.add_steps();
  first.set_step_id("fetch-users");
  first.set_status(users);
  if (users != v1::STEP_STATUS_PENDING)
    first.set_started_at_ms(kStartMs + 1'000);
  if (users == v1::STEP_STATUS_SUCCESS) {
    first.set_ended_at_ms(kStartMs + 2'500);
    first.set_tasks_total(1);
    first.set_tasks_done(1);
    (*first.mutable_type_counts())["circleci_user"] = 3;
    (*first.mutable_type_counts())["circleci_account_has_user"] = 3;
  }
  v1::StepRun& second = *run.add_steps();
  second.set_step_id("fetch-projects");
  second.set_status(projects);
  if (projects == v1::STEP_STATUS_FAILURE) {
    second.set_started_at_ms(kStartMs + 2'500);
    second.set_ended_at_ms(kStartMs + 4'000);
    second.set_error("HTTP 500");
  }
  return update;
}

v1::Event Warning() {
  v1::Event event;
  event.set_time_ms(kStartMs + 2'000);
  event.set_level(v1::EVENT_LEVEL_WARN);
  event.set_name("warn_missing_permission");
  event.set_step_id("fetch-users");
  event.set_description("403 on team");
  return event;
}

TEST(RunWatchPrinter, PlainModePrintsOneLinePerChangeAndEvent) {
  std::ostringstream out;
  RunWatchPrinter printer(out, /*terminal=*/false);
  printer.OnUpdate(Update(v1::RUN_STATUS_VALIDATING, v1::STEP_STATUS_PENDING,
                          v1::STEP_STATUS_PENDING),
                   kStartMs);
  printer.OnUpdate(Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_RUNNING,
                          v1::STEP_STATUS_PENDING),
                   kStartMs + 1'000);
  v1::RunUpdate with_warning = Update(
      v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_SUCCESS, v1::STEP_STATUS_PENDING);
  *with_warning.add_new_events() = Warning();
  printer.OnUpdate(with_warning, kStartMs + 2'600);
  // Nothing changed: nothing printed.
  printer.OnUpdate(Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_SUCCESS,
                          v1::STEP_STATUS_PENDING),
                   kStartMs + 2'700);
  printer.OnUpdate(Update(v1::RUN_STATUS_PARTIAL, v1::STEP_STATUS_SUCCESS,
                          v1::STEP_STATUS_FAILURE),
                   kStartMs + 4'100);
  printer.Finish();
  EXPECT_EQ(out.str(),
            "run 12 VALIDATING for instance ci-prod\n"
            "run 12 RUNNING\n"
            "10:00:01Z step fetch-users RUNNING\n"
            "10:00:02Z WARN warn_missing_permission [fetch-users] 403 on team\n"
            "10:00:02Z step fetch-users SUCCESS 1.5s tasks 1/1 objects 6\n"
            "10:00:04Z step fetch-projects FAILURE 1.5s tasks - objects 0: "
            "HTTP 500\n");
}

TEST(RunWatchPrinter, TerminalModeRedrawsProgressInPlace) {
  std::ostringstream out;
  RunWatchPrinter printer(out, /*terminal=*/true);
  printer.SetRelationshipTypes({"circleci_account_has_user"});
  printer.OnUpdate(Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_RUNNING,
                          v1::STEP_STATUS_PENDING),
                   kStartMs + 1'000);
  EXPECT_EQ(out.str(),
            "run 12 RUNNING [--------------------] 0/2 steps  0 entities  0 "
            "relationships  1.0s");
  printer.Tick(kStartMs + 1'500);
  EXPECT_THAT(out.str(),
              EndsWith("\r\033[Krun 12 RUNNING [--------------------] 0/2 "
                       "steps  0 entities  "
                       "0 relationships  1.5s"));

  out.str("");
  v1::RunUpdate update = Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_SUCCESS,
                                v1::STEP_STATUS_PENDING);
  *update.add_new_events() = Warning();
  printer.OnUpdate(update, kStartMs + 3'000);
  EXPECT_EQ(out.str(),
            "\r\033[K"
            "\033[33m10:00:02Z WARN warn_missing_permission [fetch-users] 403 "
            "on team\033[0m\n"
            "10:00:02Z step fetch-users SUCCESS 1.5s tasks 1/1 objects 6\n"
            "run 12 RUNNING [##########----------] 1/2 steps  tasks 1/1  3 "
            "entities  3 relationships  3.0s  2 objects/s");

  out.str("");
  printer.Finish();
  EXPECT_EQ(out.str(), "\r\033[K");
  // Once erased, ticks draw nothing until the next update.
  printer.Tick(kStartMs + 9'000);
  EXPECT_EQ(out.str(), "\r\033[K");
}

TEST(RunWatchPrinter, PlainModeNeverWritesEscapes) {
  std::ostringstream out;
  RunWatchPrinter printer(out, /*terminal=*/false);
  v1::RunUpdate update = Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_SUCCESS,
                                v1::STEP_STATUS_FAILURE);
  *update.add_new_events() = Warning();
  printer.OnUpdate(update, kStartMs);
  printer.Tick(kStartMs + 1'000);
  printer.Finish();
  EXPECT_THAT(out.str(), Not(HasSubstr("\033")));
  EXPECT_THAT(out.str(), Not(HasSubstr("\r")));
}

TEST(RunWatchPrinter, PlainModePrintsAProgressLineEveryFewSeconds) {
  std::ostringstream out;
  RunWatchPrinter printer(out, /*terminal=*/false);
  printer.OnUpdate(Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_RUNNING,
                          v1::STEP_STATUS_PENDING),
                   kStartMs);
  const std::string after_update = out.str();
  printer.Tick(kStartMs + 1'000);  // starts the interval
  printer.Tick(kStartMs + 5'999);
  EXPECT_EQ(out.str(), after_update) << "not yet";
  printer.Tick(kStartMs + 6'000);
  const std::string progress = out.str().substr(after_update.size());
  EXPECT_THAT(progress, HasSubstr("2024-03-21T10:00:06Z progress run "));
  EXPECT_THAT(progress, HasSubstr("0/2 steps"));
  EXPECT_EQ(progress.back(), '\n');
  EXPECT_THAT(progress, Not(HasSubstr("\033")));
  printer.Tick(kStartMs + 7'000);
  EXPECT_EQ(out.str().size(), after_update.size() + progress.size());
  // A finished run gets none.
  printer.OnUpdate(Update(v1::RUN_STATUS_SUCCEEDED, v1::STEP_STATUS_SUCCESS,
                          v1::STEP_STATUS_SUCCESS),
                   kStartMs + 8'000);
  const std::string finished = out.str();
  printer.Tick(kStartMs + 60'000);
  EXPECT_EQ(out.str(), finished);
}

// fetch-projects has planned 3 tasks and done 1 by 4 s in; with fetch-users'
// 1 that is 2 of 4 tasks done, so 2 more take about 4 s.
v1::RunUpdate HalfwayThroughTasks() {
  v1::RunUpdate update = Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_SUCCESS,
                                v1::STEP_STATUS_RUNNING);
  v1::StepRun& projects = *update.mutable_run()->mutable_steps(1);
  projects.set_tasks_total(3);
  projects.set_tasks_done(1);
  return update;
}

TEST(RunWatchPrinter, BothModesShowTheEta) {
  std::ostringstream terminal_out;
  RunWatchPrinter terminal(terminal_out, /*terminal=*/true);
  terminal.OnUpdate(HalfwayThroughTasks(), kStartMs + 4'000);
  EXPECT_THAT(terminal_out.str(), EndsWith("tasks 2/4  6 objects  4.0s  "
                                           "2 objects/s  ETA 4s"));
  terminal.Tick(kStartMs + 8'000);  // no news for 4 s: the same pace, longer
  EXPECT_THAT(terminal_out.str(), EndsWith("8.0s  1 objects/s  ETA 8s"));

  std::ostringstream plain_out;
  RunWatchPrinter plain(plain_out, /*terminal=*/false);
  plain.OnUpdate(HalfwayThroughTasks(), kStartMs + 4'000);
  plain.Tick(kStartMs + 4'000);
  plain.Tick(kStartMs + 9'000);
  EXPECT_THAT(plain_out.str(),
              EndsWith("progress run 12 RUNNING [##########----------] 1/2 "
                       "steps  tasks 2/4  6 objects  9.0s  1 objects/s  ETA "
                       "9s\n"));
}

v1::RunUpdate WithUpload(v1::UploadState state, int64_t entities) {
  v1::RunUpdate update =
      Update(v1::RUN_STATUS_SUCCEEDED, v1::STEP_STATUS_SUCCESS,
             v1::STEP_STATUS_SUCCESS);
  update.mutable_run()->set_ended_at_ms(kStartMs + 4'000);
  v1::UploadStatus& upload = *update.mutable_run()->mutable_upload();
  upload.set_state(state);
  upload.set_entities_uploaded(entities);
  if (state != v1::UPLOAD_STATE_PENDING) upload.set_job_id("job-7");
  if (state == v1::UPLOAD_STATE_FAILED) upload.set_error("HTTP 401");
  return update;
}

TEST(RunWatchPrinter, PlainModePrintsEachUploadChange) {
  std::ostringstream out;
  RunWatchPrinter printer(out, /*terminal=*/false);
  printer.OnUpdate(Update(v1::RUN_STATUS_RUNNING, v1::STEP_STATUS_SUCCESS,
                          v1::STEP_STATUS_SUCCESS),
                   kStartMs);
  out.str("");
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_PENDING, 0), kStartMs + 4'000);
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_UPLOADING, 0), kStartMs + 5'000);
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_UPLOADING, 0), kStartMs + 5'500);
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_UPLOADING, 500),
                   kStartMs + 6'000);
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_FAILED, 500), kStartMs + 7'000);
  printer.Finish();
  EXPECT_EQ(out.str(),
            "upload PENDING: 0 entities, 0 relationships uploaded, 0 skipped\n"
            "upload UPLOADING job job-7: 0 entities, 0 relationships "
            "uploaded, 0 skipped\n"
            "upload UPLOADING job job-7: 500 entities, 0 relationships "
            "uploaded, 0 skipped\n"
            "upload FAILED job job-7: 500 entities, 0 relationships uploaded, "
            "0 skipped: HTTP 401\n");
}

TEST(RunWatchPrinter, TerminalModePrintsUploadStatesAndShowsCounts) {
  std::ostringstream out;
  RunWatchPrinter printer(out, /*terminal=*/true);
  v1::RunUpdate finished = WithUpload(v1::UPLOAD_STATE_UPLOADING, 0);
  finished.mutable_run()->clear_upload();
  printer.OnUpdate(finished, kStartMs + 4'000);
  out.str("");
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_UPLOADING, 10),
                   kStartMs + 5'000);
  EXPECT_EQ(out.str(),
            "\r\033[Kupload UPLOADING job job-7: 10 entities, 0 relationships "
            "uploaded, 0 skipped\n"
            "run 12 SUCCEEDED [####################] 2/2 steps  tasks 1/1  6 "
            "objects  4.0s  upload UPLOADING 10 uploaded");
  // Counts alone move only the progress line.
  out.str("");
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_UPLOADING, 900),
                   kStartMs + 6'000);
  EXPECT_EQ(out.str(),
            "\r\033[Krun 12 SUCCEEDED [####################] 2/2 steps  tasks "
            "1/1  6 objects  4.0s  upload UPLOADING 900 uploaded");
  out.str("");
  printer.OnUpdate(WithUpload(v1::UPLOAD_STATE_FAILED, 900), kStartMs + 7'000);
  EXPECT_THAT(out.str(), HasSubstr("\033[31mupload FAILED job job-7: 900 "
                                   "entities, 0 relationships uploaded, 0 "
                                   "skipped: HTTP 401\033[0m\n"));
}

}  // namespace
}  // namespace graphmill::cli
