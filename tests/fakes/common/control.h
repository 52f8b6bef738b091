// The /_control endpoints every fake has: health, counters and faults (GET,
// DELETE, and POST of faults as JSON).
//
//   GET    health    {"status":"ok"}
//   GET    counters  {"ROUTE": N, ...}; DELETE resets them and answers the same
//   GET    faults    {"faults": [{"spec": "...", "fired": N}, ...]}
//   DELETE faults    clears them
//   POST   faults    adds faults: {"spec": "A,B"}, {"faults": [F, ...]} or one
//                    F, where F is a string in the text syntax or an object of
//                    route, kind and parameters ({"kind": "latency",
//                    "ms": 50}); 400 names the bad fault, none is added then.
//   webhooks, webhooks/redeliver: see webhook_sender.h (when the fake sends
//                    webhooks: ControlHooks::webhooks).
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_CONTROL_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_CONTROL_H_

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/common/fault_table.h"
#include "tests/fakes/common/webhook_sender.h"

namespace graphmill::fakes::common {

// The text of a JSON scalar as the fault syntax spells it ("" for others).
std::string JsonValueText(const rapidjson::Value& value);
// {"NAME": N, ...}.
std::string CountersJson(const std::map<std::string, int64_t>& counters);
// {"faults": [{"spec": S, "fired": N}, ...]}.
std::string FaultsJson(
    const std::vector<std::pair<std::string, int64_t>>& specs_and_fired);
// Sets `res` to `status` with a JSON body.
void SendJson(int status, std::string body, httplib::Response& res);

// One fault from its JSON form: a string in the text syntax, or an object
// whose members are the text syntax's route, kind and parameters.
template <typename FaultT>
absl::StatusOr<FaultT> FaultFromJson(const rapidjson::Value& value,
                                     const FaultSyntax<FaultT>& syntax) {
  if (value.IsString()) return syntax.Parse(value.GetString());
  if (!value.IsObject() || !value.HasMember("kind")) {
    return absl::InvalidArgumentError(
        "a fault must be a string or an object with a \"kind\"");
  }
  FaultT fault;
  bool has_ms = false;
  for (const auto& member : value.GetObject()) {
    const absl::string_view key(member.name.GetString(),
                                member.name.GetStringLength());
    has_ms = has_ms || key == "ms";
    if (absl::Status status =
            syntax.SetParam(fault, key, JsonValueText(member.value));
        !status.ok()) {
      return status;
    }
  }
  if (fault.kind == FaultSyntax<FaultT>::Kind::kLatency && !has_ms) {
    return absl::InvalidArgumentError("latency fault needs \"ms\"");
  }
  return fault;
}

// The faults of a POST /_control/faults body (see above).
template <typename FaultT>
absl::StatusOr<std::vector<FaultT>> FaultsFromJson(
    const std::string& body, const FaultSyntax<FaultT>& syntax) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError("fault request body is not JSON");
  }
  if (doc.IsObject() && doc.HasMember("spec") && doc["spec"].IsString() &&
      !(doc.HasMember("faults") && doc["faults"].IsArray())) {
    return syntax.ParseList(doc["spec"].GetString());
  }
  std::vector<FaultT> parsed;
  auto add = [&](const rapidjson::Value& value) -> absl::Status {
    absl::StatusOr<FaultT> fault = FaultFromJson(value, syntax);
    if (!fault.ok()) return fault.status();
    parsed.push_back(*std::move(fault));
    return absl::OkStatus();
  };
  if (doc.IsObject() && doc.HasMember("faults") && doc["faults"].IsArray()) {
    for (const rapidjson::Value& value : doc["faults"].GetArray()) {
      if (absl::Status status = add(value); !status.ok()) return status;
    }
  } else if (absl::Status status = add(doc); !status.ok()) {
    return status;
  }
  return parsed;
}

