// AdminService codes over a real store and engine: cancelling a run that does
// not exist is NOT_FOUND; one that has ended stays FAILED_PRECONDITION.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "coordinator/api/services.h"
#include "coordinator/engine.h"
#include "coordinator/instances.h"

namespace graphmill::coordinator {
namespace {

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
    engine_ =
        std::make_unique<Engine>(store_.get(), &secrets_, EngineOptions());
    service_ = std::make_unique<AdminService>(store_.get(), engine_.get(),
                                              &secrets_, nullptr);
  }

  grpc::Status Cancel(int64_t run_id) {
    grpc::ServerContext context;
    v1::CancelRunRequest request;
    request.set_run_id(run_id);
    v1::Run response;
    return service_->CancelRun(&context, &request, &response);
  }

  InstanceSecrets secrets_{std::nullopt};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<AdminService> service_;
};

TEST_F(AdminServiceTest, CancelOfAnUnknownRunIsNotFound) {
  grpc::Status status = Cancel(999);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "run 999 not found");
}

TEST_F(AdminServiceTest, CancelOfAnEndedRunIsFailedPrecondition) {
  v1::Instance instance;
  instance.set_id("ended");
  instance.set_integration("test");
  ASSERT_TRUE(store_->CreateInstance(instance).ok());
  v1::IntegrationDefinition definition;
  definition.set_name("test");
  definition.set_version("1");
  definition.add_steps()->set_id("only");
  auto run =
      store_->CreateRun("ended", definition, v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  grpc::Status status = Cancel(*run);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("run ", *run, " is not active"));
}

}  // namespace
}  // namespace graphmill::coordinator
