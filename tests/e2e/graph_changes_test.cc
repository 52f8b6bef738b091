// Finalize and the change stream across real processes: the events of a second
// run are exactly the difference to a fresh run on the new data; a failed step
// deletes nothing of its types; subscribers resume without loss or duplicates,
// filter exactly, and a stalled one blocks nothing.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "rapidjson/document.h"
#include "re2/re2.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "change-org";

// Collects a Subscribe stream in a background thread.
class Subscriber {
 public:
  Subscriber(std::shared_ptr<grpc::Channel> channel,
             v1::SubscribeRequest request, bool read = true)
      : channel_(std::move(channel)), stub_(v1::Graph::NewStub(channel_)) {
    thread_ = std::thread([this, request, read] {
      auto reader = stub_->Subscribe(&context_, request);
      v1::ChangeEvent event;
      while (read && reader->Read(&event)) {
        absl::MutexLock lock(&mu_);
        events_.push_back(event);
      }
      if (!read) {
        // A stalled subscriber: it never reads, it only waits to be cancelled.
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(&stopping_));
      }
      status_ = reader->Finish();
    });
  }
  ~Subscriber() { Stop(); }

  // Waits until `count` events arrived (or `timeout`); returns them.
  std::vector<v1::ChangeEvent> WaitFor(size_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return events_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return events_;
  }
  std::vector<v1::ChangeEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Graph::Stub> stub_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  std::vector<v1::ChangeEvent> events_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_;
  std::thread thread_;
};

std::string KeyOf(const v1::ChangeEvent& event) {
  return event.has_entity() ? event.entity().key() : event.relationship().key();
}
std::string TypeOf(const v1::ChangeEvent& event) {
  return event.has_entity() ? event.entity().type()
                            : event.relationship().type();
}

// Against each store (GRAPHMILL_E2E_STORES; see StoresUnderTest()).
class GraphChangesTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void SetUp() override {
    generator_.seed = 11;
    generator_.login = kLogin;
    generator_.orgs = 2;
    generator_.projects_per_org = 3;
    generator_.pipelines_per_project = 3;
    generator_.workflows_per_pipeline = 2;
    generator_.jobs_per_workflow = 2;
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

  void Run(const std::string& instance, int expected_exit = 0) {
    if (cluster_->Cli({"instance", "get", instance}).exit_code != 0) {
      ASSERT_EQ(
          CreateCircleCiInstance(*cluster_, instance, kLogin, kCircleCiToken)
              .exit_code,
          0);
    }
    // Full runs: these tests are about deleting what the provider deleted.
    CommandResult run =
        cluster_->Cli({"run", "start", instance, "--watch", "--full"});
    ASSERT_EQ(run.exit_code, expected_exit)
        << run.out << run.err << cluster_->AllLogs();
  }

  // POSTs to the fake CircleCI's control API.
  void Control(const std::string& path, const std::string& body) {
    httplib::Client client(cluster_->fake_url("circleci"));
    auto response = client.Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(response) << path;
    ASSERT_EQ(response->status, 200)
        << path << " " << body << ": " << response->body;
  }

  int64_t LastSequence(const std::string& instance) {
    return testing::LastSequence(*cluster_, instance);
  }