// The mutations of a POST /_control/mutations body, as the fakes with data
// changes (CircleCI, Heroku) take them: one object, an array of them, or
// {"mutations": [...]} (its only member); each parsed by `parse` (a
// const rapidjson::Value& -> absl::StatusOr<MutationT>). All or nothing:
// INVALID_ARGUMENT for a body that is not JSON, an empty list, or the first
// bad mutation ("mutation #i: ..." in a list).
template <typename MutationT, typename Parse>
absl::StatusOr<std::vector<MutationT>> MutationsFromJson(absl::string_view json,
                                                         Parse parse) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError("mutation request body is not JSON");
  }
  const rapidjson::Value* list = nullptr;
  if (doc.IsArray()) {
    list = &doc;
  } else if (doc.IsObject() && doc.HasMember("mutations")) {
    if (doc.MemberCount() != 1 || !doc["mutations"].IsArray()) {
      return absl::InvalidArgumentError(
          "\"mutations\" must be the only member and an array");
    }
    list = &doc["mutations"];
  }
  std::vector<MutationT> mutations;
  if (list == nullptr) {
    absl::StatusOr<MutationT> m = parse(doc);
    if (!m.ok()) return m.status();
    mutations.push_back(*std::move(m));
    return mutations;
  }
  if (list->Empty()) {
    return absl::InvalidArgumentError("the mutation list is empty");
  }
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    absl::StatusOr<MutationT> m = parse((*list)[i]);
    if (!m.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mutation #", i, ": ", m.status().message()));
    }
    mutations.push_back(*std::move(m));
  }
  return mutations;
}

// What the shared control endpoints act on; all members are required but
// `webhooks`.
template <typename FaultT>
struct ControlHooks {
  const FaultSyntax<FaultT>* syntax = nullptr;
  FaultTable<FaultT>* faults = nullptr;
  // The counters' JSON; usually CountersJson(fake.Counters()).
  std::function<std::string()> counters_json;
  std::function<void()> reset_counters;
  // The fake's JSON error body for a 400 with `message`.
  std::function<std::string(absl::string_view message)> bad_request_body;
  // The fake's webhook targets and sender: serves /_control/webhooks when set.
  WebhookSender* webhooks = nullptr;
};

// Answers `method` on /_control/`path` if it is one of the shared endpoints
// above and returns true; returns false (leaving `res` alone) otherwise.
template <typename FaultT>
bool HandleSharedControl(const std::string& method, absl::string_view path,
                         const std::string& body,
                         const ControlHooks<FaultT>& hooks,
                         httplib::Response& res) {
  auto faults_json = [&hooks] {
    std::vector<std::pair<std::string, int64_t>> specs;
    for (const auto& entry : hooks.faults->Snapshot()) {
      specs.emplace_back(hooks.syntax->ToString(entry.fault), entry.fired);
    }
    return FaultsJson(specs);
  };
  if (path == "health" && method == "GET") {
    SendJson(200, "{\"status\":\"ok\"}", res);
  } else if (path == "counters" && method == "GET") {
    SendJson(200, hooks.counters_json(), res);
  } else if (path == "counters" && method == "DELETE") {
    hooks.reset_counters();
    SendJson(200, hooks.counters_json(), res);
  } else if (path == "faults" && method == "GET") {
    SendJson(200, faults_json(), res);
  } else if (path == "faults" && method == "DELETE") {
    hooks.faults->Clear();
    SendJson(200, faults_json(), res);
  } else if (path == "faults" && method == "POST") {
    absl::StatusOr<std::vector<FaultT>> parsed =
        FaultsFromJson(body, *hooks.syntax);
    if (!parsed.ok()) {
      SendJson(400, hooks.bad_request_body(parsed.status().message()), res);
      return true;
    }
    for (FaultT& fault : *parsed) hooks.faults->Add(std::move(fault));
    SendJson(200, faults_json(), res);
  } else if (hooks.webhooks != nullptr) {
    return HandleWebhookControl(method, path, body, *hooks.webhooks,
                                hooks.bad_request_body, res);
  } else {
    return false;
  }
  return true;
}

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_CONTROL_H_
