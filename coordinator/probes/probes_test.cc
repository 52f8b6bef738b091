// The coordinator's health reporter and server reflection on a real
// in-process gRPC server over loopback.
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/fake_clock.h"
#include "coordinator/probes/health.h"
#include "coordinator/probes/probe_client.h"
#include "coordinator/probes/reflection.h"
#include "gmock/gmock.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "gtest/gtest.h"

namespace graphmill::coordinator {
namespace {

namespace rv1 = ::grpc::reflection::v1;
using ::testing::Contains;
using ::testing::IsSupersetOf;

class ProbesTest : public ::testing::Test {
 protected:
  ProbesTest() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&admin_);
    builder.RegisterService(&graph_);
    AddServerReflection(&builder);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
  }
  ~ProbesTest() override { server_->Shutdown(); }

  // Checks every 5 s of clock_.
  std::unique_ptr<HealthReporter> Reporter() {
    return std::make_unique<HealthReporter>(
        server_->GetHealthCheckService(),
        [this] {
          return store_ok_ ? absl::OkStatus()
                           : absl::UnavailableError("disk I/O error");
        },
        HealthReporterOptions{
            .interval = absl::Seconds(5),
            .services = {"graphmill.v1.Admin", "graphmill.v1.Graph"},
            .clock = &clock_});
  }

  FakeClock clock_;

  v1::Admin::Service admin_;
  v1::Graph::Service graph_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::atomic<bool> store_ok_{true};
};

bool Is(const std::shared_ptr<grpc::Channel>& channel,
        const std::string& service, probes::HealthStatus expected) {
  absl::StatusOr<probes::HealthStatus> status =
      probes::CheckHealth(channel, service);
  return status.ok() && *status == expected;
}

TEST_F(ProbesTest, AMirrorPortTellsTheSameStatus) {
  // A second, plaintext server with only the health service, as
  // --health_listen builds it.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  std::unique_ptr<grpc::Server> probe_server = builder.BuildAndStart();
  ASSERT_NE(probe_server, nullptr);
  std::shared_ptr<grpc::Channel> probe_channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  HealthReporter reporter(
      server_->GetHealthCheckService(),
      [this] {
        return store_ok_ ? absl::OkStatus()
                         : absl::UnavailableError("disk I/O error");
      },
      HealthReporterOptions{
          .interval = absl::Seconds(5),
          .services = {"graphmill.v1.Admin"},
          .clock = &clock_,
          .mirrors = {probe_server->GetHealthCheckService()}});
  reporter.Start();
  EXPECT_TRUE(Is(probe_channel, "", probes::kServing));
  EXPECT_TRUE(Is(probe_channel, "graphmill.v1.Admin", probes::kServing));
  reporter.StartDraining();
  EXPECT_TRUE(Is(probe_channel, "", probes::kNotServing));
  EXPECT_TRUE(Is(channel_, "", probes::kNotServing));
  // Nothing but health is served there.
  v1::Admin::Stub admin(probe_channel);
  grpc::ClientContext context;
  v1::ListInstancesResponse response;
  EXPECT_EQ(admin.ListInstances(&context, {}, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  probe_server->Shutdown();
}

TEST_F(ProbesTest, HealthFollowsTheStoreCheckUntilDrainingStarts) {
  store_ok_ = false;
  std::unique_ptr<HealthReporter> reporter = Reporter();
  reporter->Start();  // the first check runs before Start returns
  EXPECT_FALSE(reporter->serving());
  for (const char* service : {"", "graphmill.v1.Admin", "graphmill.v1.Graph"}) {
    EXPECT_TRUE(Is(channel_, service, probes::kNotServing)) << service;
  }
  // Liveness says only that the process answers.
  EXPECT_TRUE(Is(channel_, kLivenessService, probes::kServing));
  probes::HealthWatch watch(channel_, "");
  ASSERT_EQ(watch.Next().value_or(probes::kUnknown), probes::kNotServing);
  // Each change is seen at the next check, an interval later.
  store_ok_ = true;
  clock_.Advance(absl::Seconds(5));
  ASSERT_EQ(watch.Next().value_or(probes::kUnknown), probes::kServing);
  EXPECT_TRUE(Is(channel_, "graphmill.v1.Admin", probes::kServing));
  EXPECT_TRUE(Is(channel_, "graphmill.v1.Graph", probes::kServing));
  absl::StatusOr<probes::HealthStatus> unknown =
      probes::CheckHealth(channel_, "graphmill.v1.Nothing");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  store_ok_ = false;
  clock_.Advance(absl::Seconds(5));
  ASSERT_EQ(watch.Next().value_or(probes::kUnknown), probes::kNotServing);
  store_ok_ = true;
  clock_.Advance(absl::Seconds(5));
  ASSERT_EQ(watch.Next().value_or(probes::kUnknown), probes::kServing);

  reporter->StartDraining();
  EXPECT_EQ(watch.Next().value_or(probes::kUnknown), probes::kNotServing);
  EXPECT_FALSE(reporter->serving());
  // The store still answers, but draining is for good: checks stop.
  clock_.Advance(absl::Seconds(5));
  EXPECT_TRUE(Is(channel_, "", probes::kNotServing));
  EXPECT_TRUE(Is(channel_, "graphmill.v1.Admin", probes::kNotServing));
  EXPECT_TRUE(Is(channel_, kLivenessService, probes::kServing));
  EXPECT_FALSE(reporter->serving());
}

TEST_F(ProbesTest, ReflectionV1AndV1AlphaListTheServices) {
  for (const char* version : {"v1", "v1alpha"}) {
    SCOPED_TRACE(version);
    absl::StatusOr<std::vector<std::string>> services =
        probes::ListServices(channel_, version);
    ASSERT_TRUE(services.ok()) << services.status();
    EXPECT_THAT(*services,
                IsSupersetOf({"graphmill.v1.Admin", "graphmill.v1.Graph",
                              "grpc.reflection.v1.ServerReflection",
                              "grpc.reflection.v1alpha."
                              "ServerReflection"}));
  }
}

TEST_F(ProbesTest, ReflectionV1DescribesSymbolsWithTheirImports) {
  rv1::ServerReflectionRequest request;
  request.set_host("coordinator");
  request.set_file_containing_symbol("graphmill.v1.Admin.ListRuns");
  absl::StatusOr<rv1::ServerReflectionResponse> response =
      probes::AskReflection(channel_, "v1", request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->valid_host(), "coordinator");
  EXPECT_EQ(response->original_request().file_containing_symbol(),
            "graphmill.v1.Admin.ListRuns");
  std::vector<std::string> files;
  bool has_admin_service = false;
  for (const std::string& bytes :
       response->file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    files.push_back(file.name());
    for (const auto& service : file.service()) {
      if (service.name() == "Admin") has_admin_service = true;
    }
  }
  EXPECT_EQ(files.front(), "graphmill/v1/admin.proto");
  EXPECT_THAT(files, Contains("graphmill/v1/run.proto"));
  EXPECT_TRUE(has_admin_service);

  request.set_file_by_filename("graphmill/v1/graph.proto");
  response = probes::AskReflection(channel_, "v1", request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_GE(response->file_descriptor_response().file_descriptor_proto_size(),
            1);

  request.set_file_containing_symbol("graphmill.v1.NoSuchThing");
  response = probes::AskReflection(channel_, "v1", request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);

  request.set_all_extension_numbers_of_type("google.protobuf.FieldOptions");
  response = probes::AskReflection(channel_, "v1", request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->all_extension_numbers_response().base_type_name(),
            "google.protobuf.FieldOptions");
}

}  // namespace
}  // namespace graphmill::coordinator
