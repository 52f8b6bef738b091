// Tests of dataset_json.h: exact round trip (minus env var values), piecewise
// writing, errors naming the member, and speed at 30k+ items.
#include "tests/fakes/circleci/dataset_json.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/circleci/mutations.h"
#include "tests/fakes/circleci/test_util.h"

namespace graphmill::fakes {
namespace {

using fake_test::WithoutSecrets;
using ::testing::HasSubstr;

Dataset Generate(GeneratorOptions options = {}) {
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *std::move(data) : Dataset();
}

TEST(DatasetJsonTest, RoundTripsEverythingButEnvVarValues) {
  Dataset data = Generate();
  // A canceled workflow has canceled_by; make sure one is there.
  absl::StatusOr<Dataset> mutated = ApplyMutations(
      data, {Mutation::SetWorkflowStatus(data.workflows[0].id, "canceled")});
  ASSERT_TRUE(mutated.ok());
  const std::string json = DatasetToJson(*mutated, 7);
  absl::StatusOr<VersionedDataset> back = DatasetFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, 7);
  EXPECT_EQ(back->data, WithoutSecrets(*mutated));
  // The secret values are not in the text at all.
  for (const ProjectEnvVar& var : mutated->project_env_vars) {
    EXPECT_EQ(json.find(var.value), std::string::npos) << var.name;
  }
}

TEST(DatasetJsonTest, EmptyDatasetIsValidJson) {
  const std::string json = DatasetToJson(Dataset());
  EXPECT_EQ(json, R"({"version":0,"user":{"id":"","login":""},"orgs":[],)"
                  R"("projects":[],"pipelines":[],"workflows":[],"jobs":[],)"
                  R"("project_env_vars":[],"contexts":[],"restrictions":[],)"
                  R"("context_env_vars":[]})");
  absl::StatusOr<VersionedDataset> back = DatasetFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->data, Dataset());
}

TEST(DatasetJsonTest, PiecesConcatenateToTheWholeAndRespectTheSize) {
  const auto data = std::make_shared<const Dataset>(Generate());
  for (const size_t max_bytes :
       {size_t{0}, size_t{1}, size_t{500}, size_t{10'000'000}}) {
    DatasetJsonWriter writer(data, 3);
    std::string all;
    int pieces = 0;
    std::string piece;
    while (writer.Next(max_bytes, &piece)) {
      ASSERT_FALSE(piece.empty());
      ++pieces;
      // A piece stops at the first item that crosses the size (items are
      // < 1,000 bytes here).
      if (max_bytes >= 500) {
        EXPECT_LT(piece.size(), max_bytes + 1000);
      }
      all += piece;
      piece.clear();
      ASSERT_LT(pieces, 100'000);
    }
    EXPECT_FALSE(writer.Next(max_bytes, &piece));
    EXPECT_TRUE(piece.empty());
    EXPECT_EQ(all, DatasetToJson(*data, 3)) << max_bytes;
    if (max_bytes == 500) {
      EXPECT_GT(pieces, 10);
    }
    if (max_bytes == 10'000'000) {
      EXPECT_EQ(pieces, 1);
    }
  }
}

TEST(DatasetJsonTest, ErrorsNameTheMember) {
  const std::string json = DatasetToJson(Generate());
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  doc["jobs"][3].RemoveMember("status");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  absl::StatusOr<VersionedDataset> broken =
      DatasetFromJson(std::string(buffer.GetString(), buffer.GetSize()));
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(broken.status().message(),
              HasSubstr("jobs[3].status must be a string"));
  EXPECT_THAT(DatasetFromJson("{\"version\":1}").status().message(),
              HasSubstr("user"));
  EXPECT_THAT(DatasetFromJson("[1]").status().message(),
              HasSubstr("not a JSON object"));
}

TEST(DatasetJsonTest, ThirtyThousandItemsWriteAndReadBack) {
  GeneratorOptions options;
  options.orgs = 2;
  options.projects_per_org = 10;
  options.pipelines_per_project = 25;  // 500 pipelines
  options.workflows_per_pipeline = 3;  // 1,500 workflows
  options.jobs_per_workflow = 20;      // 30,000 jobs
  const Dataset data = Generate(options);
  ASSERT_EQ(data.jobs.size(), 30'000u);
  const auto start = std::chrono::steady_clock::now();
  const std::string json = DatasetToJson(data);
  const auto written = std::chrono::steady_clock::now();
  absl::StatusOr<VersionedDataset> back = DatasetFromJson(json);
  const auto read = std::chrono::steady_clock::now();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->data, WithoutSecrets(data));
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const long long write_ms =
      duration_cast<milliseconds>(written - start).count();
  const long long read_ms = duration_cast<milliseconds>(read - written).count();
  std::printf("%zu bytes for %zu jobs: write %lld ms, read %lld ms\n",
              json.size(), data.jobs.size(), write_ms, read_ms);
  // Printed, not asserted: a time bound is flaky on a loaded machine.
}

}  // namespace
}  // namespace graphmill::fakes
