// The CircleCI step fetch-pipelines, declared with its handler: every
// organization's pipeline feed, deduplicated by key; in an incremental run,
// paged only down to the pipelines already known and older than the
// look-back window, the older ones carried forward from the graph.
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

// Pipelines are listed newest first. An incremental run stops paging an
// organization's feed after a page whose pipelines were all in the graph and
// created before the look-back window, and carries forward the graph's older
// pipelines of the organization that it did not page through. A pipeline of
// the window that is no longer listed is not carried: it was deleted.
class FeedCutoff {
 public:
  FeedCutoff(int64_t since_ms, const std::vector<v1::Entity>* known)
      : since_ms_(since_ms) {
    if (known == nullptr) return;
    for (const v1::Entity& pipeline : *known)
      known_.emplace(pipeline.key(), &pipeline);
  }

  // A pipeline of the page being listed.
  void Listed(const v1::Entity& pipeline) {
    listed_.insert(pipeline.key());
    ++on_page_;
    if (known_.contains(pipeline.key()) &&
        IntProperty(pipeline, "createdOn") < since_ms_) {
      ++old_known_on_page_;
    }
  }
  // After each page: whether to fetch the next one.
  bool MorePages() {
    stopped_ = since_ms_ > 0 && on_page_ > 0 && old_known_on_page_ == on_page_;
    on_page_ = 0;
    old_known_on_page_ = 0;
    return !stopped_;
  }
  // Known pipelines to carry forward once the listing ended.
  std::vector<const v1::Entity*> Carried() const {
    std::vector<const v1::Entity*> carried;
    if (!stopped_) return carried;
    for (const auto& [key, pipeline] : known_) {
      if (!listed_.contains(key) &&
          IntProperty(*pipeline, "createdOn") < since_ms_) {
        carried.push_back(pipeline);
      }
    }
    return carried;
  }

 private:
  const int64_t since_ms_;
  absl::flat_hash_map<std::string, const v1::Entity*> known_;
  absl::flat_hash_set<std::string> listed_;
  int on_page_ = 0;
  int old_known_on_page_ = 0;
  bool stopped_ = false;
};

absl::Status FetchPipelines(Step& step) {
  absl::StatusOr<std::vector<Organization>> organizations =
      ReadOrganizations(step.context);
  if (!organizations.ok()) return organizations.status();
  const int64_t since_ms =
      step.CanCarry() ? step.context.incremental_since_ms() : 0;
  std::map<std::string, std::vector<v1::Entity>> known;  // by organization
  if (since_ms != 0) {
    absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> read =
        KnownByScope(step.context, kPipelineType);
    if (!read.ok()) return read.status();
    known = *std::move(read);
  }
  std::atomic<size_t> carried_total = 0;
  absl::Status status = step.FanOut(organizations->size(), [&](size_t i) {
    const Organization& organization = (*organizations)[i];
    const auto of_organization = known.find(organization.key);
    FeedCutoff cutoff(since_ms, of_organization == known.end()
                                    ? nullptr
                                    : &of_organization->second);
    absl::Status status = step.client.ListPipelines(
        organization.slug,
        [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> pipeline = PipelineEntity(item);
          if (!pipeline.ok()) return pipeline.status();
          cutoff.Listed(*pipeline);
          return step.AddEntityOnce(*std::move(pipeline), organization.key);
        },
        [&] { return cutoff.MorePages(); });
    if (status.ok()) {
      const std::vector<const v1::Entity*> carried = cutoff.Carried();
      carried_total += carried.size();
      for (const v1::Entity* pipeline : carried) {
        absl::Status added = step.AddEntityOnce(*pipeline, organization.key);
        if (!added.ok()) return added;
      }
    }
    return step.WarnIfMissingPermission(
        status,
        absl::StrCat("pipelines for organization '", organization.slug, "'"),
        "GET /pipeline?org-slug={slug}", organization.key);
  });
  if (status.ok() && since_ms != 0) {
    size_t known_total = 0;
    for (const auto& [organization, pipelines] : known)
      known_total += pipelines.size();
    ReportCarried(step, carried_total, known_total, "known pipelines");
  }
  return status;
}

}  // namespace

const StepSpec& FetchPipelinesStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchPipelines,
      .name = "Fetch Pipelines",
      .depends_on = {kStepFetchUserGroups},
      .entities = {{kPipelineType, "Configuration"}},
      .run = &FetchPipelines,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
