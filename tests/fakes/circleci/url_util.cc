// Implementation of url_util.h.
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

constexpr char kHexDigits[] = "0123456789ABCDEF";

}  // namespace

std::string PercentDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string PercentEncode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (IsUnreserved(byte)) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHexDigits[byte >> 4]);
      out.push_back(kHexDigits[byte & 0xF]);
    }
  }
  return out;
}

std::string NormalizeEscapes(absl::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      const int high = HexValue(raw[i + 1]);
      const int low = HexValue(raw[i + 2]);
      if (high >= 0 && low >= 0) {
        const auto byte = static_cast<unsigned char>(high * 16 + low);
        if (IsUnreserved(byte)) {
          out.push_back(static_cast<char>(byte));
        } else {
          out.push_back('%');
          out.push_back(kHexDigits[high]);
          out.push_back(kHexDigits[low]);
        }
        i += 2;
        continue;
      }
    }
    out.push_back(raw[i]);
  }
  return out;
}

QueryParams ParseQuery(absl::string_view raw_query) {
  QueryParams params;
  while (!raw_query.empty()) {
    const size_t amp = raw_query.find('&');
    const absl::string_view piece = raw_query.substr(0, amp);
    raw_query = amp == absl::string_view::npos ? absl::string_view()
                                               : raw_query.substr(amp + 1);
    if (piece.empty()) continue;
    const size_t eq = piece.find('=');
    if (eq == absl::string_view::npos) {
      params.emplace_back(PercentDecode(piece, true), "");
    } else {
      params.emplace_back(PercentDecode(piece.substr(0, eq), true),
                          PercentDecode(piece.substr(eq + 1), true));
    }
  }
  return params;
}

const std::string* FindParam(const QueryParams& params,
                             absl::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::pair<std::string, std::string> SplitTarget(absl::string_view target) {
  const size_t question = target.find('?');
  if (question == absl::string_view::npos) return {std::string(target), ""};
  return {std::string(target.substr(0, question)),
          std::string(target.substr(question + 1))};
}

}  // namespace graphmill::fakes
