// The one redaction of secrets (API tokens) out of text that leaves the
// process: error messages, log lines, events. Providers echo what they are
// sent, sometimes re-encoded, so a secret is looked for in the forms a server
// or a proxy plausibly turns it into, and every match becomes "***":
//
//   - raw, matched case-insensitively (ASCII): "Tok", "tok", "TOK";
//   - percent-encoded, any byte as %XX with upper- or lower-case hex, and '+'
//     for a space (also mixed with raw bytes, and inside the other forms);
//   - standard and URL-safe base64 of the secret alone, with and without
//     padding;
//   - base64 of the secret inside a longer value, e.g. "user:secret" or
//     "secret:" as in HTTP Basic auth: the run of base64 characters that
//     depends on the secret's bytes only, for each of the three alignments.
//     Up to two characters at each end of that run also depend on the
//     neighbouring bytes and stay visible; they carry at most a few bits of
//     the secret.
//
// Not covered: other encodings (JSON \u escapes, HTML entities, hex, double
// percent-encoding) and fragments of a secret. Secrets shorter than
// kMinSecretLength bytes are ignored, as are base64 runs that short: redacting
// every "abc" would destroy ordinary text while hiding next to nothing.
#ifndef GRAPHMILL_COMMON_REDACT_H_
#define GRAPHMILL_COMMON_REDACT_H_

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace graphmill {

// What every matched form of a secret is replaced with.
inline constexpr char kRedactionMark[] = "***";
// Secrets (and derived base64 runs) shorter than this are not redacted.
inline constexpr size_t kMinSecretLength = 4;
// Most bytes of a provider's body or item quoted in an error message.
inline constexpr size_t kMaxQuotedBytes = 200;

// Replaces the forms of a fixed set of secrets listed above. Build it once per
// task (the forms are computed in the constructor) and apply it many times.
// Immutable after construction, so thread-safe; cheap to copy. Cost: one pass
// over the text, with a per-byte table lookup rejecting most positions.
class Redactor {
 public:
  // Redacts nothing.
  Redactor() = default;
  // Empty and too short secrets are skipped; duplicates are harmless.
  explicit Redactor(const std::vector<std::string>& secrets);

  // `text` with every form of every secret replaced by kRedactionMark. When
  // matches overlap, their union is replaced.
  std::string Redact(absl::string_view text) const;

  // `status` with its message (and payloads) redacted; code unchanged. OK
  // stays OK.
  absl::Status RedactStatus(const absl::Status& status) const;

  // True when there is nothing to redact (no secret long enough).
  bool empty() const { return forms_.empty(); }

 private:
  friend std::string QuoteProviderBody(absl::string_view text,
                                       const Redactor& redactor,
                                       size_t max_bytes);

  struct Form {
    std::string bytes;
    bool ignore_case;  // the raw secret; base64 is case-sensitive
  };

  // Redacts `text` from its start until the output holds at least
  // `output_limit` bytes or the text ends; `*consumed` is how much of `text`
  // was read. Every match starting before *consumed is replaced whole, even
  // one that extends past the limit.
  std::string RedactPrefix(absl::string_view text, size_t output_limit,
                           size_t* consumed) const;
  // Bytes of `text` from `position` that form `form`, or 0 if none.
  size_t MatchAt(absl::string_view text, size_t position) const;

  std::vector<Form> forms_;
  // Bytes a match can start with, so most positions cost one lookup.
  std::array<bool, 256> first_bytes_{};
};

// How a provider's body or item is quoted in an error message: redacted, then
// cut to at most `max_bytes` (on a UTF-8 boundary) followed by
// "… (<size> bytes)" with the size of the whole `text`; control characters
// become spaces so the quote stays on one line. Redaction comes first, so a
// secret can never be cut in half and leak its first part. Only the start of
// `text` is scanned, so quoting a 50 MB body costs little.
std::string QuoteProviderBody(absl::string_view text, const Redactor& redactor,
                              size_t max_bytes = kMaxQuotedBytes);

// For code that cannot know the secrets (the converters, which see one item):
// compact JSON `json` cut to at most `max_bytes` between tokens, with the
// same "… (<size> bytes)" suffix. A string (where a secret would sit) is
// quoted whole or not at all, never cut, so the Redactor applied later by the
// code that knows the secrets (the API client that handed out the item) still
// finds it. The result is NOT redacted.
std::string QuoteJsonWholeTokens(absl::string_view json,
                                 size_t max_bytes = kMaxQuotedBytes);

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_REDACT_H_
