// The graphmill operator CLI; see client/README.md.
#include <iostream>
#include <string_view>

#include "client/cli.h"
#include "common/version.h"

int main(int argc, char** argv) {
  // Before the command line is parsed: `graphmill --version` needs no command.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--version") {
      std::cout << graphmill::VersionLine("graphmill") << "\n";
      return 0;
    }
  }
  return graphmill::cli::RunCli(argc, argv, std::cout, std::cerr);
}
