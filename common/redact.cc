// Redaction of secrets in the forms listed in redact.h, and bounded quoting.
#include "common/redact.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace graphmill {
namespace {

constexpr char kEllipsis[] = "\xE2\x80\xA6";  // U+2026

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool SameByte(char a, char b, bool ignore_case) {
  return ignore_case ? absl::ascii_tolower(static_cast<unsigned char>(a)) ==
                           absl::ascii_tolower(static_cast<unsigned char>(b))
                     : a == b;
}

// Bytes of `text` from `start` that spell `form`, each byte raw or (with
// `decode`) percent-encoded, a space also as '+'; 0 if they do not.
size_t MatchForm(absl::string_view form, bool ignore_case,
                 absl::string_view text, size_t start, bool decode) {
  size_t p = start;
  for (const char expected : form) {
    if (p >= text.size()) return 0;
    const char c = text[p];
    if (decode && c == '%' && p + 2 < text.size()) {
      const int high = HexValue(text[p + 1]);
      const int low = HexValue(text[p + 2]);
      if (high >= 0 && low >= 0 &&
          SameByte(static_cast<char>(high * 16 + low), expected, ignore_case)) {
        p += 3;
        continue;
      }
    }
    if (decode && c == '+' && expected == ' ') {
      ++p;
      continue;
    }
    if (!SameByte(c, expected, ignore_case)) return 0;
    ++p;
  }
  return p - start;
}

std::string ToWebSafe(std::string base64) {
  for (char& c : base64) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return base64;
}

// The base64 characters of `secret` encoded after `offset` (0-2) other bytes
// that depend on the secret's bits only: the same whatever surrounds it.
std::string Base64Core(absl::string_view secret, size_t offset) {
  const std::string encoded =
      absl::Base64Escape(absl::StrCat(std::string(offset, '\0'), secret));
  // Character i holds bits [6i, 6i + 6) of the input; the secret holds bits
  // [8 * offset, 8 * (offset + size)).
  const size_t begin = (8 * offset + 5) / 6;
  const size_t end = 8 * (offset + secret.size()) / 6;
  if (end <= begin) return "";
  return encoded.substr(begin, end - begin);
}

}  // namespace

Redactor::Redactor(const std::vector<std::string>& secrets) {
  std::set<std::pair<std::string, bool>> forms;
  auto add = [&](std::string bytes, bool ignore_case) {
    if (bytes.size() < kMinSecretLength) return;
    forms.emplace(std::move(bytes), ignore_case);
  };
  for (const std::string& secret : secrets) {
    if (secret.size() < kMinSecretLength) continue;
    add(secret, /*ignore_case=*/true);
    // With full, partial (a server that strips one '=') or no padding; both
    // alphabets.
    std::string base64 = absl::Base64Escape(secret);
    while (true) {
      add(ToWebSafe(base64), false);
      add(base64, false);
      if (!absl::EndsWith(base64, "=")) break;
      base64.pop_back();
    }
    for (size_t offset = 0; offset < 3; ++offset) {
      std::string core = Base64Core(secret, offset);
      add(ToWebSafe(core), false);
      add(std::move(core), false);
    }
  }
  for (const auto& [bytes, ignore_case] : forms) {
    const auto first = static_cast<unsigned char>(bytes[0]);
    first_bytes_[first] = true;
    if (ignore_case) {
      first_bytes_[static_cast<unsigned char>(absl::ascii_tolower(first))] =
          true;
      first_bytes_[static_cast<unsigned char>(absl::ascii_toupper(first))] =
          true;
    }
    if (first == ' ') first_bytes_['+'] = true;
    first_bytes_['%'] = true;  // any byte may come percent-encoded
    forms_.push_back({bytes, ignore_case});
  }
}

size_t Redactor::MatchAt(absl::string_view text, size_t position) const {
  size_t longest = 0;
  for (const Form& form : forms_) {
    size_t length =
        MatchForm(form.bytes, form.ignore_case, text, position, true);
    // Decoding greedily can miss a secret that holds "%XX" itself and appears
    // raw; one raw attempt covers that.
    if (length == 0 && form.bytes.find('%') != std::string::npos) {
      length = MatchForm(form.bytes, form.ignore_case, text, position, false);
    }
    longest = std::max(longest, length);
  }
  return longest;
}

std::string Redactor::RedactPrefix(absl::string_view text, size_t output_limit,
                                   size_t* consumed) const {
  std::string out;
  size_t i = 0;
  while (i < text.size() && out.size() < output_limit) {
    // Copy the run of bytes no match can start with in one go.
    size_t run = i;
    while (run < text.size() &&
           !first_bytes_[static_cast<unsigned char>(text[run])] &&
           out.size() + (run - i) < output_limit) {
      ++run;
    }
    out.append(text.data() + i, run - i);
    i = run;
    if (i >= text.size() || out.size() >= output_limit) break;
    const size_t length = MatchAt(text, i);
    if (length == 0) {
      out.push_back(text[i]);
      ++i;
      continue;
    }
    // A match starting inside this one may reach further (e.g. two secrets
    // overlapping): redact the union, so no tail of a secret is left.
    size_t end = i + length;
    for (size_t q = i + 1; q < end; ++q) {
      if (!first_bytes_[static_cast<unsigned char>(text[q])]) continue;
      end = std::max(end, q + MatchAt(text, q));
    }
    out += kRedactionMark;
    i = end;
  }
  *consumed = i;
  return out;
}

std::string Redactor::Redact(absl::string_view text) const {
  if (forms_.empty()) return std::string(text);
  size_t consumed = 0;
  return RedactPrefix(text, std::string::npos, &consumed);
}

absl::Status Redactor::RedactStatus(const absl::Status& status) const {
  if (status.ok() || forms_.empty()) return status;
  absl::Status redacted(status.code(), Redact(status.message()));
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& payload) {
        redacted.SetPayload(type_url, absl::Cord(Redact(std::string(payload))));
      });
  return redacted;
}

std::string QuoteProviderBody(absl::string_view text, const Redactor& redactor,
                              size_t max_bytes) {
  size_t consumed = 0;
  // One byte past the limit tells "exactly max_bytes" from "more".
  std::string quote = redactor.RedactPrefix(text, max_bytes + 1, &consumed);
  const bool whole = consumed == text.size() && quote.size() <= max_bytes;
  if (!whole) {
    size_t end = std::min(max_bytes, quote.size());
    while (end > 0 && end < quote.size() &&
           (static_cast<unsigned char>(quote[end]) & 0xC0) == 0x80) {
      --end;
    }
    quote.resize(end);
  }
  for (char& c : quote) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = ' ';
  }
  if (!whole) absl::StrAppend(&quote, kEllipsis, " (", text.size(), " bytes)");
  return quote;
}

std::string QuoteJsonWholeTokens(absl::string_view json, size_t max_bytes) {
  if (json.size() <= max_bytes) return std::string(json);
  // The last position <= max_bytes that is not inside a token: after a
  // structural character or a closing quote.
  size_t cut = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < max_bytes; ++i) {
    const char c = json[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        cut = i + 1;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' ||
               c == ':') {
      cut = i + 1;
    }
  }
  return absl::StrCat(json.substr(0, cut), kEllipsis, " (", json.size(),
                      " bytes)");
}

}  // namespace graphmill
