// Tests of job_store.h: the job state machine, what a job records, and the
// finalize diff against the per-instance stored graph (partial types kept).
#include "tests/fakes/jupiterone/job_store.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::fakes::jupiterone {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

CreateJobRequest External(const std::string& instance) {
  CreateJobRequest request;
  request.source = "integration-external";
  request.integration_instance_id = instance;
  return request;
}

ReceivedObject Object(const std::string& key, const std::string& type,
                      const std::string& content = "1") {
  return ReceivedObject{key, type,
                        R"({"_key":")" + key + R"(","_type":")" + type +
                            R"(","v":)" + content + "}"};
}

template <typename T>
const T& Ok(const Parsed<T>& parsed) {
  if (const ApiError* error = std::get_if<ApiError>(&parsed)) {
    ADD_FAILURE() << error->code << ": " << error->message;
    static const T kEmpty{};
    return kEmpty;
  }
  return std::get<T>(parsed);
}

template <typename T>
ApiError ErrorOf(const Parsed<T>& parsed) {
  const ApiError* error = std::get_if<ApiError>(&parsed);
  if (error == nullptr) {
    ADD_FAILURE() << "expected an error";
    return {};
  }
  return *error;
}

// Creates a job for `instance`, uploads the entities and finalizes.
JobRecord RunJob(JobStore& store, const std::string& instance,
                 std::vector<ReceivedObject> entities,
                 std::vector<std::string> partial_types) {
  const std::string id = Ok(store.Create(External(instance))).id;
  Ok(store.Upload(id, ObjectKind::kEntity, std::move(entities), {}));
  return Ok(store.Finalize(id, std::move(partial_types)));
}

TEST(JobStoreTest, CreateGivesAnAwaitingJobWithItsIntegrationJobId) {
  JobStore store(absl::ZeroDuration());
  const JobRecord job = Ok(store.Create(External("ii-1")));
  EXPECT_EQ(job.status, JobStatus::kAwaitingUploads);
  EXPECT_EQ(job.source, "integration-external");
  EXPECT_EQ(job.integration_instance_id, "ii-1");
  EXPECT_EQ(job.integration_job_id, job.id);
  EXPECT_GT(job.start_timestamp_ms, 0);
  const JobRecord other = Ok(store.Create(External("ii-1")));
  EXPECT_NE(other.id, job.id);
  EXPECT_EQ(Ok(store.Get(job.id)).id, job.id);
  EXPECT_EQ(ErrorOf(store.Get("nope")).http_status, 404);
  EXPECT_EQ(ErrorOf(store.Get("nope")).code, "JOB_NOT_FOUND");
}

TEST(JobStoreTest, UploadsAreRecordedWithRepeatsCounted) {
  JobStore store(absl::ZeroDuration());
  const std::string id = Ok(store.Create(External("ii"))).id;
  UploadRecord record;
  record.body_bytes = 120;
  record.wire_bytes = 60;
  record.gzip = true;
  record.correlation_id = "c-1";
  Ok(store.Upload(id, ObjectKind::kEntity,
                  {Object("e1", "t_a"), Object("e2", "t_a")}, record));
  const JobRecord after = Ok(store.Upload(
      id, ObjectKind::kEntity, {Object("e2", "t_a", "2")}, UploadRecord{}));
  Ok(store.Upload(id, ObjectKind::kRelationship, {Object("r1", "t_r")}, {}));
  EXPECT_EQ(after.entities_uploaded, 3);

  const JobSnapshot snapshot = *store.Job(id);
  EXPECT_EQ(snapshot.job.entities_uploaded, 3);
  EXPECT_EQ(snapshot.job.relationships_uploaded, 1);
  EXPECT_EQ(snapshot.repeated_keys, 1);
  EXPECT_THAT(snapshot.entities,
              ElementsAre(Pair("e1", Object("e1", "t_a").json),
                          Pair("e2", Object("e2", "t_a", "2").json)));
  EXPECT_THAT(snapshot.relationships, ElementsAre(Pair("r1", ::testing::_)));
  ASSERT_EQ(snapshot.uploads.size(), 3u);
  EXPECT_EQ(snapshot.uploads[0].kind, ObjectKind::kEntity);
  EXPECT_EQ(snapshot.uploads[0].objects, 2);
  EXPECT_EQ(snapshot.uploads[0].body_bytes, 120);
  EXPECT_EQ(snapshot.uploads[0].wire_bytes, 60);
  EXPECT_TRUE(snapshot.uploads[0].gzip);
  EXPECT_EQ(snapshot.uploads[0].correlation_id, "c-1");
  EXPECT_EQ(snapshot.uploads[2].kind, ObjectKind::kRelationship);
}

