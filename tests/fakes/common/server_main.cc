// Implementation of server_main.h.
#include "tests/fakes/common/server_main.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace graphmill::fakes::common {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

std::vector<std::string> RepeatedFlagValues(int argc, char** argv,
                                            const std::string& name) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    // "--NAME..." and "-NAME..." are the same flag to absl.
    const std::string bare = arg.rfind("--", 0) == 0  ? arg.substr(2)
                             : arg.rfind("-", 0) == 0 ? arg.substr(1)
                                                      : std::string();
    if (bare == name && i + 1 < argc) {
      values.push_back(argv[++i]);
    } else if (bare.rfind(name + "=", 0) == 0) {
      values.push_back(bare.substr(name.size() + 1));
    }
  }
  return values;
}

bool WritePortFile(const std::string& path, int port) {
  const std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

void BlockStopSignals() {
  const sigset_t stop_signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int WaitForStopSignal() {
  const sigset_t stop_signals = StopSignals();
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  return signal_number;
}

}  // namespace graphmill::fakes::common
