// Implementation of dataset.h: a seeded, platform-independent generator.
#include "tests/fakes/heroku/dataset.h"

#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace graphmill::fakes::heroku {
namespace {

constexpr int64_t kMaxItems = 5'000'000;

constexpr const char* kCompanies[] = {
    "acme",  "globex", "initech", "umbrella",  "hooli",
    "stark", "wayne",  "wonka",   "cyberdyne", "tyrell"};
constexpr const char* kDepartments[] = {
    "payments", "platform", "search", "growth",   "data",
    "mobile",   "infra",    "web",    "security", "billing"};
constexpr const char* kFirstNames[] = {
    "ada",    "alan",   "grace",    "linus", "barbara", "ken", "dennis",
    "edsger", "donald", "margaret", "john",  "frances", "tim", "radia"};
constexpr const char* kLastNames[] = {
    "lovelace", "turing",  "hopper",   "torvalds", "liskov",
    "thompson", "ritchie", "dijkstra", "knuth",    "hamilton",
    "backus",   "allen",   "berners",  "perlman"};
constexpr const char* kAdjectives[] = {
    "damp",   "solid",  "shallow", "quiet", "young", "ancient", "frozen",
    "hidden", "lively", "polar",   "rapid", "sunny", "calm",    "bold",
    "mystic", "gentle", "proud",   "misty", "vast",  "fierce"};
constexpr const char* kNouns[] = {
    "falls",  "river",  "meadow", "peak",   "forest", "harbor", "canyon",
    "island", "lake",   "ridge",  "valley", "dawn",   "cloud",  "brook",
    "shore",  "summit", "grove",  "plains", "dunes",  "springs"};
constexpr const char* kBuildpacks[] = {"Node.js", "Ruby", "Python", "Go",
                                       "Java"};

template <typename T, size_t N>
constexpr size_t Count(const T (&)[N]) {
  return N;
}

// std::mt19937_64 is fully specified by the standard, so the data is the same
// on every platform; distributions are done by hand for the same reason.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t Next() { return engine_(); }
  // Uniform in [0, n); n > 0.
  int64_t Below(int64_t n) {
    return static_cast<int64_t>(Next() % static_cast<uint64_t>(n));
  }
  bool Percent(int percent) { return Below(100) < percent; }
  std::string Uuid() {
    const uint64_t high = (Next() & 0xffffffffffff0fffULL) | 0x4000ULL;
    const uint64_t low =
        (Next() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high >> 32,
                           (high >> 16) & 0xffff, high & 0xffff, low >> 48,
                           low & 0xffffffffffffULL);
  }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(static_cast<int64_t>(N))];
  }

 private:
  std::mt19937_64 engine_;
};

std::string Iso(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

// Creation times fall in 2019-2020; every updated_at is distinct (one minute
// apart, in generation order), so ranges on updated_at never see ties.
class Clock {
 public:
  explicit Clock(Rng& rng) : rng_(rng) {}
  std::string Created() {
    return Iso(absl::FromUnixSeconds(kCreatedBase + rng_.Below(kTwoYears)));
  }
  std::string NextUpdated() {
    return Iso(absl::FromUnixSeconds(kUpdatedBase + 60 * sequence_++));
  }

 private:
  static constexpr int64_t kCreatedBase = 1546300800;  // 2019-01-01T00:00:00Z
  static constexpr int64_t kTwoYears = 2 * 365 * 86400;
  static constexpr int64_t kUpdatedBase = 1609459200;  // 2021-01-01T00:00:00Z
  Rng& rng_;
  int64_t sequence_ = 0;
};

absl::Status CheckNonNegative(const char* name, int value) {
  if (value < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fake Heroku dataset option '", name, "' must be >= 0, got ", value));
  }
  return absl::OkStatus();
}

// How many shared members land in `account`.
int SharedIn(const DatasetOptions& options, int account) {
  int count = 0;
  for (int k = 0; k < options.shared_members; ++k) {
    if (k % options.accounts == account ||
        (k + 1) % options.accounts == account) {
      ++count;
    }
  }
  return count;
}

int AppsOfTeam(const DatasetOptions& options, int team) {
  return team == 0 && options.apps_first_team >= 0 ? options.apps_first_team
                                                   : options.apps_per_team;
}

absl::Status Validate(const DatasetOptions& options) {
  for (const auto& [name, value] :
       std::initializer_list<std::pair<const char*, int>>{
           {"accounts", options.accounts},
           {"members_per_account", options.members_per_account},
           {"shared_members", options.shared_members},
           {"teams_per_account", options.teams_per_account},
           {"team_members_per_team", options.team_members_per_team},
           {"outside_team_members_per_team",
            options.outside_team_members_per_team},
           {"apps_per_team", options.apps_per_team},
           {"addons_per_app", options.addons_per_app}}) {
    if (absl::Status status = CheckNonNegative(name, value); !status.ok()) {
      return status;
    }
  }
  if (options.apps_first_team < -1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fake Heroku dataset option 'apps_first_team' must be >= -1, got ",
        options.apps_first_team));
  }
  if (options.shared_members > 0 && options.accounts < 2) {
    return absl::InvalidArgumentError(
        "fake Heroku dataset option 'shared_members' needs accounts >= 2");
  }
  int64_t members = 0;
  for (int a = 0; a < options.accounts; ++a) {
    const int shared = SharedIn(options, a);
    if (shared > options.members_per_account) {
      return absl::InvalidArgumentError(
          absl::StrCat("fake Heroku dataset option 'members_per_account' (",
                       options.members_per_account, ") is smaller than the ",
                       shared, " shared members of account ", a));
    }
    members += options.members_per_account;
  }
  const int64_t teams =
      static_cast<int64_t>(options.accounts) * options.teams_per_account;
  int64_t apps = 0;
  if (teams > 0) {
    apps = AppsOfTeam(options, 0) + (teams - 1) * options.apps_per_team;
  }
  const int64_t total = members + teams +
                        teams * (options.team_members_per_team +
                                 options.outside_team_members_per_team) +
                        apps + apps * options.addons_per_app;
  if (total > kMaxItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("fake Heroku dataset would hold ", total,
                     " items; the limit is ", kMaxItems));
  }
  return absl::OkStatus();
}

