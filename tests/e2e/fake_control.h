// The fakes' control endpoints (`/_control/...`) as the e2e tests use them:
// faults and data changes between runs, and how often each fault fired.
#ifndef GRAPHMILL_TESTS_E2E_FAKE_CONTROL_H_
#define GRAPHMILL_TESTS_E2E_FAKE_CONTROL_H_

#include <cstdint>
#include <string>
#include <vector>

namespace graphmill::testing {

// Sends `method` ("POST" or "DELETE") to `root` + `path` with a JSON `body`;
// a test failure unless the fake answers 200.
void Control(const std::string& root, const std::string& method,
             const std::string& path, const std::string& body = "");

// How many requests each active fault of the fake at `root` has affected, in
// the order they were added (empty if the fake cannot be asked).
std::vector<int64_t> FaultsFired(const std::string& root);

}  // namespace graphmill::testing

#endif  // GRAPHMILL_TESTS_E2E_FAKE_CONTROL_H_
