// Implementation of tests/e2e/expected_graph.h.
#include "tests/e2e/expected_graph.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "rapidjson/document.h"

namespace graphmill::testing {

FakeServer CircleCiFake(std::vector<std::string> flags,
                        const std::string& token) {
  // Not Fake("circleci", ...): this fake takes one key, not a list, so the
  // whole value is the secret whatever it holds.
  FakeServer fake;
  fake.binary = "tests/fakes/circleci/fake_circleci";
  fake.flags = {"--token=" + token};
  fake.flags.insert(fake.flags.end(), flags.begin(), flags.end());
  fake.secrets = {token};
  return fake;
}

std::string CircleCiBaseUrl(const Cluster& cluster) {
  return cluster.fake_url("circleci") + "/api/v2";
}

std::vector<std::string> FakeCircleCiFlags(const fakes::GeneratorOptions& g,
                                           int page_size) {
  return {"--mode=generated",
          absl::StrCat("--seed=", g.seed),
          absl::StrCat("--login=", g.login),
          absl::StrCat("--user_id=", g.user_id),
          absl::StrCat("--orgs=", g.orgs),
          absl::StrCat("--projects_per_org=", g.projects_per_org),
          absl::StrCat("--pipelines_per_project=", g.pipelines_per_project),
          absl::StrCat("--workflows_per_pipeline=", g.workflows_per_pipeline),
          absl::StrCat("--jobs_per_workflow=", g.jobs_per_workflow),
          absl::StrCat("--contexts_per_org=", g.contexts_per_org),
          absl::StrCat("--env_vars_per_project=", g.env_vars_per_project),
          absl::StrCat("--env_vars_per_context=", g.env_vars_per_context),
          absl::StrCat("--restrictions_per_context=",
                       g.project_restrictions_per_context),
          absl::StrCat("--page_size=", page_size)};
}

std::map<std::string, size_t> ExpectedCircleCiCounts(
    const fakes::Dataset& dataset, const std::string& login) {
  size_t uses = 0;
  for (const fakes::ContextRestriction& r : dataset.restrictions) {
    if (r.restriction_type != "project") continue;
    for (const fakes::ContextEnvVar& v : dataset.context_env_vars) {
      uses += v.context_id == r.context_id;
    }
  }
  size_t account_groups = 0;
  for (const fakes::Org& org : dataset.orgs)
    account_groups += org.name == login;
  std::map<std::string, size_t> counts = {
      {"circleci_account", 1},
      {"circleci_user", 1},
      {"circleci_user_group", dataset.orgs.size()},
      {"circleci_pipeline", dataset.pipelines.size()},
      {"circleci_workflow", dataset.workflows.size()},
      {"circleci_job", dataset.jobs.size()},
      {"circleci_project", dataset.projects.size()},
      {"circleci_project_environment_variable",
       dataset.project_env_vars.size()},
      {"circleci_context", dataset.contexts.size()},
      {"circleci_context_environment_variable",
       dataset.context_env_vars.size()},
      {"circleci_account_has_user", 1},
      {"circleci_account_has_user_group", account_groups},
      {"circleci_user_group_has_user", dataset.orgs.size()},
      {"circleci_user_group_has_project", dataset.projects.size()},
      {"circleci_project_has_pipeline", dataset.pipelines.size()},
      {"circleci_pipeline_has_workflow", dataset.workflows.size()},
      {"circleci_workflow_has_job", dataset.jobs.size()},
      {"circleci_project_has_environment_variable",
       dataset.project_env_vars.size()},
      {"circleci_context_has_environment_variable",
       dataset.context_env_vars.size()},
      {"circleci_project_uses_context_environment_variable", uses},
  };
  for (auto it = counts.begin(); it != counts.end();) {
    it = it->second == 0 ? counts.erase(it) : std::next(it);
  }
  return counts;
}

GraphByType ReadGraph(Cluster& cluster, const std::string& instance) {
  GraphByType graph;
  for (const bool entities : {true, false}) {
    std::vector<std::string> args = {"graph",
                                     entities ? "entities" : "relationships",
                                     "--instance", instance};
    if (entities)
      args.push_back("--raw");  // raw data is part of an entity's content
    for (const std::string& line : cluster.CliJsonLines(args)) {
      rapidjson::Document document;
      document.Parse(line.c_str());
      if (document.HasParseError() || !document.IsObject() ||
          !document.HasMember("_key")) {
        continue;
      }
      graph[document["_type"].GetString()][document["_key"].GetString()] = line;
    }
  }
  return graph;
}

std::map<std::string, size_t> CountByType(const GraphByType& graph) {
  std::map<std::string, size_t> counts;
  for (const auto& [type, objects] : graph) counts[type] = objects.size();
  return counts;
}

std::string GraphDifference(const GraphByType& expected,
                            const GraphByType& actual, size_t max_lines) {
  // key -> JSON of every object, types flattened (keys are unique).
  auto flatten = [](const GraphByType& graph) {
    std::map<std::string, const std::string*> objects;
    for (const auto& [type, by_key] : graph) {
      for (const auto& [key, json] : by_key) objects[key] = &json;
    }
    return objects;
  };
  const auto want = flatten(expected);
  const auto got = flatten(actual);
  std::vector<std::string> lines;
  for (const auto& [key, json] : want) {
    auto found = got.find(key);
    if (found == got.end()) {
      lines.push_back("- " + key);
    } else if (*found->second != *json) {
      lines.push_back("~ " + key);
    }
  }
  for (const auto& [key, json] : got) {
    if (!want.contains(key)) lines.push_back("+ " + key);
  }
  std::string text;
  for (size_t i = 0; i < lines.size() && i < max_lines; ++i) {
    absl::StrAppend(&text, lines[i], "\n");
  }
  if (lines.size() > max_lines) {
    absl::StrAppend(&text, "... and ", lines.size() - max_lines, " more\n");
  }
  return text;
}

CommandResult CreateCircleCiInstance(
    Cluster& cluster, const std::string& id, const std::string& login,
    const std::string& token, const std::vector<std::string>& extra_flags) {
  std::vector<std::string> args = {"instance",
                                   "create",
                                   id,
                                   "--integration",
                                   "circleci",
                                   "--config",
                                   "apiKey=" + token,
                                   "--config",
                                   "login=" + login,
                                   "--config",
                                   "userId=acct-000000001",
                                   "--config",
                                   "baseUrl=" + CircleCiBaseUrl(cluster)};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  return cluster.Cli(args);
}

int64_t StartRun(Cluster& cluster, const std::string& instance, bool full) {
  std::vector<std::string> args = {"run", "start", instance, "--output",
                                   "json"};
  if (full) args.push_back("--full");
  CommandResult started = cluster.Cli(args);
  EXPECT_EQ(started.exit_code, 0) << started.err;
  rapidjson::Document document;
  document.Parse(started.out.c_str());
  int64_t id = 0;
  if (document.IsObject() && document.HasMember("id") &&
      document["id"].IsString()) {
    EXPECT_TRUE(absl::SimpleAtoi(document["id"].GetString(), &id))
        << started.out;
  }
  EXPECT_GT(id, 0) << "run start printed no run id: " << started.out;
  return id;
}

v1::Run FinishRun(Cluster& cluster, const std::string& instance, bool full) {
  const int64_t id = StartRun(cluster, instance, full);
  CommandResult watched = cluster.Cli({"run", "watch", absl::StrCat(id)});
  EXPECT_EQ(watched.exit_code, 0)
      << watched.out << watched.err << cluster.AllLogs();
  auto admin = v1::Admin::NewStub(cluster.NewChannel());
  grpc::ClientContext context;
  v1::GetRunRequest request;
  request.set_run_id(id);
  v1::GetRunResponse response;
  const grpc::Status status = admin->GetRun(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.run();
}

int64_t LastSequence(Cluster& cluster, const std::string& instance) {
  auto stub = v1::Graph::NewStub(cluster.NewChannel());
  grpc::ClientContext context;
  v1::GetSnapshotRequest request;
  request.set_instance_id(instance);
  auto reader = stub->GetSnapshot(&context, request);
  v1::SnapshotChunk chunk;
  int64_t sequence = -1;
  if (reader->Read(&chunk)) sequence = chunk.as_of_sequence();
  context.TryCancel();
  reader->Finish();
  return sequence;
}

}  // namespace graphmill::testing
