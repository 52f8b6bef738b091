// Benchmark: uploads N generated entities (and as many relationships) to the
// in-process fake JupiterOne server and prints entities/s and MB/s. The fake
// parses, validates and stores everything, so this measures both sides.
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "coordinator/sinks/jupiterone_uploader.h"
#include "graphmill/v1/graph.pb.h"
#include "tests/fakes/jupiterone/fake_jupiterone.h"

ABSL_FLAG(int, entities, 100'000, "Entities to upload.");
ABSL_FLAG(int, relationships, 100'000, "Relationships to upload.");
ABSL_FLAG(int, raw_bytes, 400, "Approximate raw data bytes per entity.");
ABSL_FLAG(int64_t, batch_bytes, graphmill::sinks::kMaxBatchBytes,
          "Uploader batch limit in bytes.");
ABSL_FLAG(bool, compress, false, "Gzip request bodies.");
ABSL_FLAG(int, latency_ms, 0, "Latency the fake adds to every upload.");

namespace {

using graphmill::v1::Entity;
using graphmill::v1::Relationship;

class GeneratedSource : public graphmill::sinks::ObjectSource {
 public:
  GeneratedSource(int entities, int relationships, int raw_bytes)
      : entities_(entities),
        relationships_(relationships),
        padding_(static_cast<size_t>(raw_bytes), 'r') {}

  absl::Status ForEachEntity(
      const std::function<absl::Status(const Entity&)>& fn) override {
    Entity entity;
    entity.set_type("bench_thing");
    entity.add_classes("Configuration");
    for (int i = 0; i < entities_; ++i) {
      entity.set_key(absl::StrCat("bench_thing:", i));
      graphmill::v1::Value name;
      name.set_string_value(entity.key());
      (*entity.mutable_properties())["name"] = name;
      (*entity.mutable_properties())["displayName"] = name;
      graphmill::v1::Value created;
      created.set_int_value(1'700'000'000'000 + i);
      (*entity.mutable_properties())["createdOn"] = created;
      entity.clear_raw_data();
      graphmill::v1::RawData* raw = entity.add_raw_data();
      raw->set_name("default");
      raw->set_json(
          absl::StrCat(R"({"id":)", i, R"(,"padding":")", padding_, R"("})"));
      if (absl::Status status = fn(entity); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status ForEachRelationship(
      const std::function<absl::Status(const Relationship&)>& fn) override {
    Relationship relationship;
    relationship.set_type("bench_thing_has_thing");
    relationship.set_class_name("HAS");
    for (int i = 0; i < relationships_; ++i) {
      relationship.set_from_entity_key(absl::StrCat("bench_thing:", i));
      relationship.set_to_entity_key(
          absl::StrCat("bench_thing:", (i + 1) % std::max(entities_, 1)));
      relationship.set_key(absl::StrCat(relationship.from_entity_key(), "|has|",
                                        relationship.to_entity_key()));
      if (absl::Status status = fn(relationship); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  const int entities_;
  const int relationships_;
  const std::string padding_;
};

}  // namespace

int main(int argc, char** argv) {
  graphmill::SetLogProgramName("upload_bench");
  absl::SetProgramUsageMessage(
      "Uploads generated objects to the in-process fake JupiterOne server.");
  absl::ParseCommandLine(argc, argv);

  graphmill::fakes::FakeJupiterOneOptions fake_options;
  if (absl::GetFlag(FLAGS_latency_ms) > 0) {
    for (const char* route : {"entities", "relationships"}) {
      graphmill::fakes::jupiterone::Fault latency;
      latency.route = route;
      latency.kind = graphmill::fakes::jupiterone::FaultKind::kLatency;
      latency.delay_ms = absl::GetFlag(FLAGS_latency_ms);
      fake_options.faults.push_back(latency);
    }
  }
  auto fake = graphmill::fakes::FakeJupiterOne::Start(fake_options);
  if (!fake.ok()) {
    graphmill::LogError("cannot start the fake: ", fake.status().ToString());
    return 1;
  }
  graphmill::sinks::JupiterOneTarget target;
  target.base_url = (*fake)->base_url();
  target.account_id = fake_options.account;
  target.api_token = fake_options.token;
  target.integration_instance_id = "bench-instance";
  target.compress = absl::GetFlag(FLAGS_compress);
  graphmill::sinks::UploaderOptions options;
  options.max_batch_bytes = absl::GetFlag(FLAGS_batch_bytes);
  GeneratedSource source(absl::GetFlag(FLAGS_entities),
                         absl::GetFlag(FLAGS_relationships),
                         absl::GetFlag(FLAGS_raw_bytes));

  const absl::Time start = absl::Now();
  absl::StatusOr<graphmill::sinks::UploadResult> result =
      graphmill::sinks::UploadToJupiterOne(target, source, {}, options);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!result.ok()) {
    graphmill::LogError("upload failed: ", result.status().ToString());
    return 1;
  }
  const int64_t objects =
      result->entities_uploaded + result->relationships_uploaded;
  std::printf(
      "uploaded %lld entities + %lld relationships in %lld batches, %.1f MB "
      "of JSON, in %.2f s (compress=%s)\n"
      "  %.0f entities/s, %.0f objects/s, %.1f MB/s of JSON; peak buffered "
      "%.1f MB\n",
      static_cast<long long>(result->entities_uploaded),
      static_cast<long long>(result->relationships_uploaded),
      static_cast<long long>(result->batches), result->body_bytes / 1e6,
      seconds, target.compress ? "true" : "false",
      result->entities_uploaded / seconds, objects / seconds,
      result->body_bytes / 1e6 / seconds, result->peak_buffered_bytes / 1e6);
  return 0;
}
