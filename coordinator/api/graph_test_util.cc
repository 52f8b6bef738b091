// Implementation of coordinator/api/graph_test_util.h.
#include "coordinator/api/graph_test_util.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_limits.h"
#include "common/status_macros.h"

namespace graphmill::coordinator::testing {

absl::StatusOr<int64_t> AddInstanceWithGraph(Store& store,
                                             const std::string& instance_id,
                                             const v1::ResultBatch& batch) {
  v1::Instance instance;
  instance.set_id(instance_id);
  instance.set_integration("test");
  GM_RETURN_IF_ERROR(store.CreateInstance(instance));
  return RunWithGraph(store, instance_id, batch);
}

absl::StatusOr<int64_t> RunWithGraph(Store& store,
                                     const std::string& instance_id,
                                     const v1::ResultBatch& batch) {
  v1::IntegrationDefinition definition;
  definition.set_name("test");
  definition.set_version("1");
  definition.add_steps()->set_id("only");
  GM_ASSIGN_OR_RETURN(
      int64_t run,
      store.CreateRun(instance_id, definition, v1::RUN_TRIGGER_MANUAL, {}, 1));
  GM_ASSIGN_OR_RETURN(
      int64_t task,
      store.CreateTask(run, "only", v1::TASK_KIND_STEP, v1::Shard()));
  v1::TaskAttempt attempt;
  attempt.set_task_id(task);
  GM_ASSIGN_OR_RETURN(int32_t number,
                      store.LeaseTask(task, "w", "test-lease", 1000));
  attempt.set_attempt(number);
  attempt.set_lease_id("test-lease");
  GM_RETURN_IF_ERROR(store.StageBatch(attempt, batch, 1));
  GM_RETURN_IF_ERROR(store.CommitAttempt(attempt, true, "", {}));
  GM_RETURN_IF_ERROR(
      store.Finalize({.run_id = run, .instance_id = instance_id, .now_ms = 2})
          .status());
  return run;
}

LoopbackServer::LoopbackServer(std::initializer_list<grpc::Service*> services) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port_);
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  server_ = builder.BuildAndStart();
}

LoopbackServer::~LoopbackServer() {
  if (server_ != nullptr) server_->Shutdown();
}

std::shared_ptr<grpc::Channel> LoopbackServer::Channel(
    int max_receive_bytes) const {
  grpc::ChannelArguments args;
  if (max_receive_bytes >= 0) args.SetMaxReceiveMessageSize(max_receive_bytes);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace graphmill::coordinator::testing
