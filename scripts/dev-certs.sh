#!/usr/bin/env bash
# DEV-ONLY certificates for the simulator's certificate mode (keys/README.md).
#
# Re-run from the repository root:   scripts/dev-certs.sh
# It rewrites keys/dev_root_ca.pem, keys/dev_alipay_root_bundle.pem, keys/dev_alipay_cert.pem,
# keys/dev_alipay_rotated_cert.pem, keys/dev_app_cert.pem and testdata/cert-mode/*.pem;
# commit them together, since the SNs the tests expect are computed from these files.
# Key pairs are kept when they exist (the root's, the simulator's next Alipay key), and the
# certificates carry the existing DEV public keys (keys/dev_*_spki.pem), so the DEV key
# pairs keep signing and verifying as before; only openssl is needed.
# The shape is Alipay's: root (in the root file) -> intermediate CA -> Alipay's certificate,
# whose file holds the certificate followed by the intermediate.
set -euo pipefail
cd "$(dirname "$0")/.."
k=keys
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
days=7300 # twenty years: the simulator's certificates must be valid whenever tests run

# The DEV root CA (RSA, sha256WithRSA): it signs the intermediate and the app certificate.
# Its private key is kept, DEV-labelled, so that re-running this script keeps the root's
# key (production refuses it: config/checks.rs).
[ -f "$k/dev_root_ca_private_pkcs8.pem" ] \
  || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/dev_root_ca_private_pkcs8.pem" 2>/dev/null
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

# cert <private key> <serial> <subject> <CA cert> <CA key> <out> [ca]: a certificate of the
# key's public half, signed by the CA; with "ca", itself a CA (as Alipay's intermediate).
cert() {
  openssl req -new -key "$1" -subj "$3" -out "$tmp/leaf.csr"
  if [ "${7:-}" = ca ]; then
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > "$tmp/ext"
  else
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' > "$tmp/ext"
  fi
  openssl x509 -req -in "$tmp/leaf.csr" -CA "$4" -CAkey "$5" -extfile "$tmp/ext" \
    -set_serial "$2" -days "$days" -sha256 -out "$6" 2>/dev/null
}
root=("$k/dev_root_ca.pem" "$k/dev_root_ca_private_pkcs8.pem")
# The DEV intermediate, as Alipay's "Ant Financial Certification Authority Class 2 R1".
# Its key is thrown away: re-running the script makes a new one.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/inter.key" 2>/dev/null
cert "$tmp/inter.key" 0x5d1e0003 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY Certification Authority/CN=payport DEV Class 2 CA' \
  "${root[@]}" "$tmp/inter.pem" ca
inter=("$tmp/inter.pem" "$tmp/inter.key")
alipay_subject='/C=CN/O=payport DEV/OU=DEV-ONLY Alipay/CN=payport DEV Alipay simulator'
# Alipay's certificate file holds its certificate followed by the CA that issued it.
cert "$k/dev_alipay_private_pkcs8.pem" 0x5d1e1001 "$alipay_subject" "${inter[@]}" "$tmp/alipay.pem"
cat "$tmp/alipay.pem" "$tmp/inter.pem" > "$k/dev_alipay_cert.pem"
# The simulator's next Alipay key pair and certificate, which its control API rotates to;
# the simulator hands this file out as is (it signs no certificate).
[ -f "$k/dev_alipay_rotated_private_pkcs8.pem" ] \
  || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/dev_alipay_rotated_private_pkcs8.pem" 2>/dev/null
cert "$k/dev_alipay_rotated_private_pkcs8.pem" 0x5d1e1002 "$alipay_subject" "${inter[@]}" "$tmp/rotated.pem"
cat "$tmp/rotated.pem" "$tmp/inter.pem" > "$k/dev_alipay_rotated_cert.pem"
cert "$k/dev_app_private_pkcs8.pem" 0x5d1e2001 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY merchant app/CN=2021000000000001' "${root[@]}" "$k/dev_app_cert.pem"
# For tests: the same app key certified again under another serial, so another SN, as a
# merchant's superseded app certificate would be.
mkdir -p testdata/cert-mode
cert "$k/dev_app_private_pkcs8.pem" 0x5d1e2002 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY merchant app/CN=2021000000000001' "${root[@]}" testdata/cert-mode/app_cert_reissued.pem

# For tests that a signature check is not a name check: CAs with the names of the DEV
# root and intermediate but another key (thrown away), and what they sign.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/forger.key" 2>/dev/null
openssl req -new -x509 -key "$tmp/forger.key" -days "$days" -set_serial 0x5d1e0001 \
  -subj "$(openssl x509 -in "$k/dev_root_ca.pem" -noout -subject -nameopt compat | sed 's/^subject=//')" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -out "$tmp/fake_root.pem"
cert "$k/dev_alipay_rotated_private_pkcs8.pem" 0x5d1e9001 "$alipay_subject" \
  "$tmp/fake_root.pem" "$tmp/forger.key" "$tmp/forged_by_root.pem"
cat "$tmp/forged_by_root.pem" > testdata/cert-mode/forged_root_name.pem
cert "$tmp/forger.key" 0x5d1e0003 \
  '/C=CN/O=payport DEV/OU=DEV-ONLY Certification Authority/CN=payport DEV Class 2 CA' \
  "$tmp/fake_root.pem" "$tmp/forger.key" "$tmp/fake_inter.pem" ca
cert "$k/dev_alipay_rotated_private_pkcs8.pem" 0x5d1e9002 "$alipay_subject" \
  "$tmp/fake_inter.pem" "$tmp/forger.key" "$tmp/forged_by_inter.pem"
# Signed by a key claiming the real intermediate's name, followed by the real intermediate.
cat "$tmp/forged_by_inter.pem" "$tmp/inter.pem" > testdata/cert-mode/forged_intermediate_name.pem
# A leaf that claims to be a CA for another leaf: the intermediate must be a CA.
cert "$k/dev_app_private_pkcs8.pem" 0x5d1e9003 "$alipay_subject" "${inter[@]}" "$tmp/not_ca.pem"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/not_ca.pem" -CAkey "$k/dev_app_private_pkcs8.pem" \
  -set_serial 0x5d1e9004 -days "$days" -sha256 -out "$tmp/under_leaf.pem" 2>/dev/null
cat "$tmp/under_leaf.pem" "$tmp/not_ca.pem" "$tmp/inter.pem" > testdata/cert-mode/issued_by_a_leaf.pem

# The leaves must carry the DEV public keys.
for pair in alipay:dev_alipay_cert app:dev_app_cert; do
  diff <(openssl x509 -in "$k/${pair#*:}.pem" -noout -pubkey) "$k/dev_${pair%%:*}_public_spki.pem" \
    || { echo "$k/${pair#*:}.pem does not carry keys/dev_${pair%%:*}_public_spki.pem" >&2; exit 1; }
done
openssl verify -CAfile "$k/dev_root_ca.pem" -untrusted "$tmp/inter.pem" \
  "$tmp/alipay.pem" "$tmp/rotated.pem" "$k/dev_app_cert.pem"