// Makes a unique "<a>-<b>-<5 digits>" name.
std::string UniqueName(Rng& rng, absl::string_view prefix,
                       absl::flat_hash_set<std::string>& taken) {
  while (true) {
    std::string name =
        prefix.empty()
            ? absl::StrCat(rng.Pick(kAdjectives), "-", rng.Pick(kNouns), "-",
                           10000 + rng.Below(90000))
            : absl::StrCat(prefix, "-", rng.Pick(kAdjectives), "-",
                           10000 + rng.Below(90000));
    if (taken.insert(name).second) return name;
  }
}

User MakeUser(Rng& rng, Clock& clock, int number, bool enterprise_member) {
  User user;
  user.id = rng.Uuid();
  const std::string first = rng.Pick(kFirstNames);
  const std::string last = rng.Pick(kLastNames);
  user.email = absl::StrCat(
      first, ".", last, number,
      enterprise_member ? "@example.com" : "@contractor.example.org");
  user.name = absl::StrCat(
      std::string(1, static_cast<char>(first[0] - 32)), first.substr(1), " ",
      std::string(1, static_cast<char>(last[0] - 32)), last.substr(1));
  user.federated = enterprise_member && rng.Percent(30);
  user.two_factor_authentication = rng.Percent(60);
  user.enterprise_member = enterprise_member;
  user.created_at = clock.Created();
  user.updated_at = clock.NextUpdated();
  user.last_login = user.updated_at;
  return user;
}

std::string TeamRole(Rng& rng, bool first) {
  if (first) return "admin";
  const int64_t roll = rng.Below(100);
  if (roll < 60) return "member";
  if (roll < 80) return "admin";
  if (roll < 95) return "collaborator";
  return "owner";
}

}  // namespace

std::string TeamOwnerEmail(const Team& team) {
  return absl::StrCat(team.name, "@herokumanager.com");
}

