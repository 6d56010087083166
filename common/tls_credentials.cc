#include "common/tls_credentials.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace messaging {
namespace {

// Reads the PEM file that `flag` names.
absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file.good() && !file.eof()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read --", flag, "=", path));
  }
  if (contents.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, " is missing or not a PEM file"));
  }
  return contents.str();
}

absl::Status CheckPair(const TlsFiles& files) {
  if (files.certificate.empty() != files.private_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together; give both or neither");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  if (absl::Status pair = CheckPair(files); !pair.ok()) return pair;
  if (files.certificate.empty()) {
    if (!files.ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca needs --tls_cert and --tls_key: client "
          "certificates are only checked over TLS");
    }
    return grpc::InsecureServerCredentials();
  }
  absl::StatusOr<std::string> certificate =
      ReadPem(files.certificate, "tls_cert");
  if (!certificate.ok()) return certificate.status();
  absl::StatusOr<std::string> key = ReadPem(files.private_key, "tls_key");
  if (!key.ok()) return key.status();

  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *certificate});
  if (!files.ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(files.ca, "tls_client_ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(bool use_tls, const TlsFiles& files) {
  if (!use_tls) {
    if (!files.certificate.empty() || !files.private_key.empty() ||
        !files.ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls_ca, --tls_cert and --tls_key need --tls");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (absl::Status pair = CheckPair(files); !pair.ok()) return pair;
  grpc::SslCredentialsOptions options;
  if (!files.ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(files.ca, "tls_ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  if (!files.certificate.empty()) {
    absl::StatusOr<std::string> certificate =
        ReadPem(files.certificate, "tls_cert");
    if (!certificate.ok()) return certificate.status();
    absl::StatusOr<std::string> key = ReadPem(files.private_key, "tls_key");
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *certificate;
    options.pem_private_key = *key;
  }
  return grpc::SslCredentials(options);
}

}  // namespace messaging
