// Tests of the JupiterOne uploader against the in-process fake JupiterOne
// server when things go wrong: retries (on a FakeClock), auth failures, aborts
// with the reason, a job that ended elsewhere, a bad target.
#include <httplib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "coordinator/sinks/jupiterone_uploader.h"
#include "coordinator/sinks/uploader_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/jupiterone/fake_jupiterone.h"

namespace graphmill::sinks::testing {
namespace {

using fakes::jupiterone::JobSnapshot;
using fakes::jupiterone::JobStatus;
using fakes::jupiterone::UploadRecord;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

TEST_F(UploaderTest, ServerErrorsAndRateLimitsAreRetried) {
  StartFake(20'000);
  ASSERT_TRUE(fake_->AddFault("entities:500:times=2").ok());
  ASSERT_TRUE(fake_->AddFault("relationships:429:times=1:retry_after=3").ok());
  ASSERT_TRUE(fake_->AddFault("finalize:503:times=1").ok());
  VectorSource source;
  for (int i = 0; i < 100; ++i) {
    source.entities.push_back(MakeEntity(absl::StrCat("test_thing:", i),
                                         "test_thing", RawJson(i, 100)));
  }
  source.relationships.push_back(MakeRelationship("test_thing:1", "x:1"));

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options(20'000));

  ASSERT_TRUE(result.ok()) << result.status();
  const JobSnapshot job = OnlyJob();
  EXPECT_EQ(job.entities.size(), 100u);
  EXPECT_EQ(job.relationships.size(), 1u);
  EXPECT_EQ(job.rejected_requests, 4);
  EXPECT_EQ(fake_->RequestCount("entities"),
            static_cast<int64_t>(result->batches) - 1 + 2);
  EXPECT_EQ(job.job.status, JobStatus::kFinished);
  // The 429's Retry-After, and backoff (pinned to its top) for the rest.
  const std::vector<absl::Duration> sleeps = clock_.sleeps();
  EXPECT_EQ(std::count(sleeps.begin(), sleeps.end(), absl::Seconds(3)), 1);
  EXPECT_EQ(sleeps.size(), 4u);
}

TEST_F(UploaderTest, UnauthorizedFailsClearlyWithoutTheToken) {
  StartFake();
  VectorSource source;
  source.entities.push_back(MakeEntity("test_thing:1", "test_thing"));
  JupiterOneTarget target = Target();
  target.api_token = "wrong-secret-token";

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(target, source, {}, Options());

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(result.status().message(),
              HasSubstr("JupiterOne rejected the API token for account "
                        "'test-account' (HTTP 401"));
  EXPECT_THAT(result.status().message(), Not(HasSubstr("wrong-secret-token")));
  EXPECT_TRUE(fake_->Jobs().empty());
  EXPECT_EQ(fake_->RequestCount("create-job"), 1);  // not retried
  EXPECT_EQ(fake_->RequestCount("abort"), 0);       // no job to abort
}

TEST_F(UploaderTest, AuthFailureMidUploadAbortsTheJob) {
  StartFake(20'000);
  ASSERT_TRUE(fake_->AddFault("entities:403").ok());
  VectorSource source;
  for (int i = 0; i < 1'000; ++i) {  // ~25 batches
    source.entities.push_back(MakeEntity(absl::StrCat("test_thing:", i),
                                         "test_thing", RawJson(i, 100)));
  }

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options(20'000));

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(result.status().message(),
              HasSubstr("JupiterOne rejected the API token for account "
                        "'test-account' (HTTP 403"));
  const JobSnapshot job = OnlyJob();
  EXPECT_TRUE(job.aborted);
  EXPECT_EQ(job.job.status, JobStatus::kAborted);
  EXPECT_EQ(job.abort_reason, result.status().message());
  EXPECT_FALSE(job.finalized);
  EXPECT_THAT(job.abort_reason, Not(HasSubstr(kToken)));
  // It stopped: at most the batches already in flight were tried.
  EXPECT_LE(fake_->RequestCount("entities"), kMaxBatchesInFlight);
}

TEST_F(UploaderTest, PersistentServerErrorAbortsWithTheReason) {
  StartFake();
  ASSERT_TRUE(fake_->AddFault("relationships:500").ok());
  VectorSource source;
  source.entities.push_back(MakeEntity("test_thing:1", "test_thing"));
  source.relationships.push_back(MakeRelationship("test_thing:1", "x:1"));

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options());

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  const JobSnapshot job = OnlyJob();
  EXPECT_THAT(result.status().message(),
              AllOf(HasSubstr(absl::StrCat("JupiterOne job ", job.job.id)),
                    HasSubstr("HTTP 500"), HasSubstr("after 4 attempts")));
  EXPECT_EQ(fake_->RequestCount("relationships"), 4);
  EXPECT_TRUE(job.aborted);
  EXPECT_EQ(job.abort_reason, result.status().message());
  EXPECT_EQ(fake_->RequestCount("finalize"), 0);
}

TEST_F(UploaderTest, FinalizeFailureAborts) {
  StartFake();
  ASSERT_TRUE(fake_->AddFault("finalize:500").ok());
  VectorSource source;
  source.entities.push_back(MakeEntity("test_thing:1", "test_thing"));

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options());

  ASSERT_FALSE(result.ok());
  const JobSnapshot job = OnlyJob();
  EXPECT_TRUE(job.aborted);
  EXPECT_THAT(job.abort_reason, HasSubstr("/finalize"));
}

TEST_F(UploaderTest, SourceErrorAbortsWithItsMessage) {
  StartFake();
  VectorSource source;
  source.entities.push_back(MakeEntity("test_thing:1", "test_thing"));
  source.entity_error =
      absl::DataLossError("store: run 7 staged rows are gone");

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options());

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(),
              HasSubstr("store: run 7 staged rows are gone"));
  const JobSnapshot job = OnlyJob();
  EXPECT_TRUE(job.aborted);
  EXPECT_THAT(job.abort_reason, HasSubstr("staged rows are gone"));
}

TEST_F(UploaderTest, AJobEndedElsewhereStopsTheUpload) {
  StartFake(5'000);
  VectorSource source;
  for (int i = 0; i < 200; ++i) {
    source.entities.push_back(MakeEntity(absl::StrCat("test_thing:", i),
                                         "test_thing", RawJson(i, 100)));
  }
  // Someone else finalizes the job while entities are still streaming.
  int seen = 0;
  source.after_each_entity = [&] {
    if (++seen != 50) return;
    const std::string id = fake_->Jobs().front().job.id;
    httplib::Client client("127.0.0.1", fake_->port());
    client.Post(
        absl::StrCat("/persister/synchronization/jobs/", id, "/finalize")
            .c_str(),
        {{"Authorization", absl::StrCat("Bearer ", kToken)},
         {"JupiterOne-Account", kAccount}},
        "{}", "application/json");
  };

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options(5'000));

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(),
              AllOf(HasSubstr("no longer accepts uploads"),
                    HasSubstr("JOB_NOT_AWAITING_UPLOADS")));
  EXPECT_LT(OnlyJob().entities.size(), 200u);
}

TEST_F(UploaderTest, MissingTargetFieldsAreInvalidArgumentWithoutRequests) {
  StartFake();
  VectorSource source;
  struct Case {
    std::function<void(JupiterOneTarget&)> change;
    const char* field;
  };
  for (const Case& c :
       {Case{[](JupiterOneTarget& t) { t.account_id.clear(); }, "account_id"},
        Case{[](JupiterOneTarget& t) { t.api_token.clear(); }, "api_token"},
        Case{[](JupiterOneTarget& t) { t.integration_instance_id.clear(); },
             "integration_instance_id"},
        Case{[](JupiterOneTarget& t) { t.base_url = "ftp://x"; },
             "base_url"}}) {
    JupiterOneTarget target = Target();
    c.change(target);
    absl::StatusOr<UploadResult> result =
        UploadToJupiterOne(target, source, {}, Options());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(result.status().message(), HasSubstr(c.field));
  }
  EXPECT_EQ(fake_->RequestCount("total"), 0);
}

}  // namespace
}  // namespace graphmill::sinks::testing
