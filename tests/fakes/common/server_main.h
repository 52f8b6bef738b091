// What the fakes' main() functions share: repeated flags, the port file and
// waiting for SIGTERM/SIGINT.
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_SERVER_MAIN_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_SERVER_MAIN_H_

#include <string>
#include <vector>

namespace graphmill::fakes::common {

// Every value given to --NAME / -NAME ("=VALUE" or the next argument), in
// order, up to a "--" terminator. absl keeps only the last occurrence of a
// flag; this gives them all (for flags that may be repeated).
std::vector<std::string> RepeatedFlagValues(int argc, char** argv,
                                            const std::string& name);

// Writes "PORT\n" to `path` through a temporary file and a rename, so a reader
// never sees a partial file. False if either step fails.
bool WritePortFile(const std::string& path, int port);

// Blocks SIGTERM and SIGINT in the calling thread (threads started later
// inherit the mask, so only WaitForStopSignal receives them) and ignores
// SIGPIPE. Call before starting any server thread.
void BlockStopSignals();
// Waits for SIGTERM or SIGINT (after BlockStopSignals) and returns its number.
int WaitForStopSignal();

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_SERVER_MAIN_H_
