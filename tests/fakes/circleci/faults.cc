// Implementation of faults.h: the CircleCI routes, kinds and the quota and
// form parameters on top of the shared syntax
// (tests/fakes/common/fault_table.h), and the bodies of echo_token faults.
#include "tests/fakes/circleci/faults.h"

#include <cstddef>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {
namespace {

constexpr int kEchoFormCount =
    sizeof(kEchoFormNames) / sizeof(kEchoFormNames[0]);

absl::Status SetEchoForm(Fault& fault, absl::string_view value) {
  for (int i = 0; i < kEchoFormCount; ++i) {
    if (value == kEchoFormNames[i]) {
      fault.echo_form = static_cast<EchoForm>(i);
      return absl::OkStatus();
    }
  }
  std::vector<std::string> names(std::begin(kEchoFormNames),
                                 std::end(kEchoFormNames));
  return absl::InvalidArgumentError(
      absl::StrCat("unknown echo form '", value, "' (want ",
                   common::JoinAlternatives(names), ")"));
}

// The single form `form` (not kAll) of `token`.
std::string EchoTokenForm(absl::string_view token, EchoForm form) {
  switch (form) {
    case EchoForm::kUpper:
      return absl::AsciiStrToUpper(token);
    case EchoForm::kLower:
      return absl::AsciiStrToLower(token);
    case EchoForm::kBase64:
      return absl::Base64Escape(token);
    case EchoForm::kBase64Url:
      return absl::WebSafeBase64Escape(token);
    case EchoForm::kUrlEncoded:
      return PercentEncode(token);
    case EchoForm::kUrlEncodedLower: {
      std::string encoded = PercentEncode(token);
      for (size_t i = 0; i + 2 < encoded.size(); ++i) {
        if (encoded[i] != '%') continue;
        encoded[i + 1] = absl::ascii_tolower(encoded[i + 1]);
        encoded[i + 2] = absl::ascii_tolower(encoded[i + 2]);
        i += 2;
      }
      return encoded;
    }
    case EchoForm::kRaw:
    case EchoForm::kAll:
      break;
  }
  return std::string(token);
}

bool IsSingleObjectRoute(absl::string_view route) {
  return route == "me" || route == "project" || route == "webhook-create";
}

}  // namespace

const common::FaultSyntax<Fault>& GetFaultSyntax() {
  static const common::FaultSyntax<Fault>* const syntax = [] {
    auto* syntax = new common::FaultSyntax<Fault>;
    syntax->is_known_route = [](absl::string_view route) {
      for (const char* name : kRouteNames) {
        if (route == name) return true;
      }
      return false;
    };
    syntax->named_kinds = {{"malformed", FaultKind::kMalformedBody},
                           {"truncated", FaultKind::kTruncatedBody},
                           {"latency", FaultKind::kLatency},
                           {"reset", FaultKind::kConnectionReset},
                           {"repeat_token", FaultKind::kRepeatPageToken},
                           {"echo_token", FaultKind::kEchoToken}};
    syntax->extra_params = {"quota", "form"};
    syntax->set_extra_param = [](Fault& fault, absl::string_view key,
                                 absl::string_view value) -> absl::Status {
      if (key == "form") return SetEchoForm(fault, value);
      absl::StatusOr<int> quota = common::ParseNonNegativeParam(key, value);
      if (!quota.ok()) return quota.status();
      fault.ratelimit_limit = *quota;
      return absl::OkStatus();
    };
    syntax->append_extra_params = [](const Fault& fault, std::string& out) {
      if (fault.kind == FaultKind::kStatus && fault.status == 429 &&
          fault.ratelimit_limit >= 0) {
        absl::StrAppend(&out, ":quota=", fault.ratelimit_limit);
      }
      if (fault.kind == FaultKind::kEchoToken &&
          fault.echo_form != EchoForm::kRaw) {
        absl::StrAppend(
            &out, ":form=", kEchoFormNames[static_cast<int>(fault.echo_form)]);
      }
    };
    return syntax;
  }();
  return *syntax;
}

absl::Status SetFaultParam(Fault& fault, absl::string_view key,
                           absl::string_view value) {
  return GetFaultSyntax().SetParam(fault, key, value);
}

absl::StatusOr<Fault> ParseFault(absl::string_view spec) {
  return GetFaultSyntax().Parse(spec);
}

absl::StatusOr<std::vector<Fault>> ParseFaultList(absl::string_view specs) {
  return GetFaultSyntax().ParseList(specs);
}

std::string FaultToString(const Fault& fault) {
  return GetFaultSyntax().ToString(fault);
}

std::vector<std::string> EchoTokenForms(absl::string_view token,
                                        EchoForm form) {
  if (form != EchoForm::kAll) return {EchoTokenForm(token, form)};
  std::vector<std::string> forms;
  for (int i = 0; i < static_cast<int>(EchoForm::kAll); ++i) {
    forms.push_back(EchoTokenForm(token, static_cast<EchoForm>(i)));
  }
  return forms;
}

std::string EchoTokenBody(absl::string_view route, absl::string_view token,
                          EchoForm form) {
  const std::vector<std::string> forms = EchoTokenForms(token, form);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto item = [&w](int id, const std::string& echoed) {
    w.StartObject();
    w.Key("id");
    w.Int(id);
    w.Key("token");
    w.String(echoed.c_str(), static_cast<rapidjson::SizeType>(echoed.size()));
    w.EndObject();
  };
  constexpr int kFirstId = 5;
  if (IsSingleObjectRoute(route)) {
    item(kFirstId, forms.front());
  } else {
    const bool page = route != "collaborations";
    if (page) {
      w.StartObject();
      w.Key("next_page_token");
      w.Null();
      w.Key("items");
    }
    w.StartArray();
    for (size_t i = 0; i < forms.size(); ++i) {
      item(kFirstId + static_cast<int>(i), forms[i]);
    }
    w.EndArray();
    if (page) w.EndObject();
  }
  return std::string(buffer.GetString(), buffer.GetSize());
}

FaultDecision FaultTable::Decide(absl::string_view route,
                                 absl::string_view resource) {
  return common::FaultTable<Fault>::Decide(route, [&](const Fault& fault) {
    return fault.resource.empty() || fault.resource == resource;
  });
}

}  // namespace graphmill::fakes
