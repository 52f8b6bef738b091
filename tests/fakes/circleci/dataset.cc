// Implementation of dataset.h.
#include "tests/fakes/circleci/dataset.h"

#include <algorithm>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace graphmill::fakes {
namespace {

constexpr int64_t kMaxTotalItems = 5'000'000;
constexpr int64_t kMillisPerSecond = 1000;
constexpr int64_t kMillisPerDay = 86'400'000;
// Fixed "now" (2024-03-21T00:00:00Z, the day of the 2024 recordings) keeps
// output independent of the wall clock.
constexpr int64_t kNowMs = 1'710'979'200'000;
constexpr int64_t kHistoryMs = 90 * kMillisPerDay;

constexpr const char* kProjectWords[] = {
    "api",   "web",  "billing", "auth",   "search", "mobile",
    "infra", "docs", "gateway", "worker", "ledger", "metrics"};
constexpr const char* kWorkflowNames[] = {"build-and-test", "deploy", "lint",
                                          "nightly", "release"};
constexpr const char* kJobNames[] = {"checkout", "build", "test",   "lint",
                                     "package",  "scan",  "deploy", "notify"};
constexpr const char* kProjectEnvNames[] = {
    "TEST",       "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "NPM_TOKEN",  "DOCKER_PASSWORD",   "SLACK_WEBHOOK",
    "SENTRY_DSN", "DEPLOY_KEY"};
constexpr const char* kContextNames[] = {"Test Context", "deploy", "release",
                                         "cloud-credentials", "notifications"};
constexpr const char* kContextEnvNames[] = {
    "ENV_VARIABLE_KEY", "GCP_SERVICE_KEY", "DOCKERHUB_TOKEN", "SIGNING_KEY",
    "PAGERDUTY_TOKEN"};
constexpr char kSlugAlphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr char kLowerAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr char kSecretAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr char kHex[] = "0123456789abcdef";
constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";

template <size_t N>
const char* Pick(const char* const (&names)[N], int64_t index) {
  return names[static_cast<size_t>(index) % N];
}

// Name number `index` from `names`, unique for distinct indexes: the list
// repeats with a numeric suffix once exhausted.
template <size_t N>
std::string UniqueName(const char* const (&names)[N], int64_t offset,
                       int64_t index) {
  const std::string base = Pick(names, offset + index);
  const int64_t round = index / static_cast<int64_t>(N);
  return round == 0 ? base : absl::StrCat(base, "_", round);
}

// std::mt19937_64's output sequence is fixed by the standard; distributions are
// not, so only raw draws are used.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  int64_t Below(int64_t bound) {
    return bound <= 0
               ? 0
               : static_cast<int64_t>(Next() % static_cast<uint64_t>(bound));
  }

  template <size_t N>
  std::string Chars(const char (&alphabet)[N], int count) {
    std::string out;
    out.reserve(count);
    for (int i = 0; i < count; ++i) out.push_back(alphabet[Next() % (N - 1)]);
    return out;
  }

  // Version-4 UUID.
  std::string Uuid() {
    uint64_t high = Next();
    uint64_t low = Next();
    high = (high & ~uint64_t{0xF000}) | 0x4000;
    low = (low & ~(uint64_t{0x3} << 62)) | (uint64_t{0x2} << 62);
    std::string hex(32, '0');
    for (int i = 0; i < 16; ++i) {
      hex[i] = kHex[(high >> (60 - 4 * i)) & 0xF];
      hex[16 + i] = kHex[(low >> (60 - 4 * i)) & 0xF];
    }
    return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                        hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                        hex.substr(20, 12));
  }

 private:
  std::mt19937_64 engine_;
};

