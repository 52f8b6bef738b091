// Measures the store's write path the way a large run uses it: tasks stage
// batches of objects and commit, then the run is finalized. Three runs over one
// instance: the first creates every object, the second collects the same data
// (nothing changes), the third changes a tenth of the entities. Prints objects
// per second for staging (StageBatch + CommitAttempt) and for Finalize, and
// this process's resident memory: the store runs in the coordinator's process,
// so its memory is the coordinator's (for PostgreSQL, the client side).
//
//   bazel run -c opt //coordinator/store:store_bench -- --store=sqlite
//   bazel run -c opt //coordinator/store:store_bench -- --store=postgres
//
// --store: "sqlite" (a file in a new temporary directory), "postgres" (a
// throwaway PostgreSQL 15 server, testing/postgres_server.h), or a spec as the
// coordinator's --store takes it.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/graph_objects.h"
#include "common/status_macros.h"
#include "coordinator/store/store.h"
#include "coordinator/store/testing/postgres_server.h"

ABSL_FLAG(std::string, store, "sqlite",
          "sqlite, postgres, or a store spec (a SQLite path or a "
          "postgresql:// URI)");
ABSL_FLAG(int64_t, entities, 500'000,
          "entities per run; each but the first also has one relationship");
ABSL_FLAG(int, objects_per_task, 10'000, "objects each task stages");
ABSL_FLAG(int, batch, 500, "objects per StageBatch");

namespace graphmill::coordinator {
namespace {

constexpr char kInstance[] = "bench";
constexpr char kStep[] = "fetch-jobs";
constexpr char kLease[] = "bench-lease";

// VmRSS and VmHWM of this process, in MiB.
std::string Memory() {
  std::ifstream status("/proc/self/status");
  std::string line, rss = "?", hwm = "?";
  while (std::getline(status, line)) {
    auto value = [&] {
      const int64_t kib = std::atoll(line.c_str() + line.find(':') + 1);
      return absl::StrFormat("%.0f", kib / 1024.0);
    };
    if (line.rfind("VmRSS:", 0) == 0) rss = value();
    if (line.rfind("VmHWM:", 0) == 0) hwm = value();
  }
  return absl::StrCat("RSS ", rss, " MiB (peak ", hwm, " MiB)");
}

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition definition;
  definition.set_name("bench");
  definition.set_version("1");
  definition.add_steps()->set_id(kStep);
  return definition;
}

// A job-like entity of about 0.5 KB; `revision` changes its content.
v1::Entity Job(int64_t index, int revision) {
  v1::Entity entity;
  entity.set_key(absl::StrFormat("circleci_job:%012d", index));
  entity.set_type("circleci_job");
  entity.add_classes("Task");
  auto& properties = *entity.mutable_properties();
  const std::string name = absl::StrCat("build-and-test-", index % 97);
  properties["name"] = StringValue(name);
  properties["displayName"] = StringValue(name);
  properties["status"] = StringValue(revision == 0 ? "success" : "failed");
  properties["jobNumber"] = IntValue(index);
  properties["projectSlug"] =
      StringValue(absl::StrCat("gh/example-org/service-", index % 90));
  properties["startedAt"] = IntValue(1'700'000'000'000 + index);
  properties["stoppedAt"] = IntValue(1'700'000'000'000 + index + 60'000);
  properties["webLink"] = StringValue(absl::StrCat(
      "https://app.circleci.com/pipelines/gh/example-org/service-", index % 90,
      "/", index / 6, "/workflows/", index / 3, "/jobs/", index));
  properties["approved"] = BoolValue(false);
  properties["revision"] = IntValue(revision);
  return entity;
}

struct Phase {
  absl::Duration stage;
  absl::Duration finalize;
  FinalizeCounts counts;
};

class Bench {
 public:
  explicit Bench(Store* store) : store_(store) {}

  absl::Status Setup() {
    GM_RETURN_IF_ERROR(store_->PutIntegration(Definition()));
    v1::Instance instance;
    instance.set_id(kInstance);
    instance.set_integration("bench");
    return store_->CreateInstance(instance);
  }

  // One run over `entities` entities (and one relationship per entity but the
  // first); entity i has revision 1 when i % changed_every == 0.
  absl::StatusOr<Phase> Run(int64_t entities, int64_t changed_every) {
    Phase phase;
    absl::StatusOr<int64_t> run = store_->CreateRun(
        kInstance, Definition(), v1::RUN_TRIGGER_MANUAL, {}, ++now_ms_);
    if (!run.ok()) return run.status();
    GM_RETURN_IF_ERROR(
        store_->SetRunStatus(*run, v1::RUN_STATUS_RUNNING, "", ++now_ms_));
    const absl::Time stage_start = absl::Now();
    const int per_task = absl::GetFlag(FLAGS_objects_per_task) / 2;
    const int batch_size = absl::GetFlag(FLAGS_batch);
    for (int64_t first = 0; first < entities; first += per_task) {
      absl::StatusOr<int64_t> task =
          store_->CreateTask(*run, kStep, v1::TASK_KIND_STEP, v1::Shard());
      if (!task.ok()) return task.status();
      absl::StatusOr<int32_t> number =
          store_->LeaseTask(*task, "bench-worker", kLease, now_ms_ + 60'000);
      if (!number.ok()) return number.status();
      v1::TaskAttempt attempt;
      attempt.set_task_id(*task);
      attempt.set_attempt(*number);
      attempt.set_lease_id(kLease);
      v1::ResultBatch batch;
      const int64_t last = std::min(entities, first + per_task);
      for (int64_t i = first; i < last; ++i) {
        const v1::Entity job =
            Job(i, changed_every > 0 && i % changed_every == 0 ? 1 : 0);
        if (i > 0) {
          *batch.add_relationships() =
              DirectRelationship(job, "HAS", Job(i - 1, 0));
        }
        *batch.add_entities() = job;
        if (batch.entities_size() + batch.relationships_size() >= batch_size ||
            i + 1 == last) {
          GM_RETURN_IF_ERROR(store_->StageBatch(attempt, batch, now_ms_));
          batch.Clear();
        }
      }
      GM_RETURN_IF_ERROR(store_->CommitAttempt(attempt, true, "", {}));
    }
    phase.stage = absl::Now() - stage_start;
    const absl::Time finalize_start = absl::Now();
    FinalizeRequest request;
    request.run_id = *run;
    request.instance_id = kInstance;
    request.now_ms = ++now_ms_;
    absl::StatusOr<FinalizeCounts> counts = store_->Finalize(request);
    if (!counts.ok()) return counts.status();
    phase.finalize = absl::Now() - finalize_start;
    phase.counts = *counts;
    return phase;
  }

 private:
  Store* store_;
  int64_t now_ms_ = 1'700'000'000'000;
};

void Print(const std::string& name, int64_t objects, const Phase& phase) {
  auto rate = [&](absl::Duration took) {
    return absl::StrFormat("%.0f", objects / absl::ToDoubleSeconds(took));
  };
  std::printf(
      "%-34s stage+commit %6.1f s (%7s obj/s)   finalize %6.1f s (%7s obj/s)  "
      " %lld created %lld updated %lld deleted   %s\n",
      name.c_str(), absl::ToDoubleSeconds(phase.stage),
      rate(phase.stage).c_str(), absl::ToDoubleSeconds(phase.finalize),
      rate(phase.finalize).c_str(),
      static_cast<long long>(phase.counts.created),
      static_cast<long long>(phase.counts.updated),
      static_cast<long long>(phase.counts.deleted), Memory().c_str());
  std::fflush(stdout);
}

int Main() {
  std::string spec = absl::GetFlag(FLAGS_store);
  std::unique_ptr<testing::PostgresServer> server;
  std::filesystem::path directory;
  if (spec == "sqlite") {
    char pattern[] = "/tmp/graphmill-store-bench.XXXXXX";
    directory = mkdtemp(pattern);
    spec = (directory / "bench.db").string();
  } else if (spec == "postgres") {
    absl::StatusOr<std::unique_ptr<testing::PostgresServer>> started =
        testing::PostgresServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "store_bench: %s\n",
                   started.status().ToString().c_str());
      return 1;
    }
    server = *std::move(started);
    absl::StatusOr<std::string> uri = server->CreateDatabase("bench");
    if (!uri.ok()) {
      std::fprintf(stderr, "store_bench: %s\n",
                   uri.status().ToString().c_str());
      return 1;
    }
    spec = *uri;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(spec);
  if (!store.ok()) {
    std::fprintf(stderr, "store_bench: %s\n",
                 store.status().ToString().c_str());
    return 1;
  }
  Bench bench(store->get());
  if (absl::Status status = bench.Setup(); !status.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", status.ToString().c_str());
    return 1;
  }
  const int64_t entities = absl::GetFlag(FLAGS_entities);
  const int64_t objects = 2 * entities - 1;
  std::printf("store_bench: %s, %lld objects per run (%lld entities)   %s\n",
              absl::GetFlag(FLAGS_store).c_str(),
              static_cast<long long>(objects), static_cast<long long>(entities),
              Memory().c_str());
  struct {
    const char* name;
    int64_t changed_every;
  } const runs[] = {{"run 1 (all new)", 0},
                    {"run 2 (unchanged)", 0},
                    {"run 3 (1 in 10 entities changed)", 10}};
  for (const auto& run : runs) {
    absl::StatusOr<Phase> phase = bench.Run(entities, run.changed_every);
    if (!phase.ok()) {
      std::fprintf(stderr, "store_bench: %s: %s\n", run.name,
                   phase.status().ToString().c_str());
      return 1;
    }
    Print(run.name, objects, *phase);
  }
  store->reset();
  if (!directory.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
  }
  return 0;
}

}  // namespace
}  // namespace graphmill::coordinator

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return graphmill::coordinator::Main();
}
