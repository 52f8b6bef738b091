// Implementation of coordinator/sinks/uploader_test_util.h.
#include "coordinator/sinks/uploader_test_util.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"

namespace graphmill::sinks::testing {

v1::Entity MakeEntity(const std::string& key, const std::string& type,
                      const std::string& raw_json) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type(type);
  entity.add_classes("Configuration");
  (*entity.mutable_properties())["name"] = StringValue(key);
  (*entity.mutable_properties())["displayName"] = StringValue(key);
  (*entity.mutable_properties())["createdOn"] = IntValue(1'700'000'000'000);
  if (!raw_json.empty()) {
    v1::RawData* raw = entity.add_raw_data();
    raw->set_name("default");
    raw->set_json(raw_json);
  }
  return entity;
}

v1::Relationship MakeRelationship(const std::string& from,
                                  const std::string& to) {
  return DirectRelationship(from, "test_thing", "HAS", to, "test_other");
}

std::string RawJson(int index, size_t big) {
  return absl::StrCat(R"({"id":)", index, R"(,"small":"s","medium":")",
                      std::string(big / 4, 'm'), R"(","big":")",
                      std::string(big, 'b'), R"(","nested":{"a":[1,2,3]}})");
}

absl::Status VectorSource::ForEachEntity(
    const std::function<absl::Status(const v1::Entity&)>& fn) {
  for (const v1::Entity& entity : entities) {
    if (absl::Status status = fn(entity); !status.ok()) return status;
    if (after_each_entity) after_each_entity();
  }
  return entity_error;
}

absl::Status VectorSource::ForEachRelationship(
    const std::function<absl::Status(const v1::Relationship&)>& fn) {
  for (const v1::Relationship& relationship : relationships) {
    if (absl::Status status = fn(relationship); !status.ok()) return status;
  }
  return absl::OkStatus();
}

void UploaderTest::StartFake(int64_t max_body_bytes) {
  fakes::FakeJupiterOneOptions options;
  options.token = kToken;
  options.account = kAccount;
  options.max_body_bytes = max_body_bytes;
  absl::StatusOr<std::unique_ptr<fakes::FakeJupiterOne>> fake =
      fakes::FakeJupiterOne::Start(options);
  ASSERT_TRUE(fake.ok()) << fake.status();
  fake_ = *std::move(fake);
}

JupiterOneTarget UploaderTest::Target() const {
  JupiterOneTarget target;
  target.base_url = fake_->base_url() + "/";  // a trailing slash is fine
  target.account_id = kAccount;
  target.api_token = kToken;
  target.integration_instance_id = kInstance;
  return target;
}

UploaderOptions UploaderTest::Options(int64_t max_batch_bytes) {
  UploaderOptions options;
  options.max_batch_bytes = max_batch_bytes;
  options.http.clock = &clock_;
  options.http.random_fraction = [] { return 1.0; };
  options.http.initial_backoff = absl::Milliseconds(100);
  options.http.max_attempts = 4;
  options.on_event = [this](const v1::Event& event) {
    absl::MutexLock lock(&mutex_);
    events_.push_back(event);
  };
  return options;
}

std::vector<v1::Event> UploaderTest::Events(const std::string& name) {
  absl::MutexLock lock(&mutex_);
  std::vector<v1::Event> out;
  for (const v1::Event& event : events_) {
    if (event.name() == name) out.push_back(event);
  }
  return out;
}

fakes::jupiterone::JobSnapshot UploaderTest::OnlyJob() {
  std::vector<fakes::jupiterone::JobSnapshot> jobs = fake_->Jobs();
  EXPECT_EQ(jobs.size(), 1u);
  return jobs.empty() ? fakes::jupiterone::JobSnapshot{} : jobs.front();
}

std::vector<std::string> UploaderTest::Keys(
    const std::map<std::string, std::string>& objects) {
  std::vector<std::string> keys;
  for (const auto& [key, unused] : objects) keys.push_back(key);
  return keys;
}

}  // namespace graphmill::sinks::testing