  fakes::GeneratorOptions generator_;
  fakes::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(GraphChangesTest, SecondRunEmitsExactlyTheDiffAndEqualsAFreshRun) {
  ASSERT_NO_FATAL_FAILURE(Run("ci"));
  const GraphByType before = ReadGraph(*cluster_, "ci");
  const int64_t after_run_1 = LastSequence("ci");
  ASSERT_GT(after_run_1, 0);
  v1::SubscribeRequest request;
  request.add_instance_ids("ci");
  request.set_after_sequence(after_run_1);
  Subscriber subscriber(cluster_->NewChannel(), request);

  // The provider's data changes: a pipeline gone, a project renamed, an
  // organization (user group) added, a context restriction (a USES
  // relationship) removed.
  const fakes::Pipeline& gone = dataset_.pipelines[0];
  const fakes::Project& renamed = dataset_.projects[1];
  const fakes::ContextRestriction* restriction = nullptr;
  for (const auto& r : dataset_.restrictions) {
    if (r.restriction_type == "project") restriction = &r;
  }
  ASSERT_NE(restriction, nullptr);
  Control("/_control/mutations",
          absl::StrCat(R"([{"op":"remove_pipeline","id":")", gone.id, R"("},)",
                       R"({"op":"rename_project","project":")", renamed.id,
                       R"(","name":"renamed-project"},)",
                       R"({"op":"add_org","name":"new-org"},)",
                       R"({"op":"remove_restriction","id":")", restriction->id,
                       R"("}])"));
  ASSERT_NO_FATAL_FAILURE(Run("ci"));
  ASSERT_NO_FATAL_FAILURE(Run("fresh"));
  const GraphByType after = ReadGraph(*cluster_, "ci");
  EXPECT_TRUE(after == ReadGraph(*cluster_, "fresh"));

  // The expected events: the difference between the two graphs, object by
  // object.
  std::set<std::string> expected;
  for (const auto& [type, objects] : after) {
    for (const auto& [key, json] : objects) {
      auto was = before.find(type);
      if (was == before.end() || !was->second.contains(key)) {
        expected.insert("CHANGE_KIND_CREATED " + key);
      } else if (was->second.at(key) != json) {
        expected.insert("CHANGE_KIND_UPDATED " + key);
      }
    }
  }
  for (const auto& [type, objects] : before) {
    for (const auto& [key, json] : objects) {
      auto now = after.find(type);
      if (now == after.end() || !now->second.contains(key)) {
        expected.insert("CHANGE_KIND_DELETED " + key);
      }
    }
  }
  std::vector<v1::ChangeEvent> events =
      subscriber.WaitFor(expected.size(), absl::Seconds(20));
  absl::SleepFor(absl::Milliseconds(300));  // nothing more may arrive
  events = subscriber.events();
  std::set<std::string> received;
  for (size_t i = 0; i < events.size(); ++i) {
    received.insert(absl::StrCat(v1::ChangeKind_Name(events[i].kind()), " ",
                                 KeyOf(events[i])));
    if (i > 0) {
      EXPECT_GT(events[i].sequence(), events[i - 1].sequence());
    }
    EXPECT_EQ(events[i].instance_id(), "ci");
  }
  EXPECT_EQ(received.size(), events.size()) << "an object changed twice";
  EXPECT_EQ(received, expected);
  EXPECT_TRUE(
      expected.contains("CHANGE_KIND_DELETED circleci_pipeline:" + gone.id));
  EXPECT_TRUE(
      expected.contains("CHANGE_KIND_UPDATED circleci_project:" + renamed.id));
  for (const v1::ChangeEvent& event : events) {
    if (KeyOf(event) == "circleci_project:" + renamed.id) {
      EXPECT_EQ(event.entity().properties().at("name").string_value(),
                "renamed-project");
      EXPECT_EQ(event.previous_entity().properties().at("name").string_value(),
                renamed.name);
    }
  }
  bool group_created = false;
  bool uses_deleted = false;
  for (const std::string& change : expected) {
    group_created |=
        absl::StartsWith(change, "CHANGE_KIND_CREATED circleci_user_group:");
    uses_deleted |=
        absl::StartsWith(change, "CHANGE_KIND_DELETED circleci_project:") &&
        absl::StrContains(change, "|uses|");
  }
  EXPECT_TRUE(group_created);
  EXPECT_TRUE(uses_deleted);
}

TEST_P(GraphChangesTest, FailedStepKeepsItsTypesAndDeletesNothingOfThem) {
  ASSERT_NO_FATAL_FAILURE(Run("ci"));
  const GraphByType before = ReadGraph(*cluster_, "ci");
  // Every jobs listing fails from now on (after the client's retries).
  Control("/_control/faults", R"({"faults":["workflow-jobs:500"]})");
  ASSERT_NO_FATAL_FAILURE(Run("ci", /*expected_exit=*/2));  // PARTIAL
  const GraphByType after = ReadGraph(*cluster_, "ci");
  for (const char* type : {"circleci_job", "circleci_workflow_has_job"}) {
    ASSERT_TRUE(before.contains(type));
    EXPECT_TRUE(after.contains(type) && after.at(type) == before.at(type))
        << type;
  }
  EXPECT_TRUE(after == before);
}

