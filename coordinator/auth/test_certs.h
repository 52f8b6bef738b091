// Throwaway certificates for tests, made at test time with OpenSSL (no key is
// ever committed): a CA and leaf certificates it signs, written as PEM files.
#ifndef GRAPHMILL_COORDINATOR_AUTH_TEST_CERTS_H_
#define GRAPHMILL_COORDINATOR_AUTH_TEST_CERTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace graphmill::testing {

struct PemPair {
  std::string cert;
  std::string key;
};

// A self-signed CA (EC P-256, valid from an hour ago for a day).
class TestCa {
 public:
  static absl::StatusOr<TestCa> Create(const std::string& common_name);

  TestCa(TestCa&&) noexcept;
  TestCa& operator=(TestCa&&) noexcept;
  ~TestCa();

  const std::string& cert_pem() const { return pem_.cert; }

  // A certificate signed by this CA for `common_name` with these
  // subjectAltNames ("DNS:localhost", "IP:127.0.0.1"); for server or client
  // use.
  absl::StatusOr<PemPair> Issue(const std::string& common_name,
                                const std::vector<std::string>& alt_names,
                                bool client) const;

 private:
  struct State;
  explicit TestCa(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  PemPair pem_;
};

// Writes `content` to `path` (replacing it atomically via a rename).
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& content);

}  // namespace graphmill::testing

#endif  // GRAPHMILL_COORDINATOR_AUTH_TEST_CERTS_H_
