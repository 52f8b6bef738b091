// A schedule fires a run on its own (a real coordinator, a one-minute cron).
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

TEST(ScheduleTest, CronScheduleStartsARun) {
  fakes::GeneratorOptions generator;
  generator.login = "sched-org";
  generator.orgs = 1;
  generator.projects_per_org = 1;
  generator.pipelines_per_project = 1;
  ClusterOptions options;
  options.workers = 1;
  options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(generator, 20));
  Cluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok());
  CommandResult created =
      CreateCircleCiInstance(cluster, "sched", "sched-org", kCircleCiToken,
                             {"--cron", "* * * * *", "--jitter", "1"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  CommandResult shown = cluster.Cli({"instance", "get", "sched"});
  EXPECT_TRUE(absl::StrContains(shown.out, "* * * * *")) << shown.out;
  // The next minute boundary (plus at most 1 s of jitter) starts a run.
  const absl::Time deadline = absl::Now() + absl::Seconds(75);
  bool fired = false;
  while (absl::Now() < deadline && !fired) {
    CommandResult runs =
        cluster.Cli({"run", "list", "--instance", "sched", "--output", "json"});
    fired = absl::StrContains(runs.out, "RUN_TRIGGER_SCHEDULE");
    if (!fired) absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_TRUE(fired) << cluster.AllLogs();
  CommandResult watched = cluster.Cli({"run", "watch", "1"});
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  EXPECT_FALSE(ReadGraph(cluster, "sched").empty());
}

}  // namespace
}  // namespace graphmill::testing
