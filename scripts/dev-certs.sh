#!/usr/bin/env bash
# DEV-ONLY certificates for the simulator's certificate mode (keys/README.md).
#
# Re-run from the repository root:   scripts/dev-certs.sh
# It rewrites keys/dev_root_ca_private_pkcs8.pem (a fresh root key), keys/dev_root_ca.pem,
# keys/dev_alipay_root_bundle.pem, keys/dev_alipay_cert.pem, keys/dev_app_cert.pem, the
# simulator's next Alipay key pair and certificate (keys/dev_alipay_rotated_*.pem), and
# testdata/cert-mode/app_cert_reissued.pem;
# commit them together, since the SNs the tests expect are computed from these files.
# The Alipay and app certificates carry the existing DEV public keys (keys/dev_*_spki.pem),
# so the DEV key pairs keep signing and verifying as before; only openssl is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
k=keys
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
days=7300 # twenty years: the simulator's certificates must be valid whenever tests run

# The DEV root CA (RSA, sha256WithRSA): it signs both leaf certificates. Its private key
# is kept, DEV-labelled, because the simulator signs rotated Alipay certificates with it.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/dev_root_ca_private_pkcs8.pem" 2>/dev/null
openssl req -new -x509 -key "$k/dev_root_ca_private_pkcs8.pem" -days "$days" -set_serial 0x5d1e0001 \
  -subj '/C=CN/O=payport DEV/OU=DEV-ONLY Certification Authority/CN=payport DEV Root CA RSA' \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -out "$k/dev_root_ca.pem"

# An EC root in the bundle, first as in Alipay's own file (whose first root is not RSA):
# the root SN must skip it. Its key is thrown away.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/ec.key" 2>/dev/null
openssl req -new -x509 -key "$tmp/ec.key" -sha384 -days "$days" -set_serial 0x5d1e0002 \
  -subj '/C=CN/O=payport DEV/OU=DEV-ONLY Certification Authority/CN=payport DEV Root CA EC' \
  -out "$tmp/ec_root.pem"
cat "$tmp/ec_root.pem" "$k/dev_root_ca.pem" > "$k/dev_alipay_root_bundle.pem"

# leaf <private key> <serial> <subject> <out>: a certificate of the key's public half,
# signed by the DEV root.
leaf() {
  openssl req -new -key "$1" -subj "$3" -out "$tmp/leaf.csr"
  openssl x509 -req -in "$tmp/leaf.csr" -CA "$k/dev_root_ca.pem" -CAkey "$k/dev_root_ca_private_pkcs8.pem" \
    -set_serial "$2" -days "$days" -sha256 -out "$4" 2>/dev/null
}
# Alipay's certificate file holds its certificate followed by the CA that issued it.
leaf "$k/dev_alipay_private_pkcs8.pem" 0x5d1e1001 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY Alipay/CN=payport DEV Alipay simulator' "$tmp/alipay.pem"
cat "$tmp/alipay.pem" "$k/dev_root_ca.pem" > "$k/dev_alipay_cert.pem"
# The simulator's next Alipay key pair and certificate, which its control API rotates to.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/dev_alipay_rotated_private_pkcs8.pem" 2>/dev/null
leaf "$k/dev_alipay_rotated_private_pkcs8.pem" 0x5d1e1002 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY Alipay/CN=payport DEV Alipay simulator' "$tmp/rotated.pem"
cat "$tmp/rotated.pem" "$k/dev_root_ca.pem" > "$k/dev_alipay_rotated_cert.pem"
leaf "$k/dev_app_private_pkcs8.pem" 0x5d1e2001 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY merchant app/CN=2021000000000001' "$k/dev_app_cert.pem"
# For tests: the same app key certified again under another serial, so another SN, as a
# merchant's superseded app certificate would be.
mkdir -p testdata/cert-mode
leaf "$k/dev_app_private_pkcs8.pem" 0x5d1e2002 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY merchant app/CN=2021000000000001' testdata/cert-mode/app_cert_reissued.pem

# The leaves must carry the DEV public keys.
for pair in alipay:dev_alipay_cert app:dev_app_cert; do
  diff <(openssl x509 -in "$k/${pair#*:}.pem" -noout -pubkey) "$k/dev_${pair%%:*}_public_spki.pem" \
    || { echo "$k/${pair#*:}.pem does not carry keys/dev_${pair%%:*}_public_spki.pem" >&2; exit 1; }
done
openssl verify -CAfile "$k/dev_root_ca.pem" "$tmp/alipay.pem" "$tmp/rotated.pem" "$k/dev_app_cert.pem"
