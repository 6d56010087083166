#!/usr/bin/env bash
# Makes a throw-away PKI for the TLS tests in the directory given:
#   ca.pem            the CA that signs the consumer's and the producer's
#   server.pem/.key   the consumer, for localhost and 127.0.0.1
#   client.pem/.key   a producer certificate signed by ca.pem
#   rogue-ca.pem      an unrelated CA, and rogue-client.pem/.key signed by it
#   alice.pem/.key    a producer with URI SANs spiffe://test/alice and
#                     spiffe://test/second, DNS SAN alice.test, CN=alice
#   mallory.pem/.key  a producer with only a subject CN, CN=mallory
#   dns-client.pem    a producer with DNS SANs first.test and second.test,
#                     an email SAN, CN=dns-client
# Usage: make_test_certs.sh DIR
set -euo pipefail
cd "$1"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # name
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 1 -subj "/CN=$1" 2>/dev/null
}

leaf() {  # name ca extensions
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
    -out "$1.pem" -days 1 -extfile <(printf '%s\n' "$3") 2>/dev/null
}

ca ca
ca rogue-ca
leaf server ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client ca "extendedKeyUsage=clientAuth"
leaf rogue-client rogue-ca "extendedKeyUsage=clientAuth"
leaf alice ca "subjectAltName=URI:spiffe://test/alice,URI:spiffe://test/second,DNS:alice.test
extendedKeyUsage=clientAuth"
leaf mallory ca "extendedKeyUsage=clientAuth"
leaf dns-client ca "subjectAltName=email:dns@test,DNS:first.test,DNS:second.test
extendedKeyUsage=clientAuth"