TEST_P(GraphChangesTest, KilledSubscriberResumesWithEveryEventExactlyOnce) {
  // Subscribing to an instance needs it to exist (NOT_FOUND otherwise); the
  // log replays from the start, so nothing is missed.
  ASSERT_EQ(
      CreateCircleCiInstance(*cluster_, "ci", kLogin, kCircleCiToken).exit_code,
      0);
  const std::string log = cluster_->dir() + "/subscriber-1.log";
  std::vector<std::string> first_args = cluster_->CliFlags();
  first_args.insert(first_args.end(), {"subscribe", "--instance", "ci"});
  auto first = Process::Start(Runfile("client/graphmill"), first_args, log);
  ASSERT_TRUE(first.ok());
  std::thread run([&] { cluster_->Cli({"run", "start", "ci", "--watch"}); });
  // Kill the subscriber once it has printed some events, mid-stream.
  std::vector<int64_t> sequences;
  auto read_sequences = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<int64_t> result;
    for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
      rapidjson::Document document;
      document.Parse(line.data(), line.size());
      if (document.HasParseError() || !document.IsObject())
        continue;  // a cut-off line
      // The CLI's JSON prints int64 as strings (client/json_output.h).
      int64_t sequence = 0;
      EXPECT_TRUE(document["sequence"].IsString() &&
                  absl::SimpleAtoi(document["sequence"].GetString(), &sequence))
          << line;
      result.push_back(sequence);
    }
    return result;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline && read_sequences(log).size() < 20) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  (*first)->Signal(SIGKILL);
  (*first)->Wait(absl::Seconds(5));
  sequences = read_sequences(log);
  ASSERT_GE(sequences.size(), 20u);
  std::vector<std::string> second_args = cluster_->CliFlags();
  second_args.insert(second_args.end(),
                     {"subscribe", "--instance", "ci", "--from",
                      absl::StrCat(sequences.back())});
  auto second = Process::Start(Runfile("client/graphmill"), second_args,
                               cluster_->dir() + "/subscriber-2.log");
  ASSERT_TRUE(second.ok());
  run.join();
  const int64_t last = LastSequence("ci");
  while (absl::Now() < deadline + absl::Seconds(20)) {
    std::vector<int64_t> rest =
        read_sequences(cluster_->dir() + "/subscriber-2.log");
    if (!rest.empty() && rest.back() == last) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  (*second)->Stop();
  for (int64_t s : read_sequences(cluster_->dir() + "/subscriber-2.log"))
    sequences.push_back(s);
  // Every change of the log, once, in order.
  std::vector<int64_t> all;
  for (int64_t s = 1; s <= last; ++s) all.push_back(s);
  EXPECT_EQ(sequences, all);
}

// The caught_up marker against a real coordinator: after the whole backlog
// and before the changes of a later run, once per stream, also when the
// backlog is empty; `graphmill subscribe --until-caught-up` prints the backlog
// and the marker line (stderr) and exits 0.
TEST_P(GraphChangesTest, SubscribersAreToldWhereTheBacklogEnds) {
  ASSERT_NO_FATAL_FAILURE(Run("ci"));
  const int64_t backlog_end = LastSequence("ci");
  ASSERT_GT(backlog_end, 0);
  v1::SubscribeRequest request;
  request.add_instance_ids("ci");
  request.set_mark_caught_up(true);
  Subscriber from_start(cluster_->NewChannel(), request);
  request.set_after_sequence(backlog_end);
  Subscriber from_end(cluster_->NewChannel(), request);
  // Waits until the subscriber's marker arrived; returns the events.
  auto until_marker = [](Subscriber& subscriber) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    std::vector<v1::ChangeEvent> events;
    do {
      events = subscriber.events();
      for (const v1::ChangeEvent& event : events) {
        if (event.caught_up()) return events;
      }
      absl::SleepFor(absl::Milliseconds(10));
    } while (absl::Now() < deadline);
    ADD_FAILURE() << "no caught_up marker after " << events.size() << " events";
    return events;
  };
  std::vector<v1::ChangeEvent> events = until_marker(from_start);
  ASSERT_EQ(events.size(), static_cast<size_t>(backlog_end + 1));
  for (int64_t i = 0; i < backlog_end; ++i) {
    EXPECT_FALSE(events[i].caught_up());
    EXPECT_EQ(events[i].sequence(), i + 1);
  }
  EXPECT_EQ(events.back().sequence(), backlog_end);
  events = until_marker(from_end);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].sequence(), backlog_end);

  CommandResult cli =
      cluster_->Cli({"subscribe", "--instance", "ci", "--until-caught-up"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(std::count(cli.out.begin(), cli.out.end(), '\n'), backlog_end);
  EXPECT_EQ(cli.err,
            absl::StrCat("# caught up at sequence ", backlog_end, "\n"));
  cli = cluster_->Cli({"subscribe", "--instance", "ci", "--from",
                       absl::StrCat(backlog_end), "--until-caught-up"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, "");
  EXPECT_EQ(cli.err,
            absl::StrCat("# caught up at sequence ", backlog_end, "\n"));

  // A change committed afterwards arrives live, after the marker, and no
  // second marker comes.
  Control(
      "/_control/mutations",
      absl::StrCat(R"([{"op":"rename_project","project":")",
                   dataset_.projects[0].id, R"(","name":"renamed-project"}])"));
  ASSERT_NO_FATAL_FAILURE(Run("ci"));
  const int64_t live_end = LastSequence("ci");
  ASSERT_GT(live_end, backlog_end);
  // Each stream's events up to and including its marker, as checked above.
  for (auto [subscriber, before] :
       {std::pair<Subscriber*, size_t>{&from_start,
                                       static_cast<size_t>(backlog_end + 1)},
        {&from_end, 1}}) {
    const size_t expected =
        before + static_cast<size_t>(live_end - backlog_end);
    subscriber->WaitFor(expected, absl::Seconds(20));
    absl::SleepFor(absl::Milliseconds(300));  // nothing more may arrive
    events = subscriber->events();
    ASSERT_EQ(events.size(), expected);
    for (size_t i = before; i < events.size(); ++i) {
      EXPECT_FALSE(events[i].caught_up()) << i;
      EXPECT_EQ(events[i].sequence(),
                backlog_end + static_cast<int64_t>(i - before) + 1);
    }
  }
}

