#include "consumer_service/producer_authorizer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace messaging {
namespace {

// Far more than any ACL needs, and a bound on what a mistaken path (a log,
// a device) makes the consumer read.
constexpr size_t kMaxAclBytes = 16 << 20;

// The gate of one stream: its peer's identity, taken once when the stream
// starts.
class PeerGate final : public ProducerIdGate {
 public:
  PeerGate(const ProducerAuthorizer* authorizer, PeerIdentity peer)
      : authorizer_(authorizer), peer_(std::move(peer)) {}

  absl::Status MayWrite(absl::string_view producer_id) const override {
    return authorizer_->Authorize(peer_, producer_id);
  }

 private:
  const ProducerAuthorizer* const authorizer_;
  const PeerIdentity peer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ProducerAuthorizer>> ProducerAuthorizer::Load(
    std::string path) {
  absl::StatusOr<ProducerAcl> acl = Read(path);
  if (!acl.ok()) return acl.status();
  return std::unique_ptr<ProducerAuthorizer>(
      new ProducerAuthorizer(std::move(path), *std::move(acl)));
}

ProducerAuthorizer::ProducerAuthorizer(std::string path, ProducerAcl acl)
    : path_(std::move(path)),
      acl_(std::make_shared<const ProducerAcl>(std::move(acl))) {}

absl::StatusOr<ProducerAcl> ProducerAuthorizer::Read(const std::string& path) {
  std::string text;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int error = fd < 0 ? errno : 0;
  char buffer[16384];
  while (error == 0) {
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got > 0 && text.size() + got <= kMaxAclBytes) {
      text.append(buffer, got);
    } else if (got > 0) {
      error = EFBIG;
    } else if (got == 0) {
      break;
    } else if (errno != EINTR) {
      error = errno;
    }
  }
  if (fd >= 0) close(fd);
  if (error != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read --producer_acl=", path, ": ", strerror(error),
        "; give a readable file of '<identity> <producer id pattern>' "
        "lines, at most ",
        kMaxAclBytes, " bytes"));
  }
  return ProducerAcl::Parse(text, absl::StrCat("--producer_acl=", path));
}

absl::Status ProducerAuthorizer::Reload() {
  absl::StatusOr<ProducerAcl> acl = Read(path_);
  if (!acl.ok()) return acl.status();
  auto fresh = std::make_shared<const ProducerAcl>(*std::move(acl));
  absl::MutexLock lock(&mutex_);
  acl_ = std::move(fresh);
  return absl::OkStatus();
}

std::shared_ptr<const ProducerAcl> ProducerAuthorizer::Current() const {
  absl::ReaderMutexLock lock(&mutex_);
  return acl_;
}

size_t ProducerAuthorizer::rules() const { return Current()->rules(); }

absl::Status ProducerAuthorizer::Authorize(
    const PeerIdentity& peer, absl::string_view producer_id) const {
  if (peer.name.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the client certificate has no URI SAN, DNS SAN or subject CN, so "
        "it may not write producer id '",
        producer_id,
        "'; present a certificate with one that --producer_acl "
        "allows"));
  }
  if (Current()->Allows(peer.name, producer_id)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "client certificate identity '", peer.name, "' (", peer.source,
      ") may not write producer id '", producer_id,
      "': no line of --producer_acl allows it; present a certificate the ACL "
      "allows for this id, or add a line '<identity> ",
      producer_id, "' to the ACL"));
}

std::unique_ptr<const ProducerIdGate> ProducerAuthorizer::GateFor(
    const grpc::AuthContext& peer) const {
  return std::make_unique<PeerGate>(this, PeerIdentityOf(peer));
}

void LogProducerAuthorization(const ProducerAuthorizer* authorizer,
                              bool mutual_tls) {
  if (authorizer != nullptr) {
    LogInfo(absl::StrCat("producer ACL ", authorizer->path(), ": ",
                         authorizer->rules(),
                         " rules; a client may write only the producer ids "
                         "they allow its certificate (SIGHUP reloads it)"),
            {{"path", authorizer->path()}, {"rules", authorizer->rules()}});
  } else if (mutual_tls) {
    LogWarning(
        "mutual TLS without --producer_acl: producer ids are not authorized; "
        "any client with a certificate from --tls_client_ca may write as any "
        "producer id; set --producer_acl to bind ids to certificates");
  }
}

void ReloadAndLogProducerAcl(ProducerAuthorizer& authorizer) {
  const size_t previous = authorizer.rules();
  if (absl::Status reloaded = authorizer.Reload(); !reloaded.ok()) {
    LogWarning(absl::StrCat("producer ACL not reloaded, keeping the previous "
                            "one (",
                            previous, " rules): ", reloaded.message()),
               {{"path", authorizer.path()}, {"rules", previous}});
    return;
  }
  LogInfo(absl::StrCat("producer ACL reloaded from --producer_acl=",
                       authorizer.path(), ": ", authorizer.rules(), " rules"),
          {{"path", authorizer.path()}, {"rules", authorizer.rules()}});
}

}  // namespace messaging