TEST(JobStoreTest, OnlyAnAwaitingJobTakesUploadsFinalizeOrAbort) {
  JobStore store(absl::ZeroDuration());
  const std::string finalized = Ok(store.Create(External("ii"))).id;
  EXPECT_EQ(Ok(store.Finalize(finalized, {})).status,
            JobStatus::kFinalizePending);
  for (const ApiError& error :
       {ErrorOf(store.Upload(finalized, ObjectKind::kEntity, {Object("e", "t")},
                             {})),
        ErrorOf(store.Finalize(finalized, {})),
        ErrorOf(store.Abort(finalized, AbortRequest{}))}) {
    EXPECT_EQ(error.http_status, 400);
    EXPECT_EQ(error.code, "JOB_NOT_AWAITING_UPLOADS");
  }
  EXPECT_EQ(store.Job(finalized)->rejected_requests, 3);
  EXPECT_TRUE(store.Job(finalized)->entities.empty());

  const std::string aborted = Ok(store.Create(External("ii"))).id;
  AbortRequest abort;
  abort.reason = "worker lost";
  EXPECT_EQ(Ok(store.Abort(aborted, abort)).status, JobStatus::kAborted);
  EXPECT_EQ(ErrorOf(store.Upload(aborted, ObjectKind::kRelationship,
                                 {Object("r", "t")}, {}))
                .code,
            "JOB_NOT_AWAITING_UPLOADS");
  EXPECT_EQ(ErrorOf(store.Finalize(aborted, {})).code,
            "JOB_NOT_AWAITING_UPLOADS");
  const JobSnapshot snapshot = *store.Job(aborted);
  EXPECT_TRUE(snapshot.aborted);
  EXPECT_FALSE(snapshot.finalized);
  EXPECT_EQ(snapshot.abort_reason, "worker lost");

  const std::string bad_data = Ok(store.Create(External("ii"))).id;
  abort.terminal_status = "ERROR_BAD_DATA";
  EXPECT_EQ(Ok(store.Abort(bad_data, abort)).status, JobStatus::kErrorBadData);
  EXPECT_EQ(ErrorOf(store.Abort("nope", abort)).code, "JOB_NOT_FOUND");
}

TEST(JobStoreTest, FinalizeIsPendingUntilTheDelayThenFinishedWithCounts) {
  JobStore store(absl::Milliseconds(150));
  const std::string id = Ok(store.Create(External("ii"))).id;
  Ok(store.Upload(id, ObjectKind::kEntity, {Object("e1", "t")}, {}));
  const JobRecord finalize = Ok(store.Finalize(id, {}));
  EXPECT_EQ(finalize.status, JobStatus::kFinalizePending);
  EXPECT_EQ(finalize.entities.created, 0);  // not filled until FINISHED
  EXPECT_EQ(Ok(store.Get(id)).status, JobStatus::kFinalizePending);
  // The diff itself is known at once to tests.
  EXPECT_EQ(store.Job(id)->entity_diff.created, 1);
  absl::SleepFor(absl::Milliseconds(200));
  const JobRecord finished = Ok(store.Get(id));
  EXPECT_EQ(finished.status, JobStatus::kFinished);
  EXPECT_EQ(finished.entities.created, 1);
}

