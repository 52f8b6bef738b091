#include "coordinator/auth/bootstrap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "coordinator/auth/store_token_verifier.h"
#include "coordinator/auth/tokens.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    path_ = ::testing::TempDir() + "/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() +
            ".token";
    std::remove(path_.c_str());
  }
  void TearDown() override { std::remove(path_.c_str()); }

  std::unique_ptr<Store> store_;
  std::string path_;
};

TEST_F(BootstrapTest, CreatesAnAdminTokenInAPrivateFile) {
  const mode_t old_umask = umask(0);  // the file is 0600 whatever the umask
  absl::Status status = BootstrapAdminToken(*store_, path_);
  umask(old_umask);
  ASSERT_TRUE(status.ok()) << status;
  struct stat info;
  ASSERT_EQ(stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  const std::string content = ReadFile(path_);
  ASSERT_EQ(content.size(), kTokenLength + 1);
  EXPECT_EQ(content.back(), '\n');
  const std::string token = content.substr(0, kTokenLength);

  StoreTokenVerifier verifier(store_.get());
  absl::StatusOr<Caller> caller = verifier.Verify(token);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->token_name, "bootstrap-admin");
  EXPECT_EQ(caller->role, Role::kAdmin);
}

TEST_F(BootstrapTest, DoesNothingWhenAnAdminTokenExists) {
  ASSERT_TRUE(store_
                  ->CreateToken("ops", v1::TOKEN_ROLE_ADMIN,
                                HashToken("gm_whatever"), 1)
                  .ok());
  ASSERT_TRUE(BootstrapAdminToken(*store_, path_).ok());
  EXPECT_NE(access(path_.c_str(), F_OK), 0);
  auto tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->size(), 1u);
}

TEST_F(BootstrapTest, SecondStartFindsTheBootstrappedToken) {
  ASSERT_TRUE(BootstrapAdminToken(*store_, path_).ok());
  const std::string first = ReadFile(path_);
  // The file is still there; a second start neither complains nor rewrites.
  ASSERT_TRUE(BootstrapAdminToken(*store_, path_).ok());
  EXPECT_EQ(ReadFile(path_), first);
}

TEST_F(BootstrapTest, RefusesToOverwriteAFile) {
  { std::ofstream(path_) << "something else\n"; }
  absl::Status status = BootstrapAdminToken(*store_, path_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("'" + path_ + "' already exists"));
  EXPECT_EQ(ReadFile(path_), "something else\n");
  EXPECT_FALSE(*store_->HasAdminToken());
}

TEST_F(BootstrapTest, RefusesASymlink) {
  const std::string target = path_ + ".target";
  std::remove(target.c_str());
  ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);
  absl::Status status = BootstrapAdminToken(*store_, path_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(access(target.c_str(), F_OK), 0);
  EXPECT_FALSE(*store_->HasAdminToken());
}

TEST_F(BootstrapTest, TheDirectoryMustExist) {
  const std::string path = ::testing::TempDir() + "/no-such-dir/admin.token";
  absl::Status status = BootstrapAdminToken(*store_, path);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "cannot create admin token file '" + path +
                "': No such file or directory (its directory must exist)");
  EXPECT_FALSE(*store_->HasAdminToken());
}

TEST_F(BootstrapTest, AFailedStoreLeavesNoFile) {
  // A non-admin token already holds the bootstrap name: storing fails.
  ASSERT_TRUE(store_
                  ->CreateToken("bootstrap-admin", v1::TOKEN_ROLE_READER,
                                HashToken("gm_x"), 1)
                  .ok());
  absl::Status status = BootstrapAdminToken(*store_, path_);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(access(path_.c_str(), F_OK), 0);
}

TEST_F(BootstrapTest, ReplicasStartingAtOnceLeaveOneTokenAndOneFile) {
  // Replicas starting together on a new shared store: whichever stores its
  // token first wins, and the others start too (without a file).
  for (int round = 0; round < 20; ++round) {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    const std::string files[] = {path_ + ".a", path_ + ".b"};
    for (const std::string& file : files) std::remove(file.c_str());
    absl::Status statuses[2];
    std::thread other(
        [&] { statuses[1] = BootstrapAdminToken(**store, files[1]); });
    statuses[0] = BootstrapAdminToken(**store, files[0]);
    other.join();
    EXPECT_TRUE(statuses[0].ok()) << statuses[0];
    EXPECT_TRUE(statuses[1].ok()) << statuses[1];
    const bool a = access(files[0].c_str(), F_OK) == 0;
    const bool b = access(files[1].c_str(), F_OK) == 0;
    EXPECT_NE(a, b) << "exactly one replica writes the token file";
    auto tokens = (*store)->ListTokens();
    ASSERT_TRUE(tokens.ok());
    EXPECT_EQ(tokens->size(), 1u);
    for (const std::string& file : files) std::remove(file.c_str());
  }
}

TEST(DefaultAdminTokenFileTest, BesideTheStore) {
  EXPECT_EQ(DefaultAdminTokenFile("/var/lib/graphmill/graphmill.db"),
            "/var/lib/graphmill/admin.token");
  EXPECT_EQ(DefaultAdminTokenFile("data/g.db"), "data/admin.token");
  EXPECT_EQ(DefaultAdminTokenFile("graphmill.db"), "admin.token");
  EXPECT_EQ(DefaultAdminTokenFile("/g.db"), "/admin.token");
  // A PostgreSQL URI: the working directory, never a path made of the URI.
  EXPECT_EQ(DefaultAdminTokenFile(
                "postgresql://gm:secret@db.example/graphmill?host=/run/pg"),
            "admin.token");
}

}  // namespace
}  // namespace graphmill::coordinator
