// Certificate-SN vectors for payport's Rust tests (crates/alipay-crypto/tests/cert_sn.rs),
// from Alipay's official Node SDK (npm alipay-sdk, pinned; its getSN) and, beside it, the
// official Java SDK's rule (JavaSn.java, see there). The generated DEV certificates and
// testdata/cert-sn/vectors.json are committed: tests never need Node, Java or OpenSSL.
//
// Re-run (needs node, openssl and a JDK 11+ on PATH; new keys make new certificates and
// so new SNs, so commit the PEMs and the JSON together):
//   cd scripts/cert-vectors && npm ci && node vectors.mjs
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

// getSN is the SDK's own (src/antcertutil.ts); the package's exports map hides the
// module, so it is loaded by its file path. The SDK's X.509 parser and big-number
// library recover the issuer string it hashed (getSN does not return it); checked
// below against getSN's answer.
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { getSN } = require(join(dirname(require.resolve('alipay-sdk')), 'antcertutil.js'));
const { Certificate } = require('@fidm/x509');
const { BigNumber } = require('bignumber.js');

const out = join(here, '../../testdata/cert-sn');
for (const f of readdirSync(out)) if (/\.(pem|cer|json)$/.test(f)) rmSync(join(out, f));
execFileSync('bash', [join(here, 'make-certs.sh'), out], { stdio: 'inherit' });
const pems = readdirSync(out).filter((f) => f.endsWith('.pem')).sort();

const md5 = (text) => createHash('md5').update(text, 'utf8').digest('hex');

// The SDK's getCertSN, step by step (node_modules/alipay-sdk/src/antcertutil.ts).
function nodeIssuer(cert) {
  return cert.issuer.attributes
    .reduceRight((prev, { shortName, value }) => `${prev}${shortName}=${value},`, '')
    .slice(0, -1);
}

// Java: one line per certificate (see JavaSn.java).
const java = new Map();
const javaOut = execFileSync(
  'java',
  ['-Dfile.encoding=UTF-8', join(here, 'JavaSn.java'), ...pems.map((f) => join(out, f))],
  { encoding: 'utf8' },
);
for (const line of javaOut.trim().split('\n')) {
  const [path, index, oid, issuer64, serial, sn] = line.split('\t');
  const file = relative(out, path);
  if (!java.has(file)) java.set(file, []);
  java.get(file)[Number(index)] = {
    signature_oid: oid,
    issuer: Buffer.from(issuer64, 'base64').toString('utf8'),
    serial_decimal: serial,
    sn,
  };
}

const certs = [];
for (const file of pems.filter((f) => f !== 'root_bundle.pem')) {
  const pem = readFileSync(join(out, file));
  const j = java.get(file)[0];
  const entry = { file, java: { sn: j.sn, issuer: j.issuer, serial_decimal: j.serial_decimal } };
  try {
    const sn = getSN(pem);
    const cert = Certificate.fromPEM(pem);
    const issuer = nodeIssuer(cert);
    const serial = new BigNumber(cert.serialNumber, 16).toString(10);
    if (md5(issuer + serial) !== sn) throw new Error('recovered issuer string does not give getSN');
    entry.node = { sn, issuer, serial_decimal: serial };
  } catch (e) {
    entry.node = { error: String(e.message ?? e) };
  }
  entry.sdks_agree = entry.node.sn === j.sn;
  certs.push(entry);
}

const roots = [];
for (const file of ['root_bundle.pem', 'alipay_like.pem', 'ecdsa_sha384.pem']) {
  const pem = readFileSync(join(out, file));
  const parsed = Certificate.fromPEMs(pem);
  const javaCerts = java.get(file);
  const members = javaCerts.map((j, index) => ({
    index,
    signature_oid: j.signature_oid,
    node_signature_oid: parsed[index].signatureOID,
    sn: j.sn,
    included: j.signature_oid.startsWith('1.2.840.113549.1.1'),
  }));
  // Java's getRootCertSN gives null (the client refuses it) when nothing is included.
  const javaRoot = members.filter((m) => m.included).map((m) => m.sn).join('_') || null;
  roots.push({ file, node_root_sn: getSN(pem, true), java_root_sn: javaRoot, certificates: members });
}

const json = {
  about:
    'Certificate SNs by the official Node SDK (alipay-sdk 4.14.0 getSN) and the official Java ' +
    "SDK's rule (JavaSn.java); made by scripts/cert-vectors/vectors.mjs. node.issuer is the " +
    'string the Node SDK hashed (recovered and checked against getSN); java.issuer is ' +
    'X500Principal.getName(). sdks_agree is false where the two SDKs give different SNs.',
  certs,
  roots,
};
writeFileSync(join(out, 'vectors.json'), `${JSON.stringify(json, null, 2)}\n`);
console.log(`wrote ${certs.length} certificates and ${roots.length} root bundles to ${out}`);
for (const c of certs.filter((c) => !c.sdks_agree)) console.log(`  SDKs differ: ${c.file}`);
