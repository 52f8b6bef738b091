// The graphmill operator CLI; see client/README.md.
#include <iostream>

#include "client/cli.h"

int main(int argc, char** argv) {
  return graphmill::cli::RunCli(argc, argv, std::cout, std::cerr);
}
