#include "common/tls.h"

#include <string>

#include "coordinator/auth/test_certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(TlsTest, HostOfAddress) {
  EXPECT_EQ(HostOfAddress("127.0.0.1:7400"), "127.0.0.1");
  EXPECT_EQ(HostOfAddress("localhost:7400"), "localhost");
  EXPECT_EQ(HostOfAddress("[::1]:7400"), "::1");
  EXPECT_EQ(HostOfAddress("[::1]"), "::1");
  EXPECT_EQ(HostOfAddress("::1"), "::1");
  EXPECT_EQ(HostOfAddress("ipv4:127.0.0.1:1"), "127.0.0.1");
  EXPECT_EQ(HostOfAddress("ipv6:[::1]:1"), "::1");
  EXPECT_EQ(HostOfAddress("coordinator"), "coordinator");
  EXPECT_EQ(HostOfAddress("dns:///localhost:7400"), "");
  EXPECT_EQ(HostOfAddress("unix:///tmp/sock"), "");
  EXPECT_EQ(HostOfAddress("[::1"), "");
  EXPECT_EQ(HostOfAddress("[::1]x"), "");
}

TEST(TlsTest, LoopbackAddresses) {
  for (const char* address :
       {"127.0.0.1:7400", "127.1.2.3:0", "localhost:7400", "LOCALHOST:1",
        "[::1]:7400", "[::ffff:127.0.0.1]:7400", "ipv4:127.0.0.1:7400",
        "ipv4:127.0.0.1:7400,127.0.0.2:7401", "ipv6:[::1]:1,[::1]:2"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:7400", "[::]:7400", "10.0.0.1:7400", "192.168.1.1:7400",
        "coordinator.example:7400", "128.0.0.1:1", "[::2]:1",
        "dns:///localhost:7400", "unix:/tmp/socket", "", ":7400",
        "localhost.example:1",
        // An address list is loopback only if every address is.
        "ipv4:127.0.0.1:7400,10.0.0.2:7400", "ipv4:10.0.0.2:1,127.0.0.1:1",
        "ipv4:127.0.0.1:1,", "ipv6:[::1]:1,[::2]:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(TlsTest, FlagNames) {
  EXPECT_EQ(FlagName("tls_ca_file", FlagStyle::kUnderscore), "--tls_ca_file");
  EXPECT_EQ(FlagName("tls_ca_file", FlagStyle::kDash), "--tls-ca-file");
}

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::TestCa> ca = testing::TestCa::Create("tls test");
    ASSERT_TRUE(ca.ok()) << ca.status();
    absl::StatusOr<testing::PemPair> server =
        ca->Issue("server", {"IP:127.0.0.1"}, false);
    absl::StatusOr<testing::PemPair> other =
        ca->Issue("other", {"IP:127.0.0.1"}, false);
    ASSERT_TRUE(server.ok() && other.ok());
    Write("ca.crt", ca->cert_pem());
    Write("server.crt", server->cert);
    Write("server.key", server->key);
    Write("other.key", other->key);
    Write("garbage.pem", "not a certificate\n");
    key_material_ = server->key;
  }

  void Write(const std::string& name, const std::string& content) {
    ASSERT_TRUE(testing::WriteFileAtomically(Path(name), content).ok());
  }
  std::string Path(const std::string& name) {
    return ::testing::TempDir() + "/tls-test-" + name;
  }

  std::string key_material_;
};

