// Tests of the JupiterOne uploader against the in-process fake JupiterOne
// server when uploads go through: what is received, batching under the limit,
// gzip, finalize's partial types, 413 shrinking and skipping, raw data that is
// not an object, bounded memory while streaming, and the Sink interface.
// (Failures: jupiterone_failures_test.cc.)
#include "common/graph_objects.h"
#include "coordinator/sinks/jupiterone_uploader.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "coordinator/sinks/uploader_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
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

TEST_F(UploaderTest, UploadsExactlyTheRunsObjectsInBatchesUnderTheLimit) {
  StartFake(20'000);
  VectorSource source;
  std::vector<std::string> entity_keys, relationship_keys;
  for (int i = 0; i < 300; ++i) {
    source.entities.push_back(MakeEntity(absl::StrCat("test_thing:", i),
                                         "test_thing",
                                         RawJson(i, 50 + i % 7 * 20)));
    entity_keys.push_back(source.entities.back().key());
  }
  for (int i = 0; i < 200; ++i) {
    source.relationships.push_back(MakeRelationship(
        absl::StrCat("test_thing:", i), absl::StrCat("test_other:", i)));
    relationship_keys.push_back(source.relationships.back().key());
  }
  UploaderOptions options = Options(20'000);
  std::vector<UploadProgress> progress;
  options.on_progress = [&](const UploadProgress& p) { progress.push_back(p); };

  absl::StatusOr<UploadResult> result = UploadToJupiterOne(
      Target(), source, {"test_thing_partial", "test_other"}, options);

  ASSERT_TRUE(result.ok()) << result.status();
  const JobSnapshot job = OnlyJob();
  EXPECT_EQ(result->job_id, job.job.id);
  EXPECT_EQ(result->job_status, "FINALIZE_PENDING");
  EXPECT_EQ(job.job.status, JobStatus::kFinished);
  EXPECT_EQ(job.job.source, "integration-external");
  EXPECT_EQ(job.job.integration_instance_id, kInstance);
  EXPECT_THAT(Keys(job.entities), UnorderedElementsAreArray(entity_keys));
  EXPECT_THAT(Keys(job.relationships),
              UnorderedElementsAreArray(relationship_keys));
  EXPECT_EQ(job.repeated_keys, 0);
  EXPECT_EQ(job.rejected_requests, 0);
  EXPECT_THAT(job.partial_types,
              ElementsAre("test_other", "test_thing_partial"));
  EXPECT_EQ(job.entity_diff.created, 300);
  EXPECT_EQ(job.relationship_diff.created, 200);

  // Batches: many, each under the limit, entities all before relationships,
  // each with its own correlation id.
  EXPECT_GT(job.uploads.size(), 5u);
  EXPECT_EQ(result->batches, static_cast<int64_t>(job.uploads.size()));
  std::set<std::string> correlation_ids;
  bool relationships_started = false;
  int64_t body_bytes = 0;
  for (const UploadRecord& upload : job.uploads) {
    EXPECT_LE(upload.body_bytes, 20'000);
    EXPECT_FALSE(upload.gzip);
    body_bytes += upload.body_bytes;
    correlation_ids.insert(upload.correlation_id);
    if (upload.kind == fakes::jupiterone::ObjectKind::kRelationship) {
      relationships_started = true;
    } else {
      EXPECT_FALSE(relationships_started)
          << "an entity batch after relationships";
    }
  }
  EXPECT_EQ(correlation_ids.size(), job.uploads.size());
  EXPECT_EQ(result->body_bytes, body_bytes);
  EXPECT_EQ(result->entities_uploaded, 300);
  EXPECT_EQ(result->relationships_uploaded, 200);
  EXPECT_EQ(result->skipped, 0);
  EXPECT_EQ(result->raw_values_truncated, 0);

  // The flat shape arrives intact.
  rapidjson::Document sample;
  const std::string& json = job.entities.at("test_thing:42");
  sample.Parse(json.data(), json.size());
  ASSERT_FALSE(sample.HasParseError());
  EXPECT_STREQ(sample["name"].GetString(), "test_thing:42");
  EXPECT_EQ(sample["createdOn"].GetInt64(), 1'700'000'000'000);
  EXPECT_STREQ(sample["_class"][0].GetString(), "Configuration");
  EXPECT_STREQ(sample["_rawData"][0]["name"].GetString(), "default");
  EXPECT_EQ(sample["_rawData"][0]["rawData"]["id"].GetInt(), 42);

  // Progress only grows and ends at the totals.
  ASSERT_EQ(progress.size(), job.uploads.size());
  for (size_t i = 1; i < progress.size(); ++i) {
    EXPECT_GE(progress[i].entities_uploaded, progress[i - 1].entities_uploaded);
    EXPECT_EQ(progress[i].batches, progress[i - 1].batches + 1);
  }
  EXPECT_EQ(progress.back().entities_uploaded, 300);
  EXPECT_EQ(progress.back().relationships_uploaded, 200);
  EXPECT_EQ(Events("sync_upload_start").size(), 1u);
  ASSERT_EQ(Events("sync_upload_end").size(), 1u);
  EXPECT_THAT(Events("sync_upload_end")[0].description(),
              HasSubstr("300 entities and 200 relationships"));
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(UploaderTest, GzipBodiesWhenCompressIsOn) {
  StartFake(20'000);
  VectorSource source;
  for (int i = 0; i < 200; ++i) {
    source.entities.push_back(MakeEntity(absl::StrCat("test_thing:", i),
                                         "test_thing", RawJson(i, 100)));
  }
  JupiterOneTarget target = Target();
  target.compress = true;

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(target, source, {}, Options(20'000));

  ASSERT_TRUE(result.ok()) << result.status();
  const JobSnapshot job = OnlyJob();
  EXPECT_EQ(job.entities.size(), 200u);
  ASSERT_GT(job.uploads.size(), 1u);
  for (const UploadRecord& upload : job.uploads) {
    EXPECT_TRUE(upload.gzip);
    EXPECT_LE(upload.body_bytes, 20'000);
    EXPECT_LT(upload.wire_bytes * 3, upload.body_bytes);  // JSON compresses
  }
  EXPECT_TRUE(job.partial_types.empty());
}

TEST_F(UploaderTest, On413RawDataIsTruncatedLargestFirstAndNothingIsLost) {
  StartFake(20'000);  // the server takes less than the uploader builds
  VectorSource source;
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) {
    source.entities.push_back(MakeEntity(absl::StrCat("test_thing:", i),
                                         "test_thing", RawJson(i, 3'000)));
    keys.push_back(source.entities.back().key());
  }
  for (int i = 0; i < 50; ++i) {
    source.relationships.push_back(MakeRelationship(
        absl::StrCat("test_thing:", i), absl::StrCat("test_other:", i)));
  }

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options(60'000));

  ASSERT_TRUE(result.ok()) << result.status();
  const JobSnapshot job = OnlyJob();
  EXPECT_THAT(Keys(job.entities), UnorderedElementsAreArray(keys));
  EXPECT_EQ(job.relationships.size(), 50u);
  EXPECT_EQ(result->skipped, 0);
  EXPECT_GT(result->raw_values_truncated, 0);
  EXPECT_GE(job.rejected_requests, 1);
  // Learning the limit keeps most batches from being rejected.
  EXPECT_LT(job.rejected_requests, static_cast<int64_t>(job.uploads.size()));
  for (const UploadRecord& upload : job.uploads) {
    EXPECT_LE(upload.body_bytes, 20'000);
  }
  int truncated_entities = 0;
  for (const auto& [key, json] : job.entities) {
    rapidjson::Document entity;
    entity.Parse(json.data(), json.size());
    ASSERT_FALSE(entity.HasParseError());
    // Properties are never cut; only raw data values.
    EXPECT_EQ(entity["name"].GetString(), key);
    const rapidjson::Value& raw = entity["_rawData"][0]["rawData"];
    EXPECT_TRUE(raw["id"].IsInt());
    if (std::string(raw["big"].GetString()) == "TRUNCATED") {
      ++truncated_entities;
    } else {
      // Largest first: the medium value goes only after the big one.
      EXPECT_NE(std::string(raw["medium"].GetString()), "TRUNCATED");
    }
  }
  EXPECT_GT(truncated_entities, 0);
  // Batches built after the limit was learned need no truncation.
  EXPECT_LT(truncated_entities, 150);
  EXPECT_FALSE(Events("warn_raw_data_truncated").empty());
  EXPECT_THAT(Events("warn_raw_data_truncated")[0].description(),
              HasSubstr("HTTP 413"));
  EXPECT_TRUE(Events("warn_ingestion_limit_encountered").empty());
  EXPECT_EQ(job.job.status, JobStatus::kFinished);
}

TEST_F(UploaderTest, AnObjectThatCannotFitIsSkippedWithAnEventAndTheJobEnds) {
  StartFake(3'000);
  VectorSource source;
  for (int i = 0; i < 20; ++i) {
    source.entities.push_back(MakeEntity(absl::StrCat("test_thing:", i),
                                         "test_thing", RawJson(i, 100)));
  }
  // Fits the uploader's 8,000 bytes but not the server's 3,000, and its size
  // is in a property, not in raw data.
  v1::Entity huge = MakeEntity("test_huge:1", "test_huge", RawJson(0, 100));
  (*huge.mutable_properties())["description"] =
      StringValue(std::string(5'000, 'd'));
  source.entities.insert(source.entities.begin() + 7, huge);
  source.relationships.push_back(MakeRelationship("test_thing:1", "x:1"));

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {"test_given"}, Options(8'000));

  ASSERT_TRUE(result.ok()) << result.status();
  const JobSnapshot job = OnlyJob();
  EXPECT_EQ(job.entities.size(), 20u);
  EXPECT_EQ(job.entities.count("test_huge:1"), 0u);
  EXPECT_EQ(job.relationships.size(), 1u);
  EXPECT_EQ(result->skipped, 1);
  EXPECT_THAT(result->skipped_keys, ElementsAre("test_huge:1"));
  // Its type is partial, so JupiterOne keeps its old version.
  EXPECT_THAT(result->partial_types, ElementsAre("test_given", "test_huge"));
  EXPECT_THAT(job.partial_types, ElementsAre("test_given", "test_huge"));
  EXPECT_EQ(job.job.status, JobStatus::kFinished);
  const std::vector<v1::Event> skipped =
      Events("warn_ingestion_limit_encountered");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].level(), v1::EVENT_LEVEL_WARN);
  EXPECT_THAT(skipped[0].description(),
              AllOf(HasSubstr("entity 'test_huge:1'"), HasSubstr("HTTP 413")));
}

TEST_F(UploaderTest, OversizedObjectsLoseRawDataOrAreSkippedBeforeSending) {
  StartFake();
  VectorSource source;
  source.entities.push_back(
      MakeEntity("test_thing:ok", "test_thing", RawJson(1, 100)));
  // Over the limit only because of its raw data: sent without it.
  source.entities.push_back(
      MakeEntity("test_thing:raw", "test_thing", RawJson(2, 5'000)));
  // Over the limit even without raw data: skipped.
  v1::Entity huge = MakeEntity("test_huge:1", "test_huge");
  (*huge.mutable_properties())["description"] =
      StringValue(std::string(5'000, 'd'));
  source.entities.push_back(huge);
  v1::Relationship big_relationship = MakeRelationship("a:1", "b:1");
  (*big_relationship.mutable_properties())["note"] =
      StringValue(std::string(5'000, 'n'));
  source.relationships.push_back(big_relationship);

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options(4'000));

  ASSERT_TRUE(result.ok()) << result.status();
  const JobSnapshot job = OnlyJob();
  EXPECT_THAT(Keys(job.entities),
              ElementsAre("test_thing:ok", "test_thing:raw"));
  EXPECT_TRUE(job.relationships.empty());
  EXPECT_THAT(job.entities.at("test_thing:raw"), Not(HasSubstr("_rawData")));
  EXPECT_THAT(job.entities.at("test_thing:ok"), HasSubstr("_rawData"));
  EXPECT_EQ(result->objects_without_raw_data, 1);
  EXPECT_EQ(result->skipped, 2);
  EXPECT_EQ(job.rejected_requests, 0);
  EXPECT_THAT(job.partial_types,
              ElementsAre("test_huge", "test_thing_has_other"));
  EXPECT_EQ(Events("warn_raw_data_truncated").size(), 1u);
  EXPECT_THAT(Events("warn_raw_data_truncated")[0].description(),
              HasSubstr("'test_thing:raw'"));
  EXPECT_EQ(Events("warn_ingestion_limit_encountered").size(), 2u);
}

TEST_F(UploaderTest, RawDataThatIsNotAnObjectIsSentAsText) {
  StartFake();
  VectorSource source;
  source.entities.push_back(
      MakeEntity("test_thing:list", "test_thing", R"([{"a":1},{"b":2}])"));
  source.entities.push_back(
      MakeEntity("test_thing:text", "test_thing", "not json at all"));

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options());

  ASSERT_TRUE(result.ok()) << result.status();
  const JobSnapshot job = OnlyJob();
  EXPECT_THAT(job.entities.at("test_thing:list"),
              HasSubstr(R"("rawData":"[{\"a\":1},{\"b\":2}]")"));
  EXPECT_THAT(job.entities.at("test_thing:text"),
              HasSubstr(R"("rawData":"not json at all")"));
}

// Generates entities on the fly, as a store cursor would.
class GeneratedSource : public ObjectSource {
 public:
  explicit GeneratedSource(int count) : count_(count) {}
  absl::Status ForEachEntity(
      const std::function<absl::Status(const v1::Entity&)>& fn) override {
    for (int i = 0; i < count_; ++i) {
      if (absl::Status status =
              fn(MakeEntity(absl::StrCat("test_thing:", i), "test_thing"));
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }
  absl::Status ForEachRelationship(
      const std::function<absl::Status(const v1::Relationship&)>&) override {
    return absl::OkStatus();
  }

 private:
  const int count_;
};

TEST_F(UploaderTest, StreamingKeepsAtMostTheBatchesInFlightInMemory) {
  StartFake();
  constexpr int kEntities = 200'000;
  constexpr int64_t kBatchBytes = 64 * 1024;
  GeneratedSource source(kEntities);

  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(Target(), source, {}, Options(kBatchBytes));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->entities_uploaded, kEntities);
  EXPECT_EQ(OnlyJob().entities.size(), static_cast<size_t>(kEntities));
  // ~25 MB of JSON went through ...
  EXPECT_GT(result->body_bytes, 100 * kBatchBytes);
  // ... holding no more than the batches in flight plus the one being filled.
  EXPECT_LE(result->peak_buffered_bytes,
            (kMaxBatchesInFlight + 1) * kBatchBytes);
  EXPECT_GE(result->peak_buffered_bytes, kBatchBytes);
}

TEST_F(UploaderTest, TheSinkDeliversARunWithItsPartialTypesAndCallbacks) {
  StartFake();
  VectorSource source;
  source.entities.push_back(MakeEntity("test_thing:1", "test_thing"));
  source.relationships.push_back(
      MakeRelationship("test_thing:1", "test_other:1"));
  UploaderOptions options = Options();
  options.on_event = nullptr;  // the delivery's callbacks replace these
  JupiterOneSink sink(Target(), options);
  std::vector<std::string> events;
  std::vector<UploadProgress> progress;
  SinkCallbacks callbacks;
  callbacks.on_event = [&](const v1::Event& event) {
    events.push_back(event.name());
  };
  callbacks.on_progress = [&](const UploadProgress& p) {
    progress.push_back(p);
  };
  Sink& as_sink = sink;

  absl::StatusOr<Delivery> delivery = as_sink.Deliver(
      {.run_id = 7, .objects = &source, .partial_types = {"test_other"}},
      callbacks);

  ASSERT_TRUE(delivery.ok()) << delivery.status();
  EXPECT_EQ(as_sink.name(), "JupiterOne");
  const JobSnapshot job = OnlyJob();
  EXPECT_EQ(delivery->id, job.job.id);
  EXPECT_EQ(delivery->entities_uploaded, 1);
  EXPECT_EQ(delivery->relationships_uploaded, 1);
  EXPECT_EQ(delivery->skipped, 0);
  EXPECT_THAT(job.partial_types, ElementsAre("test_other"));
  EXPECT_EQ(job.job.status, JobStatus::kFinished);
  EXPECT_THAT(events, ElementsAre("sync_upload_start", "sync_upload_end"));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().entities_uploaded, 1);
  EXPECT_EQ(progress.back().relationships_uploaded, 1);
  EXPECT_EQ(sink.last_result().job_status, "FINALIZE_PENDING");
}

TEST_F(UploaderTest, TheSinkRefusesARunWithoutObjects) {
  StartFake();
  JupiterOneSink sink(Target(), Options());
  absl::StatusOr<Delivery> delivery = sink.Deliver({}, {});
  EXPECT_EQ(delivery.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fake_->Jobs().empty());
}

}  // namespace
}  // namespace graphmill::sinks::testing
