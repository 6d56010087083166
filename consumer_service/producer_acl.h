// Which client identities may write which producer ids: the rules of a
// --producer_acl file, parsed and matched. Pure: no files, no gRPC; the
// file is read by ProducerAuthorizer (producer_authorizer.h), a peer's
// identity taken from its certificate by PeerIdentityOf (peer_identity.h).
//
// The file's format, one rule a line:
//
//   # Comment lines start with '#'; blank lines are ignored.
//   # <identity>             <producer id pattern>
//   spiffe://prod/orders     orders
//   spiffe://prod/orders     orders-*
//   billing.internal         *
//
// An identity is matched exactly. A pattern is an exact producer id, or a
// prefix followed by '*' ("orders-*": every id that starts with "orders-";
// "*": every id). An identity may have several lines; it may write an id
// that any of its lines allows, and nothing else. An identity without a
// line may write nothing.
//
// Usage:
//   absl::StatusOr<ProducerAcl> acl = ProducerAcl::Parse(text, "acl.txt");
//   if (acl->Allows("spiffe://prod/orders", "orders-7")) ...
#ifndef CONSUMER_SERVICE_PRODUCER_ACL_H_
#define CONSUMER_SERVICE_PRODUCER_ACL_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace messaging {

class ProducerAcl {
 public:
  // The rules of `text`; `source` names it in errors ("<source> line N:
  // ..."). INVALID_ARGUMENT for the first line that is not a rule.
  static absl::StatusOr<ProducerAcl> Parse(absl::string_view text,
                                           absl::string_view source);

  // Whether some rule of `identity` matches `producer_id`.
  bool Allows(absl::string_view identity, absl::string_view producer_id) const;

  // The number of rules.
  size_t rules() const { return rules_; }

 private:
  struct Pattern {
    std::string text;  // without the trailing '*' of a prefix
    bool prefix = false;
  };

  std::map<std::string, std::vector<Pattern>, std::less<>> patterns_;
  size_t rules_ = 0;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_ACL_H_
