// Implementation of coordinator/testing/engine_fixture.h.
#include "coordinator/testing/engine_fixture.h"

#include "common/graph_objects.h"

namespace graphmill::coordinator::testing {

v1::IntegrationDefinition TestDefinition() {
  v1::IntegrationDefinition d;
  d.set_name("test");
  d.set_version("1");
  v1::ConfigField* key = d.add_config_fields();
  key->set_name("apiKey");
  key->set_type(v1::CONFIG_FIELD_TYPE_STRING);
  key->set_secret(true);
  key->set_optional(true);
  v1::StepDefinition* parents = d.add_steps();
  parents->set_id("fetch-parents");
  v1::DeclaredEntityType* type = parents->add_entities();
  type->set_type("thing_parent");
  type->add_classes("Thing");
  v1::StepDefinition* children = d.add_steps();
  children->set_id("fetch-children");
  children->add_depends_on("fetch-parents");
  children->set_parent_type("thing_parent");
  v1::DeclaredEntityType* child_type = children->add_entities();
  child_type->set_type("thing_child");
  child_type->add_classes("Thing");
  return d;
}

v1::Entity MakeEntity(const std::string& key, const std::string& type) {
  v1::Entity e;
  e.set_key(key);
  e.set_type(type);
  e.add_classes("Thing");
  (*e.mutable_properties())["name"] = StringValue(key);
  (*e.mutable_properties())["displayName"] = StringValue(key);
  return e;
}

void EngineFixture::Init(EngineOptions options) {
  engine_.reset();
  store_ = *Store::Open(":memory:");
  options.clock = &clock_;
  engine_ = std::make_unique<Engine>(store_.get(), &secrets_, options);
  engine_->Start();
  v1::WorkerHello hello;
  hello.set_worker_id("w1");
  hello.set_capacity(4);
  *hello.add_integrations() = TestDefinition();
  absl::StatusOr<int64_t> session =
      engine_->ConnectWorker(hello, worker_.Send());
  ASSERT_TRUE(session.ok()) << session.status();
  session_ = *session;
  v1::Instance instance;
  instance.set_id("inst");
  instance.set_integration("test");
  instance.set_created_at_ms(clock_.NowMs());
  ASSERT_TRUE(store_->CreateInstance(instance).ok());
}

void EngineFixture::Finish(const v1::TaskAssignment& assignment,
                           const v1::ResultBatch& batch) {
  if (batch.entities_size() + batch.relationships_size() > 0) {
    ASSERT_TRUE(engine_->AcceptBatch(assignment.attempt(), batch).ok());
  }
  v1::TaskOutcome outcome;
  outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  ASSERT_TRUE(engine_->FinishAttempt(assignment.attempt(), outcome).ok());
}

int64_t EngineFixture::StartAndValidate() {
  auto run = engine_->StartRun("inst");
  EXPECT_TRUE(run.ok()) << run.status();
  v1::TaskAssignment validation = worker_.NextAssignment();
  EXPECT_EQ(validation.kind(), v1::TASK_KIND_VALIDATE_INVOCATION);
  Finish(validation, {});
  return run->id();
}

v1::Run EngineFixture::Ended(int64_t run_id) {
  engine_->Pump();
  absl::StatusOr<v1::Run> run = store_->GetRun(run_id);
  EXPECT_TRUE(run.ok()) << run.status();
  if (!run.ok()) return {};
  EXPECT_FALSE(IsActiveRunStatus(run->status()))
      << "run " << run_id << " is still active";
  return *run;
}

}  // namespace graphmill::coordinator::testing
