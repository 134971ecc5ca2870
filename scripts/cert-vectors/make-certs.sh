#!/usr/bin/env bash
# DEV certificates for payport's certificate-SN vectors: self-signed (issuer = subject),
# chosen to hit every way the SDKs' issuer strings and serials can differ. Only the
# certificates are kept; the throwaway keys stay in a temp dir. Writes into $1
# (testdata/cert-sn). Run through vectors.mjs, not alone; see its header.
set -euo pipefail
out=${1:?usage: make-certs.sh <out dir>}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.key" 2>/dev/null
# string_mask=default makes OpenSSL write non-ASCII values as BMPString (UCS-2), which
# the SDKs decode differently; every other cert uses the usual utf8only.
# The oid_section names an OID no SDK knows, so that -subj can use it.
for mask in utf8only default; do
  printf 'oid_section=oids\n[oids]\npayportDevAttribute=1.2.3.4.5.6\n[req]\ndistinguished_name=dn\nstring_mask=%s\n[dn]\n' \
    "$mask" > "$tmp/$mask.cnf"
done

# cert <name> <key> <serial> <subject> [extra openssl req args...]
cert() {
  local name=$1 key=$2 serial=$3 subj=$4; shift 4
  openssl req -new -x509 -utf8 -config "$tmp/utf8only.cnf" -key "$tmp/$key.key" -days 7300 \
    -set_serial "$serial" -subj "$subj" "$@" -out "$out/$name.pem"
}

cert alipay_like rsa 0x1234567890abcdef '/C=CN/O=Ant Financial/OU=Certification Authority/CN=Ant Financial Certification Authority Class 2 R1'
cert small_serial rsa 7 '/C=CN/O=payport dev/CN=payport dev small serial'
cert serial_20_bytes rsa 0x7fedcba9876543210fedcba9876543210fedcba9 '/C=CN/O=payport dev/CN=payport dev long serial'
cert serial_leading_zero rsa 0x80f1e2d3c4b5a69788796a5b4c3d2e1f00112233 '/C=CN/O=payport dev/CN=payport dev serial high bit'
cert serial_leading_zero_short rsa 0xc0ffee '/C=CN/O=payport dev/CN=payport dev short serial high bit'
cert multi_valued_rdn rsa 1001 '/C=CN/O=payport dev+OU=payments+L=Hangzhou/CN=payport dev multi' -multivalue-rdn
cert email_and_serial_number rsa 1002 '/C=CN/O=payport dev/CN=payport dev mail/emailAddress=ops@example.com/serialNumber=91330000MA27XL0E2K'
cert unusual_attributes rsa 1003 '/DC=com/DC=example/C=CN/ST=Zhejiang/street=1 West Lake Road/title=CA Officer/UID=payport-dev/payportDevAttribute=private attribute/CN=payport dev unusual'
cert chinese_utf8 rsa 1004 '/C=CN/ST=浙江省/L=杭州市/O=支付宝（中国）网络技术有限公司/CN=支付宝测试根证书'
cert chinese_bmp rsa 1005 '/C=CN/O=支付宝测试/CN=payport dev BMPString' -config "$tmp/default.cnf"
cert escaping rsa 1006 '/C=CN/O=Foo, Inc. "Bar" <x>; a\=b\+c \\ d/OU=#hash first #2/CN= spaces around '
cert sha1_rsa rsa 2001 '/C=CN/O=payport dev/CN=payport dev root sha1WithRSA' -sha1
cert sha256_rsa rsa 2002 '/C=CN/O=payport dev/CN=payport dev root sha256WithRSA' -sha256
cert ecdsa_sha384 ec 2003 '/C=CN/O=payport dev/CN=payport dev root ecdsa-with-SHA384' -sha384
cert rsassa_pss rsa 2004 '/C=CN/O=payport dev/CN=payport dev root RSASSA-PSS' -sha256 -sigopt rsa_padding_mode:pss
cert sha512_rsa rsa 2005 '/C=CN/O=payport dev/CN=payport dev root sha512WithRSA' -sha512

# The same certificate as DER, as some download tools save it (.cer).
openssl x509 -in "$out/alipay_like.pem" -outform DER -out "$out/alipay_like.cer"

# A root bundle like Alipay's alipayRootCert.crt: RSA and non-RSA certificates mixed,
# blank lines between them.
for name in sha1_rsa ecdsa_sha384 sha256_rsa rsassa_pss sha512_rsa; do
  cat "$out/$name.pem"; echo
done > "$out/root_bundle.pem"
