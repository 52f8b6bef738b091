// Incremental runs across real processes: a second run over unchanged data
// makes few provider requests and changes nothing; after incremental runs
// over data that changes the way providers change it (new pipelines, running
// workflows that finish), the graph equals a full run's; `run start --full`
// re-fetches everything.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/e2e/expected_graph.h"
#include "tests/e2e/fake_control.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "incremental-org";

class IncrementalTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void SetUp() override {
    generator_.seed = 16;
    generator_.login = kLogin;
    generator_.orgs = 2;
    generator_.projects_per_org = 3;
    generator_.pipelines_per_project = 20;
    generator_.workflows_per_pipeline = 2;
    generator_.jobs_per_workflow = 3;
    generator_.contexts_per_org = 1;
    auto dataset = fakes::GenerateDataset(generator_);
    ASSERT_TRUE(dataset.ok());
    dataset_ = *dataset;
    ClusterOptions options;
    options.store = GetParam();
    options.workers = 2;
    options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(generator_, 5));
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start().ok());
  }

  // Runs `instance` to its end (created on first use); returns the run.
  v1::Run Run(const std::string& instance, bool full = false) {
    if (cluster_->Cli({"instance", "get", instance}).exit_code != 0) {
      EXPECT_EQ(
          CreateCircleCiInstance(*cluster_, instance, kLogin, kCircleCiToken)
              .exit_code,
          0);
    }
    return FinishRun(*cluster_, instance, full);
  }

  // Provider requests since the last call (the fake's counters, reset).
  int64_t Requests() {
    const std::string root = cluster_->fake_url("circleci");
    httplib::Client client(root);
    auto counters = client.Get("/_control/counters");
    EXPECT_TRUE(counters && counters->status == 200);
    rapidjson::Document document;
    document.Parse(counters ? counters->body.c_str() : "{}");
    const int64_t total = document.IsObject() && document.HasMember("total")
                              ? document["total"].GetInt64()
                              : -1;
    Control(root, "DELETE", "/_control/counters");
    return total;
  }

  // The id of the workflow of `pipeline_id` (one add_pipeline made), from the
  // fake's current dataset.
  std::string WorkflowOf(const std::string& pipeline_id) {
    httplib::Client client(cluster_->fake_url("circleci"));
    auto dataset = client.Get("/_control/dataset");
    EXPECT_TRUE(dataset && dataset->status == 200);
    rapidjson::Document document;
    document.Parse(dataset ? dataset->body.c_str() : "{}");
    if (document.IsObject() && document.HasMember("workflows")) {
      for (const auto& workflow : document["workflows"].GetArray()) {
        if (workflow["pipeline_id"].GetString() == pipeline_id) {
          return workflow["id"].GetString();
        }
      }
    }
    ADD_FAILURE() << "no workflow of pipeline " << pipeline_id;
    return "";
  }

  void Mutate(const std::string& json) {
    Control(cluster_->fake_url("circleci"), "POST", "/_control/mutations",
            json);
  }

  fakes::GeneratorOptions generator_;
  fakes::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(IncrementalTest, ASecondRunOverUnchangedDataIsCheapAndChangesNothing) {
  const v1::Run first = Run("ci");
  EXPECT_EQ(first.incremental_since_ms(), 0) << "the first run is full";
  const int64_t first_requests = Requests();
  const GraphByType before = ReadGraph(*cluster_, "ci");
  EXPECT_EQ(CountByType(before), ExpectedCircleCiCounts(dataset_, kLogin));

  const v1::Run second = Run("ci");
  const int64_t second_requests = Requests();
  EXPECT_GT(second.incremental_since_ms(), 0) << "incremental";
  EXPECT_EQ(second.status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_EQ(
      second.created_count() + second.updated_count() + second.deleted_count(),
      0);
  EXPECT_TRUE(ReadGraph(*cluster_, "ci") == before);
  EXPECT_LE(second_requests * 10, first_requests)
      << second_requests << " requests after " << first_requests;
  std::cout << "requests: full run " << first_requests << ", incremental run "
            << second_requests << "\n";

  // --full looks at everything again.
  const v1::Run full = Run("ci", /*full=*/true);
  EXPECT_EQ(full.incremental_since_ms(), 0);
  const int64_t full_requests = Requests();
  EXPECT_GT(full_requests, 5 * second_requests) << full_requests;
  CommandResult shown =
      cluster_->Cli({"run", "show", absl::StrCat(second.id())});
  EXPECT_TRUE(
      absl::StrContains(shown.out, "mode      incremental (pipelines since "))
      << shown.out;
}

TEST_P(IncrementalTest, IncrementalRunsOverChangingDataEqualAFullRun) {
  // A pipeline still running when the first run looks.
  const std::string project = dataset_.projects[1].slug;
  Mutate(absl::StrCat(R"({"op":"add_pipeline","project":")", project,
                      R"(","id":"running-1","status":"running"})"));
  Run("ci");
  // It finishes; another starts and ends; a third is still running.
  Mutate(absl::StrCat(
      R"([{"op":"set_workflow_status","id":")", WorkflowOf("running-1"),
      R"(","status":"success"},)", R"({"op":"add_pipeline","project":")",
      project, R"(","id":"new-2","status":"failed"},)",
      R"({"op":"add_pipeline","project":")", dataset_.projects[4].slug,
      R"(","id":"new-3","status":"on_hold"}])"));
  const v1::Run second = Run("ci");
  EXPECT_GT(second.incremental_since_ms(), 0);
  Mutate(absl::StrCat(R"({"op":"set_workflow_status","id":")",
                      WorkflowOf("new-3"), R"(","status":"success"})"));
  const v1::Run third = Run("ci");
  EXPECT_GT(third.incremental_since_ms(), 0);

  const v1::Run reference = Run("fresh");
  EXPECT_EQ(reference.incremental_since_ms(), 0);
  const GraphByType incremental = ReadGraph(*cluster_, "ci");
  EXPECT_EQ(GraphDifference(ReadGraph(*cluster_, "fresh"), incremental), "");
  EXPECT_TRUE(
      incremental.at("circleci_pipeline").contains("circleci_pipeline:new-3"));
}

INSTANTIATE_TEST_SUITE_P(Stores, IncrementalTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

}  // namespace
}  // namespace graphmill::testing