std::string IsoMillis(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

std::string IsoSeconds(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

absl::Status CheckSizes(const GeneratorOptions& o) {
  const std::pair<const char*, int> sizes[] = {
      {"orgs", o.orgs},
      {"projects_per_org", o.projects_per_org},
      {"pipelines_per_project", o.pipelines_per_project},
      {"workflows_per_pipeline", o.workflows_per_pipeline},
      {"jobs_per_workflow", o.jobs_per_workflow},
      {"contexts_per_org", o.contexts_per_org},
      {"env_vars_per_project", o.env_vars_per_project},
      {"env_vars_per_context", o.env_vars_per_context},
      {"project_restrictions_per_context", o.project_restrictions_per_context},
  };
  for (const auto& [name, value] : sizes) {
    if (value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "generator option '", name, "' must be >= 0, got ", value));
    }
  }
  // Products of ints fit in a double without overflow concerns at these
  // magnitudes.
  const double projects = double{1} * o.orgs * o.projects_per_org;
  const double pipelines = projects * o.pipelines_per_project;
  const double workflows = pipelines * o.workflows_per_pipeline;
  const double jobs = workflows * o.jobs_per_workflow;
  const double contexts = double{1} * o.orgs * o.contexts_per_org;
  const double total = projects + pipelines + workflows + jobs +
                       projects * o.env_vars_per_project +
                       contexts * (1 + o.env_vars_per_context +
                                   o.project_restrictions_per_context + 1);
  if (total > static_cast<double>(kMaxTotalItems)) {
    return absl::InvalidArgumentError(
        absl::StrCat("generator options ask for ", static_cast<int64_t>(total),
                     " items; the limit is ", kMaxTotalItems));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Dataset> GenerateDataset(const GeneratorOptions& options) {
  if (absl::Status status = CheckSizes(options); !status.ok()) return status;
  Random random(options.seed);
  Dataset data;
  data.user = User{options.user_id, options.login};

  for (int org_index = 0; org_index < options.orgs; ++org_index) {
    Org org;
    org.id = random.Uuid();
    const bool github = org_index % 2 == 1;
    org.vcs_type = github ? "github" : "circleci";
    org.name = org_index == 0 ? options.login
                              : absl::StrCat("team", org_index, "-",
                                             random.Chars(kLowerAlnum, 5));
    org.slug = github
                   ? absl::StrCat("gh/", org.name)
                   : absl::StrCat("circleci/", random.Chars(kSlugAlphabet, 22));
    org.avatar_url = absl::StrCat("https://avatars.githubusercontent.com/u/",
                                  1'000'000 + random.Below(90'000'000), "?v=4");
    data.orgs.push_back(org);

    const size_t first_project = data.projects.size();
    for (int p = 0; p < options.projects_per_org; ++p) {
      Project project;
      project.id = random.Uuid();
      project.name = absl::StrCat(Pick(kProjectWords, p), "-", p);
      project.slug =
          github ? absl::StrCat(org.slug, "/", project.name)
                 : absl::StrCat(org.slug, "/", random.Chars(kSlugAlphabet, 22));
      project.organization_id = org.id;
      project.organization_name = org.name;
      project.organization_slug = org.slug;
      project.vcs_url =
          github
              ? absl::StrCat("https://github.com/", org.name, "/", project.name)
              : absl::StrCat("//circleci.com/", org.id, "/", project.id);
      project.default_branch = "main";
      project.provider = github ? "GitHub" : "CircleCI";
      data.projects.push_back(project);
    }

    for (int p = 0; p < options.projects_per_org; ++p) {
      const Project& project = data.projects[first_project + p];
      // Pipeline times first, sorted, so pipeline numbers grow with time.
      std::vector<int64_t> times_ms;
      for (int n = 0; n < options.pipelines_per_project; ++n) {
        times_ms.push_back(kNowMs - kHistoryMs + random.Below(kHistoryMs));
      }
      std::sort(times_ms.begin(), times_ms.end());
      int job_number = 0;
      for (int n = 0; n < options.pipelines_per_project; ++n) {
        Pipeline pipeline;
        pipeline.id = random.Uuid();
        pipeline.project_slug = project.slug;
        pipeline.org_slug = org.slug;
        pipeline.number = n + 1;
        pipeline.state = "created";
        pipeline.created_at_ms = times_ms[n];
        pipeline.created_at = IsoMillis(times_ms[n]);
        pipeline.updated_at = pipeline.created_at;
        pipeline.trigger_type = github ? "webhook" : "github_app";
        pipeline.branch = random.Below(4) == 0
                              ? absl::StrCat("feature/change-", n + 1)
                              : project.default_branch;
        pipeline.revision = random.Chars(kHex, 40);
        data.pipelines.push_back(pipeline);

        for (int w = 0; w < options.workflows_per_pipeline; ++w) {
          Workflow workflow;
          workflow.id = random.Uuid();
          workflow.pipeline_id = pipeline.id;
          workflow.name = UniqueName(kWorkflowNames, 0, w);
          workflow.project_slug = project.slug;
          const int64_t roll = random.Below(100);
          workflow.status = roll < 80   ? "success"
                            : roll < 95 ? "failed"
                                        : "canceled";
          workflow.started_by = options.user_id;
          workflow.pipeline_number = pipeline.number;
          const int64_t workflow_start_ms =
              pipeline.created_at_ms + (1 + w) * kMillisPerSecond;
          int64_t clock_ms = workflow_start_ms;
          workflow.created_at = IsoSeconds(workflow_start_ms);
          if (workflow.status == "canceled")
            workflow.canceled_by = options.user_id;

          std::string previous_job_id;
          for (int j = 0; j < options.jobs_per_workflow; ++j) {
            Job job;
            job.id = random.Uuid();
            job.workflow_id = workflow.id;
            job.job_number = ++job_number;
            job.name = UniqueName(kJobNames, 0, j);
            job.project_slug = project.slug;
            const bool last = j + 1 == options.jobs_per_workflow;
            job.status = last && workflow.status != "success"
                             ? workflow.status
                             : std::string("success");
            job.type = "build";
            clock_ms += kMillisPerSecond;
            job.started_at = IsoSeconds(clock_ms);
            clock_ms += (5 + random.Below(300)) * kMillisPerSecond;
            job.stopped_at = IsoSeconds(clock_ms);
            if (!previous_job_id.empty())
              job.dependencies.push_back(previous_job_id);
            previous_job_id = job.id;
            data.jobs.push_back(std::move(job));
          }
          clock_ms += kMillisPerSecond;
          workflow.stopped_at = IsoSeconds(clock_ms);
          data.workflows.push_back(std::move(workflow));
        }
      }

      for (int k = 0; k < options.env_vars_per_project; ++k) {
        ProjectEnvVar var;
        var.project_slug = project.slug;
        var.name = UniqueName(kProjectEnvNames, first_project + p, k);
        var.value = random.Chars(kSecretAlphabet, 20);
        var.masked_value =
            absl::StrCat("xxxx", var.value.substr(var.value.size() - 3));
        var.created_at =
            IsoMillis(kNowMs - kHistoryMs - random.Below(kHistoryMs));
        data.project_env_vars.push_back(std::move(var));
      }
    }

    const int restricted = std::min(options.project_restrictions_per_context,
                                    options.projects_per_org);
    for (int c = 0; c < options.contexts_per_org; ++c) {
      Context context;
      context.id = random.Uuid();
      context.org_slug = org.slug;
      context.name = UniqueName(kContextNames, 0, c);
      const int64_t created_ms = kNowMs - kHistoryMs - random.Below(kHistoryMs);
      context.created_at = IsoMillis(created_ms);
      data.contexts.push_back(context);

      if (options.expression_restriction) {
        data.restrictions.push_back(ContextRestriction{
            random.Uuid(), context.id, kNilUuid, "", "expression",
            "pipeline.git.branch == \"main\""});
      }
      for (int r = 0; r < restricted; ++r) {
        const Project& project =
            data.projects[first_project +
                          (c * restricted + r) % options.projects_per_org];
        data.restrictions.push_back(
            ContextRestriction{random.Uuid(), context.id, project.id,
                               project.name, "project", project.id});
      }
      for (int k = 0; k < options.env_vars_per_context; ++k) {
        ContextEnvVar var;
        var.context_id = context.id;
        var.variable = UniqueName(kContextEnvNames, c, k);
        const int64_t var_created_ms = created_ms + random.Below(kMillisPerDay);
        var.created_at = IsoMillis(var_created_ms);
        var.updated_at =
            IsoMillis(var_created_ms + random.Below(kMillisPerDay));
        data.context_env_vars.push_back(std::move(var));
      }
    }
  }
  return data;
}

}  // namespace graphmill::fakes