absl::StatusOr<Dataset> GenerateDataset(const DatasetOptions& options) {
  if (absl::Status status = Validate(options); !status.ok()) return status;
  Dataset data;
  data.options = options;
  Rng rng(options.seed);
  Clock clock(rng);

  for (int a = 0; a < options.accounts; ++a) {
    EnterpriseAccount account;
    account.id = rng.Uuid();
    account.name =
        a < static_cast<int>(Count(kCompanies))
            ? std::string(kCompanies[a])
            : absl::StrCat(kCompanies[a % Count(kCompanies)], "-", a);
    account.created_at = clock.Created();
    account.updated_at = clock.NextUpdated();
    account.trial = false;
    if (a % 2 == 0) {
      account.identity_provider =
          IdentityProvider{rng.Uuid(), absl::StrCat(account.name, "-sso"),
                           rng.Uuid(), account.name};
    }
    data.accounts.push_back(std::move(account));
  }

  // Members: each account's own users, then the shared users (created once,
  // joined to two accounts).
  int user_number = 0;
  std::vector<std::vector<int>> users_of_account(options.accounts);
  for (int a = 0; a < options.accounts; ++a) {
    const int own = options.members_per_account - SharedIn(options, a);
    for (int i = 0; i < own; ++i) {
      users_of_account[a].push_back(static_cast<int>(data.users.size()));
      data.users.push_back(MakeUser(rng, clock, user_number++, true));
    }
  }
  for (int k = 0; k < options.shared_members; ++k) {
    const int user = static_cast<int>(data.users.size());
    data.users.push_back(MakeUser(rng, clock, user_number++, true));
    users_of_account[k % options.accounts].push_back(user);
    users_of_account[(k + 1) % options.accounts].push_back(user);
  }
  for (int a = 0; a < options.accounts; ++a) {
    bool first = true;
    for (const int user : users_of_account[a]) {
      AccountMember member;
      member.id = rng.Uuid();
      member.account = a;
      member.user = user;
      if (first) {
        member.permissions = {"view", "create", "manage", "billing"};
      } else if (rng.Percent(20)) {
        member.permissions = {"view", "create"};
      } else {
        member.permissions = {"view"};
      }
      member.two_factor_authentication =
          data.users[user].two_factor_authentication;
      data.account_members.push_back(std::move(member));
      first = false;
    }
  }

  for (int a = 0; a < options.accounts; ++a) {
    for (int t = 0; t < options.teams_per_account; ++t) {
      Team team;
      team.id = rng.Uuid();
      team.name = absl::StrCat(data.accounts[a].name, "-",
                               kDepartments[t % Count(kDepartments)], "-", t);
      team.account = a;
      team.created_at = clock.Created();
      team.updated_at = clock.NextUpdated();
      team.membership_limit = 25 + 25 * static_cast<int>(rng.Below(4));
      team.default_team = t == 0;
      data.teams.push_back(std::move(team));
    }
  }

  for (int t = 0; t < static_cast<int>(data.teams.size()); ++t) {
    // A partial Fisher-Yates shuffle picks distinct account members.
    std::vector<int> pool = users_of_account[data.teams[t].account];
    const int picked =
        std::min<int>(options.team_members_per_team, pool.size());
    for (int i = 0; i < picked; ++i) {
      std::swap(pool[i], pool[i + rng.Below(pool.size() - i)]);
      TeamMember member;
      member.id = rng.Uuid();
      member.team = t;
      member.user = pool[i];
      member.role = TeamRole(rng, i == 0);
      member.created_at = clock.Created();
      member.updated_at = clock.NextUpdated();
      data.team_members.push_back(std::move(member));
    }
    for (int i = 0; i < options.outside_team_members_per_team; ++i) {
      TeamMember member;
      member.id = rng.Uuid();
      member.team = t;
      member.user = static_cast<int>(data.users.size());
      data.users.push_back(MakeUser(rng, clock, user_number++, false));
      member.role = "collaborator";
      member.created_at = clock.Created();
      member.updated_at = clock.NextUpdated();
      data.team_members.push_back(std::move(member));
    }
  }

  absl::flat_hash_set<std::string> app_names;
  for (int t = 0; t < static_cast<int>(data.teams.size()); ++t) {
    const int count = AppsOfTeam(options, t);
    for (int i = 0; i < count; ++i) {
      App app;
      app.id = rng.Uuid();
      app.name = UniqueName(rng, "", app_names);
      app.team = t;
      app.created_at = clock.Created();
      app.updated_at = clock.NextUpdated();
      app.released_at = app.updated_at;
      app.region = static_cast<int>(rng.Below(Count(kRegions)));
      app.stack = static_cast<int>(rng.Below(Count(kStacks)));
      if (rng.Percent(70)) {
        app.buildpack_description = rng.Pick(kBuildpacks);
        app.repo_size = 10'000 + rng.Below(1'000'000);
        app.slug_size = 1'000'000 + rng.Below(100'000'000);
      }
      app.legacy_id = absl::StrCat("app", 100'000'000 + rng.Below(900'000'000),
                                   "@heroku.com");
      data.apps.push_back(std::move(app));
    }
  }

  absl::flat_hash_set<std::string> addon_names;
  for (int p = 0; p < static_cast<int>(data.apps.size()); ++p) {
    // Cycle through the catalogue from a random start: an app never has the
    // same service twice unless it has more add-ons than services.
    const int64_t first_service = rng.Below(Count(kAddonServices));
    for (int i = 0; i < options.addons_per_app; ++i) {
      Addon addon;
      addon.id = rng.Uuid();
      addon.service =
          static_cast<int>((first_service + i) % Count(kAddonServices));
      addon.name = UniqueName(rng, kAddonServices[addon.service].name_prefix,
                              addon_names);
      addon.app = p;
      addon.created_at = clock.Created();
      addon.updated_at = clock.NextUpdated();
      addon.provider_id = absl::StrCat(1'000'000 + rng.Below(9'000'000'000));
      data.addons.push_back(std::move(addon));
    }
  }
  return data;
}

}  // namespace graphmill::fakes::heroku