TEST_F(TlsFilesTest, CertificatesAndKeysAreCheckedByName) {
  EXPECT_TRUE(ReadPemCertificates(Path("ca.crt"), "--tls_ca_file").ok());
  absl::Status status =
      ReadPemCertificates(Path("garbage.pem"), "--tls_ca_file").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_ca_file '"));
  EXPECT_THAT(status.message(), HasSubstr("no PEM certificate"));
  status = ReadPemCertificates(Path("missing.pem"), "--tls_ca_file").status();
  EXPECT_THAT(status.message(), HasSubstr("cannot read: No such file"));

  EXPECT_TRUE(CheckKeyPair(Path("server.crt"), "--tls_cert_file",
                           Path("server.key"), "--tls_key_file")
                  .ok());
  status = CheckKeyPair(Path("server.crt"), "--tls_cert_file",
                        Path("other.key"), "--tls_key_file");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is not the key of the certificate"));
  status = CheckKeyPair(Path("server.crt"), "--tls_cert_file",
                        Path("garbage.pem"), "--tls_key_file");
  EXPECT_THAT(status.message(), HasSubstr("no unencrypted PEM private key"));
  // A key file named as a certificate: no key material in the message.
  status = ReadPemCertificates(Path("server.key"), "--tls_cert_file").status();
  EXPECT_THAT(status.message(), Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THAT(status.message(), Not(HasSubstr(key_material_.substr(40, 20))));
}

TEST_F(TlsFilesTest, ClientPlaintextOnlyToLoopbackOrWhenInsecure) {
  ClientTlsOptions plain;
  EXPECT_TRUE(
      CoordinatorChannelCredentials("127.0.0.1:7400", plain, FlagStyle::kDash)
          .ok());
  absl::Status status =
      CoordinatorChannelCredentials("coordinator:7400", plain, FlagStyle::kDash)
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'coordinator:7400' is not a "
                                          "loopback address"));
  EXPECT_THAT(status.message(), HasSubstr("--tls-ca-file"));
  EXPECT_THAT(status.message(), HasSubstr("--insecure"));
  plain.insecure = true;
  EXPECT_TRUE(
      CoordinatorChannelCredentials("coordinator:7400", plain, FlagStyle::kDash)
          .ok());
}

TEST_F(TlsFilesTest, ClientTlsCombinations) {
  ClientTlsOptions tls;
  tls.ca_file = Path("ca.crt");
  EXPECT_TRUE(CoordinatorChannelCredentials("coordinator:7400", tls,
                                            FlagStyle::kUnderscore)
                  .ok());
  tls.cert_file = Path("server.crt");
  EXPECT_THAT(CoordinatorChannelCredentials("coordinator:7400", tls,
                                            FlagStyle::kUnderscore)
                  .status()
                  .message(),
              HasSubstr("--tls_cert_file and --tls_key_file go together"));
  tls.key_file = Path("server.key");
  EXPECT_TRUE(CoordinatorChannelCredentials("coordinator:7400", tls,
                                            FlagStyle::kUnderscore)
                  .ok());
  tls.key_file = Path("other.key");
  EXPECT_THAT(CoordinatorChannelCredentials("coordinator:7400", tls,
                                            FlagStyle::kUnderscore)
                  .status()
                  .message(),
              HasSubstr("is not the key of the certificate"));
  tls.insecure = true;
  tls.cert_file.clear();
  tls.key_file.clear();
  EXPECT_THAT(
      CoordinatorChannelCredentials("coordinator:7400", tls, FlagStyle::kDash)
          .status()
          .message(),
      HasSubstr("--insecure and --tls-ca-file cannot be used together"));
  ClientTlsOptions no_ca;
  no_ca.cert_file = Path("server.crt");
  no_ca.key_file = Path("server.key");
  EXPECT_THAT(
      CoordinatorChannelCredentials("127.0.0.1:1", no_ca, FlagStyle::kDash)
          .status()
          .message(),
      HasSubstr("need --tls-ca-file"));
  ClientTlsOptions bad_ca;
  bad_ca.ca_file = Path("garbage.pem");
  EXPECT_THAT(
      CoordinatorChannelCredentials("127.0.0.1:1", bad_ca, FlagStyle::kDash)
          .status()
          .message(),
      HasSubstr("--tls-ca-file '"));
}

}  // namespace
}  // namespace graphmill