TEST_P(GraphChangesTest,
       TenFilteredSubscribersGetExactlyTheirEventsAndAStalledOneBlocksNothing) {
  struct Filter {
    std::string type;
    std::string class_name;
    std::vector<v1::ChangeKind> kinds;
    std::string instance;
  };
  const std::vector<Filter> filters = {
      {"circleci_job", "", {}, ""},
      {"circleci_.*_has_.*", "", {}, ""},
      {"", "Configuration", {}, ""},
      {"", "HAS", {}, ""},
      {"", "", {v1::CHANGE_KIND_CREATED}, ""},
      {"", "", {v1::CHANGE_KIND_DELETED}, ""},
      {"circleci_user.*", "", {}, "ci"},
      {"", "", {}, "other-instance"},
      {"circleci_(pipeline|workflow)", "", {v1::CHANGE_KIND_CREATED}, ""},
      {"", "Task|Repository", {}, "ci"},
  };
  // Subscribing to an instance needs it to exist (NOT_FOUND otherwise).
  for (const char* instance : {"ci", "other-instance"}) {
    ASSERT_EQ(
        CreateCircleCiInstance(*cluster_, instance, kLogin, kCircleCiToken)
            .exit_code,
        0);
  }
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (const Filter& filter : filters) {
    v1::SubscribeRequest request;
    request.set_type_pattern(filter.type);
    request.set_class_pattern(filter.class_name);
    for (auto kind : filter.kinds) request.add_kinds(kind);
    if (!filter.instance.empty()) request.add_instance_ids(filter.instance);
    subscribers.push_back(
        std::make_unique<Subscriber>(cluster_->NewChannel(), request));
  }
  // A subscriber that never reads: its stream fills up, and nothing else may
  // wait for it.
  Subscriber stalled(cluster_->NewChannel(), v1::SubscribeRequest(),
                     /*read=*/false);
  const absl::Time start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(Run("ci"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(60));

  Subscriber everything(cluster_->NewChannel(), v1::SubscribeRequest());
  const int64_t last = LastSequence("ci");
  std::vector<v1::ChangeEvent> all =
      everything.WaitFor(last, absl::Seconds(20));
  ASSERT_EQ(all.size(), static_cast<size_t>(last));
  for (size_t i = 0; i < filters.size(); ++i) {
    const Filter& filter = filters[i];
    std::vector<int64_t> expected;
    for (const v1::ChangeEvent& event : all) {
      if (!filter.instance.empty() && event.instance_id() != filter.instance)
        continue;
      if (!filter.kinds.empty() &&
          std::find(filter.kinds.begin(), filter.kinds.end(), event.kind()) ==
              filter.kinds.end()) {
        continue;
      }
      if (!filter.type.empty() && !RE2::FullMatch(TypeOf(event), filter.type))
        continue;
      if (!filter.class_name.empty()) {
        bool match = false;
        if (event.has_entity()) {
          for (const auto& c : event.entity().classes())
            match |= RE2::FullMatch(c, filter.class_name);
        } else {
          match = RE2::FullMatch(event.relationship().class_name(),
                                 filter.class_name);
        }
        if (!match) continue;
      }
      expected.push_back(event.sequence());
    }
    std::vector<v1::ChangeEvent> got =
        subscribers[i]->WaitFor(expected.size(), absl::Seconds(10));
    absl::SleepFor(absl::Milliseconds(100));
    got = subscribers[i]->events();
    std::vector<int64_t> sequences;
    for (const auto& event : got) sequences.push_back(event.sequence());
    EXPECT_EQ(sequences, expected) << "filter " << i;
  }
  // Filters that must have matched something (so the comparison above is not
  // vacuous).
  EXPECT_GT(subscribers[0]->events().size(), 0u);
  EXPECT_TRUE(subscribers[7]->events().empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, GraphChangesTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

}  // namespace
}  // namespace graphmill::testing
