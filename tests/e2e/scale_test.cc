// A large generated CircleCI org across real processes: 3 orgs, 51 projects,
// 2,040 pipelines, 6,120 workflows and 24,480 jobs, with pages of 2 items so
// every paginated endpoint returns several pages; two workers share the sharded
// steps. The graph must be exact.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

TEST(ScaleTest, LargeOrgGivesTheExactGraphWithTwoWorkers) {
  fakes::GeneratorOptions generator;
  generator.seed = 2024;
  generator.login = "scale-org";
  generator.orgs = 3;
  generator.projects_per_org = 17;
  generator.pipelines_per_project = 40;
  generator.workflows_per_pipeline = 3;
  generator.jobs_per_workflow = 4;
  generator.contexts_per_org = 3;
  generator.env_vars_per_project = 3;
  generator.env_vars_per_context = 3;
  generator.project_restrictions_per_context = 3;
  auto dataset = fakes::GenerateDataset(generator);
  ASSERT_TRUE(dataset.ok());
  ASSERT_GE(dataset->projects.size(), 50u);
  ASSERT_GE(dataset->pipelines.size(), 2000u);
  ASSERT_GE(dataset->workflows.size(), 6000u);
  ASSERT_GE(dataset->jobs.size(), 20000u);

  ClusterOptions options;
  options.workers = 2;
  options.fakes["circleci"] =
      CircleCiFake(FakeCircleCiFlags(generator, /*page_size=*/2));
  Cluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_EQ(CreateCircleCiInstance(cluster, "big", "scale-org", kCircleCiToken,
                                   {"--rate-limit", "100000"})
                .exit_code,
            0);
  const absl::Time start = absl::Now();
  CommandResult run = cluster.Cli({"run", "start", "big", "--watch"});
  const absl::Duration took = absl::Now() - start;
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::cout << "ingested " << dataset->jobs.size() << " jobs in "
            << absl::FormatDuration(took) << "\n";
  EXPECT_EQ(CountByType(ReadGraph(cluster, "big")),
            ExpectedCircleCiCounts(*dataset, "scale-org"));
  // Both workers ran tasks.
  for (auto& worker : cluster.workers()) {
    EXPECT_NE(worker->Log().find("starting task"), std::string::npos);
  }
}

}  // namespace
}  // namespace graphmill::testing
