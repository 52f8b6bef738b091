// A schedule starts a run on its own: a real coordinator, a cron schedule and
// no `run start`.
//
// Cron slots are whole minutes and the shortest polling interval is 30
// minutes, so waiting for a slot to come due would take up to a minute.
// Instead the test makes one overdue, as a coordinator that was down would
// find it: with the coordinator stopped it moves the instance's last fired
// slot a year back through the Store API, and on restart the missed slot fires
// once, at once. When slots come due (cron minutes, intervals, jitter) is
// covered without a clock by coordinator/scheduler's unit tests.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "coordinator/store/store.h"
#include "rapidjson/document.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kInstance[] = "sched";
// Once a year (January 1st, 00:00 UTC): never due while the test runs, unless
// its last fired slot is moved back.
constexpr char kYearly[] = "0 0 1 1 *";

// Against each store (GRAPHMILL_E2E_STORES; see StoresUnderTest()).
class ScheduleTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void SetUp() override {
    fakes::GeneratorOptions generator;
    generator.login = "sched-org";
    generator.orgs = 1;
    generator.projects_per_org = 1;
    generator.pipelines_per_project = 1;
    ClusterOptions options;
    options.workers = 1;
    options.store = GetParam();
    options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(generator, 20));
    cluster_ = std::make_unique<Cluster>(options);
    absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  // The triggers of the instance's runs (RUN_TRIGGER_...), as listed.
  std::vector<std::string> Triggers() {
    std::vector<std::string> triggers;
    for (const std::string& line :
         cluster_->CliJsonLines({"run", "list", "--instance", kInstance})) {
      rapidjson::Document run;
      run.Parse(line.c_str());
      if (run.HasParseError() || !run.IsObject()) {
        ADD_FAILURE() << "not a JSON object: " << line;
        continue;
      }
      const auto trigger = run.FindMember("trigger");
      triggers.push_back(trigger != run.MemberEnd() && trigger->value.IsString()
                             ? trigger->value.GetString()
                             : "RUN_TRIGGER_UNSPECIFIED");
    }
    return triggers;
  }

  std::unique_ptr<Cluster> cluster_;
};

TEST_P(ScheduleTest, AnOverdueCronSlotStartsOneRunOnItsOwn) {
  CommandResult created =
      CreateCircleCiInstance(*cluster_, kInstance, "sched-org", kCircleCiToken,
                             {"--cron", kYearly, "--jitter", "1"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  CommandResult shown = cluster_->Cli({"instance", "get", kInstance});
  EXPECT_TRUE(absl::StrContains(shown.out, kYearly)) << shown.out;
  EXPECT_TRUE(Triggers().empty());

  cluster_->StopCoordinator(SIGTERM);
  {
    absl::StatusOr<std::unique_ptr<coordinator::Store>> store =
        coordinator::Store::Open(cluster_->store_spec());
    ASSERT_TRUE(store.ok()) << store.status();
    const absl::Status moved = (*store)->SetLastScheduledSlot(
        kInstance, absl::ToUnixMillis(absl::Now() - absl::Hours(24 * 400)));
    ASSERT_TRUE(moved.ok()) << moved;
  }
  absl::Status restarted = cluster_->StartCoordinator();
  ASSERT_TRUE(restarted.ok()) << restarted;

  // The coordinator decides schedules every second.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::vector<std::string> triggers;
  while (absl::Now() < deadline && triggers.empty()) {
    triggers = Triggers();
    if (triggers.empty()) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(triggers, std::vector<std::string>{"RUN_TRIGGER_SCHEDULE"})
      << cluster_->AllLogs();
  CommandResult watched = cluster_->Cli({"run", "watch", "1"});
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  EXPECT_FALSE(ReadGraph(*cluster_, kInstance).empty());
  // However many slots were missed, one run stood for them all: the missed
  // slot is recorded, and the next is next January.
  EXPECT_EQ(Triggers(), std::vector<std::string>{"RUN_TRIGGER_SCHEDULE"});
}

INSTANTIATE_TEST_SUITE_P(Stores, ScheduleTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

}  // namespace
}  // namespace graphmill::testing
