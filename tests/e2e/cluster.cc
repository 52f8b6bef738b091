// Implementation of tests/e2e/cluster.h.
#include "tests/e2e/cluster.h"

#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace graphmill::testing {

Cluster::Cluster(ClusterOptions options)
    : options_(std::move(options)), dir_(NewTempDir("cluster")) {
  // The key that encrypts secret config values at rest (a fixed test key: 32
  // bytes, hex).
  std::ofstream key(dir_ + "/secret.key");
  key << "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
  key.close();
  chmod((dir_ + "/secret.key").c_str(), 0600);
}

Cluster::~Cluster() {
  for (auto& worker : workers_) {
    if (worker) worker->Stop();
  }
  if (coordinator_) coordinator_->Stop();
  if (circleci_) circleci_->Stop();
  if (heroku_) heroku_->Stop();
  if (jupiterone_) jupiterone_->Stop();
}

absl::Status Cluster::StartFake(const std::string& name,
                                const std::vector<std::string>& flags,
                                std::unique_ptr<Process>* process, int* port) {
  const std::string port_file = absl::StrCat(dir_, "/", name, ".port");
  std::vector<std::string> all = {"--port=0", "--port_file=" + port_file};
  all.insert(all.end(), flags.begin(), flags.end());
  const std::string log = absl::StrCat(dir_, "/", name, ".log");
  logs_.push_back(log);
  auto started = Process::Start(
      Runfile(absl::StrCat("tests/fakes/", name, "/fake_", name)), all, log);
  if (!started.ok()) return started.status();
  *process = std::move(*started);
  auto chosen = WaitForPortFile(port_file, absl::Seconds(20));
  if (!chosen.ok()) return chosen.status();
  *port = *chosen;
  return absl::OkStatus();
}

absl::Status Cluster::Start() {
  std::vector<std::string> circleci_flags = {"--token=" +
                                             options_.circleci_token};
  circleci_flags.insert(circleci_flags.end(), options_.circleci_flags.begin(),
                        options_.circleci_flags.end());
  if (absl::Status status =
          StartFake("circleci", circleci_flags, &circleci_, &circleci_port_);
      !status.ok()) {
    return status;
  }
  if (!options_.heroku_flags.empty()) {
    absl::Status status =
        StartFake("heroku", options_.heroku_flags, &heroku_, &heroku_port_);
    if (!status.ok()) return status;
  }
  if (!options_.jupiterone_flags.empty()) {
    absl::Status status = StartFake("jupiterone", options_.jupiterone_flags,
                                    &jupiterone_, &jupiterone_port_);
    if (!status.ok()) return status;
  }
  if (absl::Status status = StartCoordinator(); !status.ok()) return status;
  workers_.resize(options_.workers);
  for (int i = 0; i < options_.workers; ++i) {
    if (absl::Status status = StartWorker(i); !status.ok()) return status;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (absl::StrContains(Cli({"integration", "list"}).out, "circleci")) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      "no worker advertised circleci within 20 s:\n" + AllLogs());
}

absl::Status Cluster::StartCoordinator() {
  const std::string port_file =
      absl::StrCat(dir_, "/coordinator-", coordinator_starts_, ".port");
  const std::string log =
      absl::StrCat(dir_, "/coordinator-", coordinator_starts_, ".log");
  ++coordinator_starts_;
  logs_.push_back(log);
  // The same port after a restart, so workers find the coordinator again.
  std::vector<std::string> flags = {
      absl::StrCat("--listen=127.0.0.1:", coordinator_port_),
      "--port_file=" + port_file, "--store=" + dir_ + "/graphmill.db",
      "--secret_key_file=" + dir_ + "/secret.key"};
  flags.insert(flags.end(), options_.coordinator_flags.begin(),
               options_.coordinator_flags.end());
  auto coordinator =
      Process::Start(Runfile("coordinator/graphmill-coordinator"), flags, log);
  if (!coordinator.ok()) return coordinator.status();
  coordinator_ = std::move(*coordinator);
  auto port = WaitForPortFile(port_file, absl::Seconds(20));
  if (!port.ok()) return port.status();
  coordinator_port_ = *port;
  return absl::OkStatus();
}

void Cluster::StopCoordinator(int signal) {
  if (!coordinator_) return;
  coordinator_->Signal(signal);
  coordinator_->Wait(absl::Seconds(10));
  coordinator_.reset();
}

absl::Status Cluster::StartWorker(int index) {
  const std::string log =
      absl::StrCat(dir_, "/worker-", index, "-", logs_.size(), ".log");
  logs_.push_back(log);
  auto worker = Process::Start(
      Runfile("worker/graphmill-worker"),
      {absl::StrCat("--coordinator=127.0.0.1:", coordinator_port_),
       absl::StrCat("--worker_id=e2e-worker-", index), "--capacity=4"},
      log);
  if (!worker.ok()) return worker.status();
  workers_[index] = std::move(*worker);
  return absl::OkStatus();
}

CommandResult Cluster::Cli(std::vector<std::string> args) {
  args.insert(args.begin(),
              absl::StrCat("--server=127.0.0.1:", coordinator_port_));
  return RunCommand(Runfile("client/graphmill"), args, absl::Seconds(120));
}

std::vector<std::string> Cluster::CliJsonLines(std::vector<std::string> args) {
  args.push_back("--output=json");
  CommandResult result = Cli(args);
  std::vector<std::string> lines;
  for (absl::string_view line :
       absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  return lines;
}

std::string Cluster::circleci_base_url() const {
  return absl::StrCat("http://127.0.0.1:", circleci_port_, "/api/v2");
}

std::string Cluster::circleci_root_url() const {
  return absl::StrCat("http://127.0.0.1:", circleci_port_);
}

std::string Cluster::heroku_base_url() const {
  return absl::StrCat("http://127.0.0.1:", heroku_port_);
}

std::string Cluster::jupiterone_base_url() const {
  return absl::StrCat("http://127.0.0.1:", jupiterone_port_);
}

std::string Cluster::coordinator_address() const {
  return absl::StrCat("127.0.0.1:", coordinator_port_);
}

std::string Cluster::AllLogs() const {
  std::string all;
  for (const std::string& path : logs_) {
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    absl::StrAppend(&all, "==== ", path, "\n", buffer.str());
  }
  return all;
}

}  // namespace graphmill::testing