TEST(JobStoreTest, FinalizeDiffsAgainstTheStoredGraphKeepingPartialTypes) {
  JobStore store(absl::ZeroDuration());
  RunJob(store, "ii",
         {Object("e1", "t_a"), Object("e2", "t_a"), Object("e3", "t_b"),
          Object("e4", "t_b"), Object("e5", "t_a")},
         {});
  const JobSnapshot first = store.Jobs().back();
  EXPECT_EQ(first.entity_diff.created, 5);
  EXPECT_EQ(first.entity_diff.updated, 0);
  EXPECT_EQ(first.entity_diff.deleted, 0);

  // e1 changed, e5 unchanged, e2 (t_a) gone, e3 and e4 (t_b, partial) not
  // uploaded, e6 new.
  RunJob(store, "ii",
         {Object("e1", "t_a", "2"), Object("e5", "t_a"), Object("e6", "t_b")},
         {"t_b"});
  const JobSnapshot second = store.Jobs().back();
  EXPECT_EQ(second.entity_diff.created, 1);
  EXPECT_EQ(second.entity_diff.updated, 1);
  EXPECT_EQ(second.entity_diff.deleted, 1);
  EXPECT_THAT(second.deleted_entity_keys, ElementsAre("e2"));
  EXPECT_THAT(second.partial_types, ElementsAre("t_b"));
  EXPECT_THAT(
      store.Graph("ii").entities,
      ElementsAre(Pair("e1", "t_a"), Pair("e3", "t_b"), Pair("e4", "t_b"),
                  Pair("e5", "t_a"), Pair("e6", "t_b")));

  // Without partial types, what is missing is deleted.
  RunJob(store, "ii", {Object("e6", "t_b")}, {});
  const JobSnapshot third = store.Jobs().back();
  EXPECT_EQ(third.entity_diff.deleted, 4);
  EXPECT_THAT(third.deleted_entity_keys,
              UnorderedElementsAre("e1", "e3", "e4", "e5"));
  EXPECT_THAT(store.Graph("ii").entities, ElementsAre(Pair("e6", "t_b")));
}

TEST(JobStoreTest, GraphsAreScopedByInstanceAndKindAndAbortChangesNothing) {
  JobStore store(absl::ZeroDuration());
  RunJob(store, "ii-1", {Object("e1", "t")}, {});
  RunJob(store, "ii-2", {Object("x1", "t")}, {});
  EXPECT_THAT(store.Graph("ii-1").entities, ElementsAre(Pair("e1", "t")));
  EXPECT_THAT(store.Graph("ii-2").entities, ElementsAre(Pair("x1", "t")));

  // Relationships diff separately: an entity-only job deletes the old
  // relationships, an aborted job changes nothing.
  const std::string with_relationship = Ok(store.Create(External("ii-1"))).id;
  Ok(store.Upload(with_relationship, ObjectKind::kEntity, {Object("e1", "t")},
                  {}));
  Ok(store.Upload(with_relationship, ObjectKind::kRelationship,
                  {Object("r1", "t_r")}, {}));
  Ok(store.Finalize(with_relationship, {}));
  EXPECT_EQ(store.Job(with_relationship)->relationship_diff.created, 1);
  EXPECT_EQ(store.Job(with_relationship)->entity_diff.created, 0);

  const std::string aborted = Ok(store.Create(External("ii-1"))).id;
  Ok(store.Abort(aborted, AbortRequest{}));
  EXPECT_THAT(store.Graph("ii-1").relationships,
              ElementsAre(Pair("r1", "t_r")));

  RunJob(store, "ii-1", {Object("e1", "t")}, {});
  EXPECT_EQ(store.Jobs().back().relationship_diff.deleted, 1);
  EXPECT_TRUE(store.Graph("ii-1").relationships.empty());

  CreateJobRequest api;
  api.source = "api";
  api.scope = "s";
  const JobRecord api_job = Ok(store.Create(api));
  EXPECT_EQ(api_job.integration_job_id, "");
  Ok(store.Upload(api_job.id, ObjectKind::kEntity, {Object("a1", "t")}, {}));
  Ok(store.Finalize(api_job.id, {}));
  EXPECT_THAT(store.Graph("api:s").entities, ElementsAre(Pair("a1", "t")));

  store.Reset();
  EXPECT_TRUE(store.Jobs().empty());
  EXPECT_TRUE(store.Graph("ii-1").entities.empty());
}

TEST(JobStoreTest, RequestsAreCountedPerJob) {
  JobStore store(absl::ZeroDuration());
  const std::string id = Ok(store.Create(External("ii"))).id;
  store.CountRequest(id);
  store.CountRequest(id);
  store.CountRejected(id);
  store.CountRequest("unknown");  // ignored
  const JobSnapshot snapshot = *store.Job(id);
  EXPECT_EQ(snapshot.requests, 3);  // the create, then two more
  EXPECT_EQ(snapshot.rejected_requests, 1);
}

}  // namespace
}  // namespace graphmill::fakes::jupiterone
