// Authorization of producer ids (--producer_acl): the ACL read from its
// file, swapped for a new one on Reload (SIGHUP), and the check of a
// peer's identity against it for every Consume/ConsumeBatches stream (at
// its first message, through the stream's ProducerIdGate) and every
// GetProducerState.
//
// A reload takes effect for streams that start and queries that come after
// it; a stream keeps the verdict it got at its first message.
//
// Threads: Authorize and GateFor on any gRPC thread; Reload on the thread
// that waits for signals. Readers share the current ACL; a reload swaps it.
//
// Usage:
//   absl::StatusOr<std::unique_ptr<ProducerAuthorizer>> authorizer =
//       ProducerAuthorizer::Load("/etc/consumer/producer-acl");
//   absl::Status allowed =
//       (*authorizer)->Authorize(*context->auth_context(), "orders-7");
//   std::unique_ptr<const ProducerIdGate> gate =
//       (*authorizer)->GateFor(*context->auth_context());
//   ConsumeStream stream(gate.get());
#ifndef CONSUMER_SERVICE_PRODUCER_AUTHORIZER_H_
#define CONSUMER_SERVICE_PRODUCER_AUTHORIZER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "consumer_service/consume_stream.h"
#include "consumer_service/peer_identity.h"
#include "consumer_service/producer_acl.h"
#include "grpcpp/security/auth_context.h"

namespace messaging {

class ProducerAuthorizer {
 public:
  // Reads and parses the ACL at `path`. INVALID_ARGUMENT, naming
  // --producer_acl, the file and the line, when it cannot be read or is
  // not an ACL.
  static absl::StatusOr<std::unique_ptr<ProducerAuthorizer>> Load(
      std::string path);

  // Reads the file again. On success the new rules apply from now on; on
  // error the current ones stay, and the error says why.
  absl::Status Reload();

  // OK if `peer` may write (and ask the state of) `producer_id`; otherwise
  // PERMISSION_DENIED naming the identity, where it came from, and the id.
  absl::Status Authorize(const PeerIdentity& peer,
                         absl::string_view producer_id) const;
  absl::Status Authorize(const grpc::AuthContext& peer,
                         absl::string_view producer_id) const {
    return Authorize(PeerIdentityOf(peer), producer_id);
  }

  // The gate of one stream of `peer`, which asks this authorizer; it must
  // not outlive it.
  std::unique_ptr<const ProducerIdGate> GateFor(
      const grpc::AuthContext& peer) const;

  const std::string& path() const { return path_; }
  // The number of rules of the current ACL.
  size_t rules() const;

 private:
  ProducerAuthorizer(std::string path, ProducerAcl acl);

  static absl::StatusOr<ProducerAcl> Read(const std::string& path);

  // The current ACL, for the duration of one check.
  std::shared_ptr<const ProducerAcl> Current() const;

  const std::string path_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const ProducerAcl> acl_ ABSL_GUARDED_BY(mutex_);
};

// The start-up line: the ACL's file and rules; or, with no authorizer on a
// consumer with mutual TLS, a WARNING that producer ids are not authorized.
void LogProducerAuthorization(const ProducerAuthorizer* authorizer,
                              bool mutual_tls);

// Reloads the ACL (on SIGHUP) and logs one line: its new rules, or a
// WARNING saying why the previous ACL stays.
void ReloadAndLogProducerAcl(ProducerAuthorizer& authorizer);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_AUTHORIZER_H_
