// What a complete CircleCI ingestion of a generated fake dataset must produce,
// computed from the dataset itself (not from graphmill's code), and helpers to
// read a graph via the CLI.
#ifndef GRAPHMILL_TESTS_E2E_EXPECTED_GRAPH_H_
#define GRAPHMILL_TESTS_E2E_EXPECTED_GRAPH_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graphmill/v1/run.pb.h"
#include "tests/e2e/cluster.h"
#include "tests/fakes/circleci/dataset.h"

namespace graphmill::testing {

// The API key the fake CircleCI accepts unless a test picks another.
inline constexpr char kCircleCiToken[] = "e2e-token-5f2c9a71";

// The fake CircleCI server (ClusterOptions::fakes["circleci"]) with `flags`
// (e.g. FakeCircleCiFlags), accepting `token`.
FakeServer CircleCiFake(std::vector<std::string> flags,
                        const std::string& token = kCircleCiToken);

// The fake CircleCI's API base URL (the instance's baseUrl config); its
// /_control endpoints are under cluster.fake_url("circleci").
std::string CircleCiBaseUrl(const Cluster& cluster);

// Flags for the fake CircleCI binary that generate `options`' dataset.
std::vector<std::string> FakeCircleCiFlags(
    const fakes::GeneratorOptions& options, int page_size);

// Expected number of objects per `_type` (entities and relationships together).
std::map<std::string, size_t> ExpectedCircleCiCounts(
    const fakes::Dataset& dataset, const std::string& login);

// Graph objects by `_type`, each a map from `_key` to its flat JSON line.
using GraphByType = std::map<std::string, std::map<std::string, std::string>>;

// The instance's whole graph (entities and relationships), read with the CLI.
GraphByType ReadGraph(Cluster& cluster, const std::string& instance);

// Number of objects per `_type`.
std::map<std::string, size_t> CountByType(const GraphByType& graph);

// "" when the graphs are equal; else one line per object that is missing from
// `actual`, extra in it or different ("- key", "+ key", "~ key"), at most
// `max_lines` of them, then how many more.
std::string GraphDifference(const GraphByType& expected,
                            const GraphByType& actual, size_t max_lines = 20);

// Creates a CircleCI instance against the cluster's fake; returns the CLI
// result. Every instance gets the same userId, so graphs of different instances
// are comparable.
CommandResult CreateCircleCiInstance(
    Cluster& cluster, const std::string& id, const std::string& login,
    const std::string& token, const std::vector<std::string>& extra_flags = {});

// Starts a run of `instance` with the CLI; returns its id (0, with a test
// failure, if it did not start).
int64_t StartRun(Cluster& cluster, const std::string& instance,
                 bool full = false);

// StartRun, then `run watch` to its end (a test failure unless it exits 0);
// returns the run as Admin.GetRun gives it (status, change counts, steps).
v1::Run FinishRun(Cluster& cluster, const std::string& instance,
                  bool full = false);

// The change-log sequence `instance`'s graph corresponds to (the sequence of
// a snapshot taken now), or -1 if none could be read.
int64_t LastSequence(Cluster& cluster, const std::string& instance);

}  // namespace graphmill::testing

#endif  // GRAPHMILL_TESTS_E2E_EXPECTED_GRAPH_H_
