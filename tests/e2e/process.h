// Moved to tests/testing/process.h; this header remains for the tests outside
// tests/e2e that still include it (coordinator/main_test.cc,
// coordinator/auth/listen_rule_test.cc, worker/probes_main_test.cc). New code
// includes tests/testing/process.h and depends on //tests/testing:process.
#ifndef GRAPHMILL_TESTS_E2E_PROCESS_H_
#define GRAPHMILL_TESTS_E2E_PROCESS_H_

#include "tests/testing/process.h"

#endif  // GRAPHMILL_TESTS_E2E_PROCESS_H_
